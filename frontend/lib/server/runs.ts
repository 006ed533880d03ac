import 'server-only';
import { GetObjectCommand, ListObjectsV2Command, paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import { ListExecutionsCommand, paginateGetExecutionHistory, type HistoryEvent, type SFNClient } from '@aws-sdk/client-sfn';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { keys, type RunDocument } from '#core/contract';
import { UPLOAD_ID_PATTERN } from '#core/ids';
import { localQueuePosition } from '#core/run-queue';
import { executionError, stepsFromHistory, type ExecutionStatus } from '#core/run-steps';
import { phaseOf, TERMINAL_PHASES, type RecentRun, type RunStatus, type RunStep } from '../run-view.ts';
import { clients, consoleUrl, executionArn } from './aws.ts';
import { config, type SiteConfig } from './config.ts';
import { NotFound } from './http.ts';

/** The page polls about once a second; the server asks Step Functions at most once per run per interval. */
export const STATUS_INTERVAL_MS = 1000;
/** After this long without an execution, the page says the upload did not start a run. */
export const NO_EXECUTION_AFTER_MS = 60_000;
const AUDIO_URL_SECONDS = 3600;

/** The part of a run's status that comes from AWS, shared by everyone watching it. */
export interface RunSnapshot extends Omit<RunStatus, 'audioUrl' | 'observedAt' | 'notice'> {
  uploadKey?: string;
}

export interface RunSource {
  settings: SiteConfig;
  s3: S3Client;
  sfn: SFNClient;
}

const TERMINAL_EVENTS: Record<string, ExecutionStatus> = {
  ExecutionSucceeded: 'SUCCEEDED',
  ExecutionFailed: 'FAILED',
  ExecutionTimedOut: 'TIMED_OUT',
  ExecutionAborted: 'ABORTED',
};

/** Reads one run from Step Functions and S3: one history call, plus S3 reads the run's state asks for. */
export async function readRun(source: RunSource, id: string): Promise<RunSnapshot | undefined> {
  const { settings, s3, sfn } = source;
  const arn = executionArn(settings.STATE_MACHINE_ARN, id);
  const events = await executionHistory(sfn, arn);
  if (!events) return readWaitingUpload(s3, settings.BUCKET, id);

  const started = events.find((event) => event.type === 'ExecutionStarted');
  const input = parseInput(started?.executionStartedEventDetails?.input);
  const terminal = [...events].reverse().find((event) => event.type && event.type in TERMINAL_EVENTS);
  const executionStatus: ExecutionStatus = terminal?.type ? TERMINAL_EVENTS[terminal.type] : 'RUNNING';
  const phase = phaseOf(executionStatus);
  const startedAt = started?.timestamp?.toISOString();
  const upload: RunStep = { name: 'Upload', status: 'succeeded', retries: 0, endedAt: startedAt };
  const steps: RunStep[] = [upload, ...stepsFromHistory(events)];

  const snapshot: RunSnapshot = {
    id,
    fileName: input.key ? fileNameOf(input.key) : id,
    uploadKey: input.key,
    phase,
    executionStatus,
    steps,
    startedAt,
    stoppedAt: terminal?.timestamp?.toISOString(),
    consoleUrl: settings.consoleLinks ? consoleUrl(settings.AWS_REGION, arn) : undefined,
  };
  // On one machine a run may wait for the embedded runtime's queue before its first step; AWS has no queue.
  if (phase === 'running' && settings.SFN_ENDPOINT && steps.every((step) => step.name === 'Upload' || step.status === 'pending')) {
    snapshot.runsAhead = await localQueuePosition(settings.SFN_ENDPOINT, arn).catch(() => undefined);
  }
  if (TERMINAL_PHASES.has(phase)) {
    snapshot.result = await readResult(s3, settings.BUCKET, id);
    if (snapshot.result?.status === 'SUCCEEDED') snapshot.fileName = snapshot.result.file.name || snapshot.fileName;
  }
  if (phase === 'failed') {
    const failedStep = steps.find((step) => step.status === 'failed');
    const recorded = snapshot.result?.status === 'FAILED' ? snapshot.result.error : undefined;
    const fallback = failedStep?.error ?? executionError(events);
    snapshot.error = recorded ?? (fallback && { ...fallback, step: failedStep?.name ?? 'Pipeline' });
    // The failure document says it in a sentence meant for people; show that on the step that failed.
    const stepOfRecord = steps.find((step) => step.name === recorded?.step);
    if (recorded && stepOfRecord) stepOfRecord.error = { name: recorded.name, message: recorded.message };
  }
  return snapshot;
}

async function executionHistory(sfn: SFNClient, arn: string): Promise<HistoryEvent[] | undefined> {
  const events: HistoryEvent[] = [];
  try {
    for await (const page of paginateGetExecutionHistory({ client: sfn, pageSize: 1000 }, { executionArn: arn })) events.push(...(page.events ?? []));
  } catch (error) {
    if (error instanceof Error && error.name === 'ExecutionDoesNotExist') return undefined;
    throw error;
  }
  return events;
}

async function readWaitingUpload(s3: S3Client, bucket: string, id: string): Promise<RunSnapshot | undefined> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${keys.uploadPrefix}${id}/`, MaxKeys: 1 }));
  const object = listed.Contents?.[0];
  if (!object?.Key) return undefined;
  const uploadedAt = object.LastModified?.toISOString();
  return {
    id,
    fileName: fileNameOf(object.Key),
    uploadKey: object.Key,
    phase: 'waiting',
    uploadedAt,
    steps: [
      { name: 'Upload', status: 'succeeded', retries: 0, endedAt: uploadedAt },
      ...(['Preprocess', 'Caption', 'Summarize'] as const).map((name): RunStep => ({ name, status: 'pending', retries: 0 })),
    ],
  };
}

async function readResult(s3: S3Client, bucket: string, id: string): Promise<RunDocument | undefined> {
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: keys.result(id) }));
    const document = JSON.parse((await object.Body?.transformToString('utf-8')) ?? '') as RunDocument;
    return document && (document.status === 'SUCCEEDED' || document.status === 'FAILED') ? document : undefined;
  } catch (error) {
    if (error instanceof Error && (error.name === 'NoSuchKey' || error.name === 'NotFound')) return undefined;
    // S3 answers a missing key with 403 rather than 404 unless it counts the caller's s3:ListBucket, and the
    // site's is limited by an s3:prefix condition. Listing that exact key (allowed under results/) tells "not
    // written yet" from a real refusal, which still surfaces.
    if (error instanceof Error && error.name === 'AccessDenied' && !(await resultListed(s3, bucket, id))) return undefined;
    throw error;
  }
}

async function resultListed(s3: S3Client, bucket: string, id: string): Promise<boolean> {
  const listing = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: keys.result(id), MaxKeys: 1 }));
  return (listing.Contents ?? []).some((object) => object.Key === keys.result(id));
}

function parseInput(input: string | undefined): { key?: string } {
  try {
    const parsed = JSON.parse(input ?? '{}') as { key?: unknown };
    return typeof parsed.key === 'string' ? { key: parsed.key } : {};
  } catch {
    return {};
  }
}

function fileNameOf(key: string): string {
  return key.split('/').pop() || key;
}

// ——— Shared, throttled reads ———————————————————————————————————————————————————————————————————————

interface CacheEntry {
  /** When the last AWS read began: the next one waits until STATUS_INTERVAL_MS after it. */
  startedAt: number;
  outcome?: { snapshot: RunSnapshot | null } | { error: unknown };
  inFlight?: Promise<RunSnapshot | null>;
}

const CACHE = Symbol.for('music-captioner.site.run-cache');
type Holder = { [CACHE]?: Map<string, CacheEntry> };
const MAX_ENTRIES = 2000;

function cache(): Map<string, CacheEntry> {
  const holder = globalThis as Holder;
  holder[CACHE] ??= new Map();
  return holder[CACHE];
}

/** A run read is final once the execution ended and its result document was there to read. */
const isFinal = (outcome: CacheEntry['outcome']) =>
  !!outcome && 'snapshot' in outcome && !!outcome.snapshot && TERMINAL_PHASES.has(outcome.snapshot.phase) && !!outcome.snapshot.result;

/**
 * One run's snapshot, read from AWS at most once per interval however many pages poll it: concurrent
 * callers share the read in flight, later ones within the interval get its answer (or its error: a
 * throttled account must not be asked harder). Final runs are kept.
 */
export async function runSnapshot(
  id: string,
  read: (id: string) => Promise<RunSnapshot | undefined> = (runId) => readRun({ settings: config(), ...clients() }, runId),
  now: () => number = Date.now,
): Promise<RunSnapshot | null> {
  const entries = cache();
  const entry = entries.get(id);
  if (entry?.inFlight) return entry.inFlight;
  if (entry?.outcome && (isFinal(entry.outcome) || now() - entry.startedAt < STATUS_INTERVAL_MS)) {
    if ('error' in entry.outcome) throw entry.outcome.error;
    return entry.outcome.snapshot;
  }
  const startedAt = now();
  const inFlight = read(id).then(
    (snapshot) => {
      entries.set(id, { startedAt, outcome: { snapshot: snapshot ?? null } });
      return snapshot ?? null;
    },
    (error: unknown) => {
      entries.set(id, { startedAt, outcome: { error } });
      throw error;
    },
  );
  // Re-inserted so the oldest entries are the first ones out.
  entries.delete(id);
  entries.set(id, { startedAt, inFlight });
  if (entries.size > MAX_ENTRIES) entries.delete(entries.keys().next().value as string);
  return inFlight;
}

/** Forgets a deleted run: its snapshot (kept forever once final) and the recent-runs list that named it. */
export function forgetRun(id: string): void {
  cache().delete(id);
  (globalThis as RecentHolder)[RECENT] = undefined;
}

/** The status a page draws: the shared snapshot plus what is per-viewer (the audio URL, the notice). */
export async function runStatus(id: string): Promise<RunStatus> {
  if (!UPLOAD_ID_PATTERN.test(id)) throw new NotFound(`There is no run “${id}”.`);
  const snapshot = await runSnapshot(id);
  if (!snapshot) throw new NotFound(`There is no run “${id}”. Its upload may not have finished.`);
  const { uploadKey, ...status } = snapshot;
  const observedAt = new Date();
  const view: RunStatus = { ...status, observedAt: observedAt.toISOString() };
  if (status.phase === 'waiting' && status.uploadedAt) view.notice = waitingNotice(status.uploadedAt, observedAt);
  if (status.phase === 'succeeded' && uploadKey) view.audioUrl = await audioUrl(uploadKey);
  return view;
}

/** What to say when an upload has waited too long for its execution; nothing before that. */
export function waitingNotice(uploadedAt: string, now: Date): string | undefined {
  const waitedMs = now.getTime() - Date.parse(uploadedAt);
  if (!(waitedMs > NO_EXECUTION_AFTER_MS)) return undefined;
  const waited = waitedMs < 120_000 ? `${Math.round(waitedMs / 1000)} s` : `${Math.round(waitedMs / 60_000)} min`;
  return (
    `The upload arrived ${waited} ago, but no pipeline run has started for it. ` +
    'The S3 event that starts a run may not be set up, or it failed; uploading again will not help until it is fixed.'
  );
}

async function audioUrl(key: string): Promise<string> {
  const { s3 } = clients();
  return getSignedUrl(s3, new GetObjectCommand({ Bucket: config().BUCKET, Key: key }), { expiresIn: AUDIO_URL_SECONDS });
}

/** A finished run's result document, for the downloads. */
export async function finishedResult(id: string): Promise<RunDocument> {
  const status = await runStatus(id);
  if (!status.result) throw new NotFound(`Run “${id}” has no result yet.`);
  return status.result;
}

// ——— Recent runs ————————————————————————————————————————————————————————————————————————————————

const RECENT = Symbol.for('music-captioner.site.recent-runs');
type RecentHolder = { [RECENT]?: { at: number; runs: Promise<RecentRun[]> } };
const RECENT_INTERVAL_MS = 2000;
const RECENT_WAITING_MS = 10 * 60_000;

/** The latest runs, newest first: executions joined with their uploads' file names, plus uploads still waiting. */
export async function readRecentRuns(source: RunSource, limit: number, now: number = Date.now()): Promise<RecentRun[]> {
  const { settings, s3, sfn } = source;
  const listed = await sfn.send(new ListExecutionsCommand({ stateMachineArn: settings.STATE_MACHINE_ARN, maxResults: limit }));
  const executions = (listed.executions ?? []).filter((execution) => execution.name && execution.startDate);
  const oldest = executions.map((execution) => execution.name as string).sort()[0];

  const uploads = new Map<string, { fileName: string; at?: Date }>();
  let pages = 0;
  let listedAll = true;
  const listing = paginateListObjectsV2(
    { client: s3 },
    {
      Bucket: settings.BUCKET,
      Prefix: keys.uploadPrefix,
      // Upload ids start with their time, so older uploads than the oldest listed run need not be read.
      StartAfter: oldest ? `${keys.uploadPrefix}${oldest}` : undefined,
    },
  );
  for await (const page of listing) {
    for (const object of page.Contents ?? []) {
      const [, id, ...rest] = (object.Key ?? '').split('/');
      if (id && rest.length > 0) uploads.set(id, { fileName: rest.join('/'), at: object.LastModified });
    }
    listedAll = !page.IsTruncated;
    if (++pages >= 5) break;
  }

  // A run whose upload is gone was deleted (the execution's history outlives it); known only when every upload was listed.
  const shown = !listedAll ? executions : executions.filter((execution) => uploads.has(execution.name as string));
  const runs: RecentRun[] = shown.map((execution) => ({
    id: execution.name as string,
    fileName: uploads.get(execution.name as string)?.fileName ?? (execution.name as string),
    phase: phaseOf(execution.status as ExecutionStatus),
    executionStatus: execution.status as ExecutionStatus,
    startedAt: (execution.startDate as Date).toISOString(),
    stoppedAt: execution.stopDate?.toISOString(),
  }));
  const listedIds = new Set(runs.map((run) => run.id));
  for (const [id, upload] of uploads) {
    if (listedIds.has(id) || !upload.at || now - upload.at.getTime() > RECENT_WAITING_MS) continue;
    runs.push({ id, fileName: upload.fileName, phase: 'waiting', startedAt: upload.at.toISOString() });
  }
  return runs.sort((a, b) => b.startedAt.localeCompare(a.startedAt)).slice(0, limit);
}

export async function recentRuns(limit = 20): Promise<RecentRun[]> {
  const holder = globalThis as RecentHolder;
  const cached = holder[RECENT];
  if (cached && Date.now() - cached.at < RECENT_INTERVAL_MS) return cached.runs;
  const runs = readRecentRuns({ settings: config(), ...clients() }, limit);
  holder[RECENT] = { at: Date.now(), runs };
  runs.catch(() => {
    if (holder[RECENT]?.runs === runs) holder[RECENT] = undefined;
  });
  return runs;
}
