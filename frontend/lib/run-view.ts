/**
 * What the status API sends and the run page draws. Browser-safe: types and pure helpers only.
 */
import type { RunDocument } from '#core/contract';
import type { ExecutionStatus, StepStatus, StepView } from '#core/run-steps';

export type RunStepName = 'Upload' | StepView['name'];

export interface RunStep extends Omit<StepView, 'name'> {
  name: RunStepName;
}

/**
 * waiting: the upload is in S3, no execution yet (the S3 event is on its way).
 * running / succeeded / failed: the execution's state (TIMED_OUT and ABORTED read as failed).
 */
export type RunPhase = 'waiting' | 'running' | 'succeeded' | 'failed';

export interface RunStatus {
  id: string;
  fileName: string;
  phase: RunPhase;
  /** The Step Functions status, once there is an execution. */
  executionStatus?: ExecutionStatus;
  steps: RunStep[];
  uploadedAt?: string;
  startedAt?: string;
  stoppedAt?: string;
  /** Said plainly when the upload has waited too long for its execution. */
  notice?: string;
  /** On one machine, a run waiting for the embedded runtime's queue: how many runs go first (core/run-queue.ts). */
  runsAhead?: number;
  /** AWS mode: the execution in the Step Functions console. */
  consoleUrl?: string;
  /** The failure in a sentence, from the failure document (or the execution's error). */
  error?: { name: string; message: string; step: string };
  /** Once terminal: results/{id}.json. */
  result?: RunDocument;
  /** Once succeeded: a presigned GET of the upload. */
  audioUrl?: string;
  /** When the server built this view; the page measures running durations from it. */
  observedAt: string;
}

export interface RecentRun {
  id: string;
  fileName: string;
  phase: RunPhase;
  executionStatus?: ExecutionStatus;
  startedAt: string;
  stoppedAt?: string;
}

export interface UploadTicket {
  id: string;
  url: string;
  fields: Record<string, string>;
  runPath: string;
  maxBytes: number;
}

export const TERMINAL_PHASES: ReadonlySet<RunPhase> = new Set(['succeeded', 'failed']);

export function phaseOf(status: ExecutionStatus | undefined): RunPhase {
  switch (status) {
    case undefined:
      return 'waiting';
    case 'SUCCEEDED':
      return 'succeeded';
    case 'RUNNING':
    case 'PENDING_REDRIVE':
      return 'running';
    default:
      return 'failed';
  }
}

export const STEP_STATUS_WORDS: Record<StepStatus, string> = {
  pending: 'Pending',
  running: 'Running',
  retrying: 'Retrying',
  succeeded: 'Done',
  failed: 'Failed',
};

export const PHASE_WORDS: Record<RunPhase, string> = {
  waiting: 'Starting',
  running: 'Running',
  succeeded: 'Done',
  failed: 'Failed',
};

/** "850 ms", "4.2 s", "1 min 05 s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  const whole = Math.round(seconds);
  return `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, '0')} s`;
}

/**
 * Only this browser knows how long its upload took: the upload page leaves the times for the run page
 * (sessionStorage: this tab only, gone when it closes).
 */
const uploadKey = (id: string) => `music-captioner:upload:${id}`;

export function rememberUpload(id: string, times: { startedAt: string; endedAt: string }): void {
  try {
    sessionStorage.setItem(uploadKey(id), JSON.stringify(times));
  } catch {
    // Storage may be off (private mode); the run page then shows the upload without its duration.
  }
}

/** The Upload step with this browser's own timing, when it made the upload. */
export function withUploadTiming(steps: RunStep[], id: string): RunStep[] {
  let times: { startedAt?: unknown; endedAt?: unknown } | undefined;
  try {
    times = JSON.parse(sessionStorage.getItem(uploadKey(id)) ?? 'null') ?? undefined;
  } catch {
    return steps;
  }
  if (typeof times?.startedAt !== 'string' || typeof times.endedAt !== 'string') return steps;
  const { startedAt, endedAt } = times;
  return steps.map((step) =>
    step.name === 'Upload' && step.durationMs === undefined
      ? { ...step, startedAt, endedAt, durationMs: Date.parse(endedAt) - Date.parse(startedAt) }
      : step,
  );
}
