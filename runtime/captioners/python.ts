/**
 * The `python` local captioner (CAPTION_BACKEND=python): runs the container's own entrypoint
 * (sagemaker/music_captioner) on local folders, the way SageMaker's local mode would, without Docker.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { CaptionerInfo } from '#core/contract';
import type { LocalCaptioner, LocalCaptionJob } from './types.ts';

/** Python lacks torch, transformers, LP-MusicCaps or the weights; the message names each and how to get it. */
export class CaptionerUnavailable extends Error {
  override readonly name = 'CaptionerUnavailable';
}

/** The entrypoint exited non-zero; the message is the reason it left in its failure file. */
export class CaptionFailed extends Error {
  override readonly name = 'CaptionFailed';
}

export interface PythonCaptionerOptions {
  /** The interpreter (CAPTION_PYTHON); default python3. */
  python?: string;
  /** Folder holding transfer.pth; a job's own modelDir wins. Default .data/model. */
  modelDir?: string;
  /** Windows per forward pass; the entrypoint's default (8) when unset. */
  batchSize?: number;
}

interface ProbeReport {
  python: string;
  missing: { what: string; install: string }[];
}

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** sagemaker/ holds the music_captioner package; it goes on PYTHONPATH. */
export const SAGEMAKER_DIR = path.resolve(__dirname, '../../sagemaker');
const DEFAULT_MODEL_DIR = path.resolve('.data', 'model');

function pythonEnv(): NodeJS.ProcessEnv {
  const inherited = process.env.PYTHONPATH;
  return {
    ...process.env,
    PYTHONPATH: inherited ? `${SAGEMAKER_DIR}${path.delimiter}${inherited}` : SAGEMAKER_DIR,
    PYTHONUNBUFFERED: '1',
  };
}

function run(python: string, args: string[], onLine?: (line: string) => void): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, args, { env: pythonEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const streams = [
      { stream: child.stdout, keep: (line: string) => (stdout += `${line}\n`) },
      { stream: child.stderr, keep: (line: string) => (stderr += `${line}\n`) },
    ];
    const closed = streams.map(
      ({ stream, keep }) =>
        new Promise<void>((done) => {
          const lines = createInterface({ input: stream });
          lines.on('line', (line) => {
            keep(line);
            onLine?.(line);
          });
          lines.on('close', done);
        }),
    );
    child.on('error', reject);
    child.on('close', (code, signal) => {
      void Promise.all(closed).then(() => resolve({ code, signal, stdout, stderr }));
    });
  });
}

/** One quick look (no torch import) at what a run would lack. */
export async function probePython(python: string, modelDir: string): Promise<ProbeReport> {
  let finished: Finished;
  try {
    finished = await run(python, ['-m', 'music_captioner.probe', '--model-dir', modelDir]);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'was not found' : `could not start (${String(error)})`;
    throw new CaptionerUnavailable(
      `The python captioner needs Python 3 with numpy, torch, transformers and LP-MusicCaps, but "${python}" ${reason}; set CAPTION_PYTHON to one that has them.`,
    );
  }
  if (finished.code !== 0) {
    throw new CaptionerUnavailable(
      `The python captioner's probe failed with "${python}" (exit ${finished.code}): ${finished.stderr.trim().split('\n').slice(-3).join(' ')}`,
    );
  }
  return JSON.parse(finished.stdout.trim().split('\n').pop() ?? '{}') as ProbeReport;
}

export function describeMissing(report: ProbeReport): string {
  const pieces = report.missing.map(({ what, install }) => `${what} (${install})`);
  return `The python captioner cannot run with ${report.python}: it lacks ${pieces.join('; ')}. Install them or set CAPTION_PYTHON to a Python that has them.`;
}

export function entrypointArgs(job: LocalCaptionJob, modelDir: string, failureFile: string, batchSize?: number): string[] {
  const args = [
    '-m',
    'music_captioner',
    '--windows-dir',
    job.windowsDir,
    '--manifest',
    job.manifestPath,
    '--model-dir',
    modelDir,
    '--output-dir',
    job.outputDir,
    '--failure-file',
    failureFile,
  ];
  if (batchSize !== undefined) args.push('--batch-size', String(batchSize));
  return args;
}

export function createPythonCaptioner(options: PythonCaptionerOptions = {}): LocalCaptioner {
  const python = options.python ?? 'python3';
  return {
    backend: 'python',
    readsAudio: true,
    async run(job: LocalCaptionJob): Promise<CaptionerInfo> {
      const modelDir = path.resolve(job.modelDir ?? options.modelDir ?? DEFAULT_MODEL_DIR);
      const report = await probePython(python, modelDir);
      if (report.missing.length > 0) throw new CaptionerUnavailable(describeMissing(report));

      const scratch = await mkdtemp(path.join(tmpdir(), 'caption-job-'));
      try {
        const failureFile = path.join(scratch, 'message');
        const finished = await run(python, entrypointArgs(job, modelDir, failureFile, options.batchSize), job.log);
        if (finished.code !== 0) {
          const reason = await readFile(failureFile, 'utf8').catch(() => '');
          const fallback = finished.stderr.trim().split('\n').slice(-5).join('\n');
          throw new CaptionFailed(
            reason.trim() || fallback || `the caption job ended with ${finished.signal ?? `exit ${finished.code}`}`,
          );
        }
        const info = JSON.parse(await readFile(path.join(job.outputDir, 'captioner.json'), 'utf8')) as CaptionerInfo;
        return { backend: info.backend, model: info.model };
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
    },
  };
}
