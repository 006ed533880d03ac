/**
 * One run as everyone reads it — the site's run page, the CLI following its uploads, the tests: where the run
 * is (waiting for its execution, running, ended), its steps, how many runs are ahead of it in the embedded
 * runtime's queue, and once it has ended its result document or its failure in one line.
 *
 * AWS-free: it reads through two small ports, an object store (JSON documents and the first key under a
 * prefix, with one "not found" rule inside the adapter) and the execution histories. functions/shared/
 * run-sources.ts puts them on S3 and Step Functions (s3rver and the embedded endpoint on one machine), and the
 * site, the CLI and the test helpers all take them from there.
 *
 * The execution's status comes from its history's terminal event, so one paged GetExecutionHistory per read
 * tells both where the run is and which steps it passed; a DescribeExecution beside it would say nothing more.
 */
import { keys, type FailureDocument, type RunDocument } from './contract.ts';
import { executionError, stepsFromHistory, type ExecutionStatus, type HistoryEventLike, type StepView } from './run-steps.ts';

/** The history events the reader looks at: those run-steps reads, plus the execution's input (its upload key). */
export interface ExecutionEvent extends HistoryEventLike {
  executionStartedEventDetails?: { input?: string };
}

/** The object store, in the reader's words. */
export interface RunObjects {
  /** The JSON document at the key; undefined when there is none. */
  getJson<T>(key: string): Promise<T | undefined>;
  /** The first object under the prefix and when it was written; undefined when there is none. */
  first(prefix: string): Promise<{ key: string; lastModified?: Date } | undefined>;
}

/** The workflow engine, in the reader's words. */
export interface ExecutionHistories {
  /** Every event of the execution, oldest first (all pages); undefined when there is no such execution. */
  history(executionArn: string): Promise<ExecutionEvent[] | undefined>;
}

export interface RunReaderPorts {
  stateMachineArn: string;
  objects: RunObjects;
  executions: ExecutionHistories;
  /** On one machine: how many runs are ahead of a waiting execution (core/run-queue.ts). Absent in AWS, which has no queue. */
  runsAhead?(executionArn: string): Promise<number | undefined>;
}

export type RunFailure = FailureDocument['error'];

export interface RunReading {
  id: string;
  executionArn: string;
  /** uploads/{id}/{name}: from the execution's input, or the upload found while no execution exists yet. */
  uploadKey?: string;
  /** The upload's file name (the result's, once it has one); the id when neither is known. */
  fileName: string;
  /** Undefined while the upload waits for its execution (the S3 event is on its way). */
  executionStatus?: ExecutionStatus;
  /** While waiting for the execution: when the upload landed. */
  uploadedAt?: string;
  startedAt?: string;
  stoppedAt?: string;
  /** Preprocess, Caption, Summarize; all pending while there is no execution. */
  steps: StepView[];
  /** Running but no step begun yet, on one machine: the runs the embedded queue lets in first. */
  runsAhead?: number;
  /** Once ended: results/{id}.json, when it has been written. */
  document?: RunDocument;
  /** Once ended other than SUCCEEDED: why, from the failure document or else from the history. */
  failure?: RunFailure;
}

