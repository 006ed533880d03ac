/**
 * Turns a Step Functions execution history into the steps a person watches: Upload → Preprocess → Caption
 * → Summarize, each pending / running / retrying / succeeded / failed, with duration, retries and error.
 *
 * It reads the event shapes of the real GetExecutionHistory API (the embedded runtime's endpoint emits the
 * same ones), so the site and the CLI use it unchanged in both modes. AWS-free: events are plain objects.
 */
import { describeCause } from './errors.ts';
import type { StepName } from './contract.ts';

export type StepStatus = 'pending' | 'running' | 'retrying' | 'succeeded' | 'failed';
export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE';

export interface StepView {
  name: StepName;
  status: StepStatus;
  startedAt?: string;
  endedAt?: string;
  /** Set once the step has ended; a running step's duration is now − startedAt. */
  durationMs?: number;
  /** Attempts after the first one (the state machine's Retry). */
  retries: number;
  /** The last failed attempt's error; on a running step, the error being retried. */
  error?: { name: string; message: string };
  /** Summarize only: the LLM stayed unavailable and the local summary was written instead. */
  fellBack?: boolean;
}

/** The subset of the SDK's HistoryEvent this module reads. */
export interface HistoryEventLike {
  id?: number;
  type?: string;
  timestamp?: Date | string;
  stateEnteredEventDetails?: { name?: string };
  taskFailedEventDetails?: { error?: string; cause?: string };
  taskTimedOutEventDetails?: { error?: string; cause?: string };
  executionFailedEventDetails?: { error?: string; cause?: string };
  executionTimedOutEventDetails?: { error?: string; cause?: string };
  executionAbortedEventDetails?: { error?: string; cause?: string };
}

export const STEP_NAMES: readonly StepName[] = ['Preprocess', 'Caption', 'Summarize'];

/** Which step each state of statemachine/pipeline.asl.json belongs to. */
const STEP_OF_STATE: Record<string, StepName> = {
  Preprocess: 'Preprocess',
  PickCaptioner: 'Caption',
  ChooseCaptioner: 'Caption',
  CaptionWithAudioLlm: 'Caption',
  FirstCaptionAttempt: 'Caption',
  Caption: 'Caption',
  ExplainMissingQuota: 'Caption',
  RetryOnCapacityError: 'Caption',
  WaitForCapacity: 'Caption',
  NextCaptionAttempt: 'Caption',
  Summarize: 'Summarize',
  SummarizeLocally: 'Summarize',
};
/** States between a failed attempt and what follows it (another attempt, or the failure path). */
const AFTER_FAILED_ATTEMPT = new Set(['ExplainMissingQuota', 'RetryOnCapacityError', 'WaitForCapacity', 'NextCaptionAttempt']);
/** States entered after a step's failure was caught. */
const FAILURE_STATES = new Set(['PreprocessFailed', 'CaptionFailed', 'SummarizeFailed', 'RecordFailure', 'Failed', 'FailedUnrecorded']);

const iso = (t: Date | string | undefined): string | undefined =>
  t === undefined ? undefined : typeof t === 'string' ? new Date(t).toISOString() : t.toISOString();

export function stepsFromHistory(events: readonly HistoryEventLike[]): StepView[] {
  const steps = new Map<StepName, StepView & { lastAttemptFailed: boolean }>(
    STEP_NAMES.map((name) => [name, { name, status: 'pending', retries: 0, lastAttemptFailed: false }]),
  );
  let current: (StepView & { lastAttemptFailed: boolean }) | undefined;

  const end = (step: StepView, status: StepStatus, at: string | undefined) => {
    step.status = status;
    step.endedAt = at;
    if (step.startedAt && at) step.durationMs = Date.parse(at) - Date.parse(step.startedAt);
  };

  for (const event of events) {
    const at = iso(event.timestamp);
    const type = event.type ?? '';
    if (type.endsWith('StateEntered')) {
      const stateName = event.stateEnteredEventDetails?.name ?? '';
      const stepName = STEP_OF_STATE[stateName];
      if (current && current.lastAttemptFailed && current.status !== 'failed') {
        const fallingBack = current.name === 'Summarize' && stateName === 'SummarizeLocally';
        if (fallingBack) {
          current.fellBack = true;
          current.lastAttemptFailed = false;
          current.status = 'running';
        } else if (!AFTER_FAILED_ATTEMPT.has(stateName)) {
          end(current, 'failed', at);
        }
      }
      if (FAILURE_STATES.has(stateName) && current && current.status !== 'succeeded') {
        end(current, 'failed', current.endedAt ?? at);
      }
      // A state outside the steps (RecordFailure, Failed …) owns the task events that follow it: they must
      // not be counted as a retry or a success of the step that came before.
      current = stepName ? steps.get(stepName) : undefined;
      if (current && current.status === 'pending') {
        current.status = 'running';
        current.startedAt = at;
      }
      continue;
    }
    if (type === 'ExecutionFailed' || type === 'ExecutionTimedOut' || type === 'ExecutionAborted') {
      const details =
        event.executionFailedEventDetails ?? event.executionTimedOutEventDetails ?? event.executionAbortedEventDetails;
      for (const step of steps.values()) {
        if (step.status === 'running' || step.status === 'retrying') {
          if (!step.error && details?.error) step.error = { name: details.error, message: describeCause(details.cause) };
          end(step, 'failed', at);
        }
      }
      continue;
    }
    if (!current) continue;
    switch (type) {
      case 'TaskScheduled':
        if (current.lastAttemptFailed) {
          current.retries += 1;
          current.lastAttemptFailed = false;
        }
        current.status = 'running';
        break;
      case 'TaskFailed':
      case 'TaskTimedOut': {
        const details = event.taskFailedEventDetails ?? event.taskTimedOutEventDetails ?? {};
        current.error = { name: details.error ?? 'States.TaskFailed', message: describeCause(details.cause) };
        current.lastAttemptFailed = true;
        // Until the next event says whether the Retry or the Catch took it, it is being retried.
        current.status = 'retrying';
        break;
      }
      case 'TaskSucceeded':
        current.lastAttemptFailed = false;
        current.error = undefined;
        end(current, 'succeeded', at);
        break;
    }
  }
  return STEP_NAMES.map((name) => {
    const { lastAttemptFailed: _ignored, ...view } = steps.get(name)!;
    return view;
  });
}

/** The error a failed execution ended with, from its last events. */
export function executionError(events: readonly HistoryEventLike[]): { name: string; message: string } | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    const details =
      events[i].executionFailedEventDetails ?? events[i].executionTimedOutEventDetails ?? events[i].executionAbortedEventDetails;
    if (details) return { name: details.error ?? events[i].type ?? 'Failed', message: describeCause(details.cause) };
  }
  return undefined;
}

/** m:ss for the timeline and the step durations. */
export function formatClock(seconds: number): string {
  const whole = Math.max(0, Math.floor(seconds));
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, '0')}`;
}
