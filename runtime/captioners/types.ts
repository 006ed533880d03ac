import type { CaptionerInfo } from '#core/contract';

/**
 * One Caption step run on this machine, laid out like a SageMaker Processing Job's folders:
 * the job reads windowsDir/NNNNN.npy and manifestPath, and writes captions.json (CaptionEntry[]) and
 * captioner.json (CaptionRunInfo) into outputDir.
 */
export interface LocalCaptionJob {
  windowsDir: string;
  manifestPath: string;
  outputDir: string;
  /** Folder holding the BART weights (transfer.pth); only the python backend reads it. */
  modelDir?: string;
  /** Forwarded to the job's log, so a long job shows progress in the runtime's output. */
  log?: (line: string) => void;
}

export interface LocalCaptioner {
  readonly backend: string;
  /**
   * Whether the captioner reads the windows' audio. One that does not (the built-in captioner writes from the
   * manifest's measurements) gets the window files as empty placeholders: the same names, so the same shard.
   */
  readonly readsAudio: boolean;
  run(job: LocalCaptionJob): Promise<CaptionerInfo>;
}