/** The execution's ARN: an execution is named after its upload id (functions/start), under the state machine. */
export function executionArn(stateMachineArn: string, id: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${id}`;
}

/** RUNNING and PENDING_REDRIVE may still change; every other status is the run's last. */
export function hasEnded(status: ExecutionStatus | undefined): status is Exclude<ExecutionStatus, 'RUNNING' | 'PENDING_REDRIVE'> {
  return status !== undefined && status !== 'RUNNING' && status !== 'PENDING_REDRIVE';
}

/** The failure as one line: "Failed at Preprocess: InvalidAudio — The file is not audio …". */
export function failureLine(failure: RunFailure): string {
  return `Failed at ${failure.step}: ${failure.name} — ${failure.message}`;
}

/** results/{id}.json when it holds a result or failure document; undefined when it is not (yet) there. */
export async function readRunDocument(objects: RunObjects, id: string): Promise<RunDocument | undefined> {
  const document = await objects.getJson<RunDocument>(keys.result(id));
  return document && (document.status === 'SUCCEEDED' || document.status === 'FAILED') ? document : undefined;
}

const TERMINAL_EVENTS: Record<string, ExecutionStatus> = {
  ExecutionSucceeded: 'SUCCEEDED',
  ExecutionFailed: 'FAILED',
  ExecutionTimedOut: 'TIMED_OUT',
  ExecutionAborted: 'ABORTED',
};

/**
 * Reads one run: one history read, plus the S3 reads its state asks for (the upload while there is no
 * execution, the document once it has ended). Undefined when there is neither an execution nor an upload.
 */
export async function readRun(ports: RunReaderPorts, id: string): Promise<RunReading | undefined> {
  const arn = executionArn(ports.stateMachineArn, id);
  const events = await ports.executions.history(arn);
  if (!events) return readWaitingUpload(ports.objects, id, arn);

  const started = events.find((event) => event.type === 'ExecutionStarted');
  const terminal = events.findLast((event) => event.type !== undefined && event.type in TERMINAL_EVENTS);
  const executionStatus: ExecutionStatus = terminal?.type ? TERMINAL_EVENTS[terminal.type] : 'RUNNING';
  const uploadKey = uploadKeyOf(started?.executionStartedEventDetails?.input);
  const steps = stepsFromHistory(events);
  const reading: RunReading = {
    id,
    executionArn: arn,
    uploadKey,
    fileName: uploadKey ? fileNameOf(uploadKey) : id,
    executionStatus,
    startedAt: isoOf(started?.timestamp),
    stoppedAt: isoOf(terminal?.timestamp),
    steps,
  };
  if (executionStatus === 'RUNNING' && ports.runsAhead && steps.every((step) => step.status === 'pending')) {
    // The queue's answer only decorates the view: a runtime that cannot say leaves the run without it.
    reading.runsAhead = await ports.runsAhead(arn).catch(() => undefined);
  }
  if (!hasEnded(executionStatus)) return reading;

  reading.document = await readRunDocument(ports.objects, id);
  if (reading.document?.status === 'SUCCEEDED') reading.fileName = reading.document.file.name || reading.fileName;
  if (executionStatus !== 'SUCCEEDED') reading.failure = failureOf(executionStatus, steps, events, reading.document);
  return reading;
}

/**
 * Why an ended run did not succeed. The failure document (RecordFailure) says it in a sentence meant for
 * people; without one, the step that failed and its last error, else the error the execution ended with.
 */
function failureOf(status: ExecutionStatus, steps: StepView[], events: ExecutionEvent[], document: RunDocument | undefined): RunFailure {
  if (document?.status === 'FAILED') return document.error;
  const failedStep = steps.find((step) => step.status === 'failed');
  const error = failedStep?.error ?? executionError(events);
  return { step: failedStep?.name ?? 'Pipeline', name: error?.name ?? status, message: error?.message || `The execution ended ${status}.` };
}

async function readWaitingUpload(objects: RunObjects, id: string, arn: string): Promise<RunReading | undefined> {
  const upload = await objects.first(`${keys.uploadPrefix}${id}/`);
  if (!upload) return undefined;
  return {
    id,
    executionArn: arn,
    uploadKey: upload.key,
    fileName: fileNameOf(upload.key),
    uploadedAt: upload.lastModified?.toISOString(),
    steps: stepsFromHistory([]),
  };
}

function uploadKeyOf(input: string | undefined): string | undefined {
  try {
    const parsed = JSON.parse(input ?? '{}') as { key?: unknown };
    return typeof parsed.key === 'string' ? parsed.key : undefined;
  } catch {
    return undefined;
  }
}

function fileNameOf(key: string): string {
  return key.split('/').pop() || key;
}

const isoOf = (time: Date | string | undefined) => (time === undefined ? undefined : new Date(time).toISOString());
