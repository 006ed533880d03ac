import 'server-only';
import { GetObjectCommand, paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import { ListExecutionsCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { keys, type RunDocument } from '#core/contract';
import { UPLOAD_ID_PATTERN } from '#core/ids';
import { readRun as readRunWith } from '#core/run-reader';
import type { ExecutionStatus } from '#core/run-steps';
import { runReaderPorts } from '../../../functions/shared/run-sources.ts';
import { phaseOf, TERMINAL_PHASES, type RecentRun, type RunStatus, type RunStep } from '../run-view.ts';
import { clients, consoleUrl } from './aws.ts';
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

/** Reads one run from Step Functions and S3 (core/run-reader.ts), as the run page draws it. */
export async function readRun(source: RunSource, id: string): Promise<RunSnapshot | undefined> {
  const { settings, s3, sfn } = source;
  const reading = await readRunWith(
    runReaderPorts({ s3, sfn, bucket: settings.BUCKET, stateMachineArn: settings.STATE_MACHINE_ARN, localSfnEndpoint: settings.SFN_ENDPOINT }),
    id,
  );
  if (!reading) return undefined;
  const { executionStatus, steps, document, failure } = reading;
  // The Upload step is done once the upload is in S3: when it landed, or when its execution started.
  const upload: RunStep = { name: 'Upload', status: 'succeeded', retries: 0, endedAt: executionStatus ? reading.startedAt : reading.uploadedAt };
  const snapshot: RunSnapshot = {
    id,
    fileName: reading.fileName,
    uploadKey: reading.uploadKey,
    phase: phaseOf(executionStatus),
    executionStatus,
    steps: [upload, ...steps],
    uploadedAt: reading.uploadedAt,
    startedAt: reading.startedAt,
    stoppedAt: reading.stoppedAt,
    runsAhead: reading.runsAhead,
    consoleUrl: executionStatus && settings.consoleLinks ? consoleUrl(settings.AWS_REGION, reading.executionArn) : undefined,
    result: document,
    error: failure,
  };
  if (document?.status === 'FAILED') {
    // The failure document says it in a sentence meant for people; show that on the step that failed.
    const stepOfRecord = snapshot.steps.find((step) => step.name === document.error.step);
    if (stepOfRecord) stepOfRecord.error = { name: document.error.name, message: document.error.message };
  }
  return snapshot;
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
