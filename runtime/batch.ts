/**
 * What `npm run caption` does besides its arguments and display (runtime/cli.ts): each file goes up exactly as
 * the site sends it (uploads/{id}/{name}, multipart when big), the S3 event starts the execution named {id},
 * and the run is followed to its end through the same run reader the site uses (core/run-reader.ts); a
 * batch's --out folder gets each document with its SRT and WebVTT and an index.json / index.csv, every file
 * through a temporary name and a rename so that Ctrl-C leaves nothing half-written.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { Upload } from '@aws-sdk/lib-storage';
import { createReadStream } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { keys, type RunDocument } from '#core/contract';
import { newUploadId, safeFileName } from '#core/ids';
import { failureLine, hasEnded, readRun, type RunReading } from '#core/run-reader';
import type { StepView } from '#core/run-steps';
import { toSrt, toWebVtt } from '#core/subtitles';
import { runReaderPorts } from '../functions/shared/run-sources.ts';

/** Something the CLI itself could not do (no runtime, no execution, unreadable result): exit 1, one line. */
export class CliError extends Error {
  override readonly name = 'CliError';
}

/** Stopped by Ctrl-C: the run is abandoned (it goes on in the runtime), nothing of it is written. */
export class Interrupted extends Error {
  override readonly name = 'Interrupted';
}

/** Where the embedded runtime listens: announced by a running `npm start`, or one booted for this batch. */
export interface Endpoints {
  s3Endpoint: string;
  sfnEndpoint: string;
  bucket: string;
  stateMachineArn: string;
  region: string;
}

/** s3rver's well-known credentials; the local Step Functions endpoint does not check signatures. */
const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export function localS3Client(endpoints: Endpoints): S3Client {
  return new S3Client({ region: endpoints.region, endpoint: endpoints.s3Endpoint, forcePathStyle: true, credentials: LOCAL_CREDENTIALS });
}

const POLL_MS = 250;
/** How long the S3 event may take to become an execution before the CLI gives up waiting. */
const EXECUTION_APPEAR_TIMEOUT_MS = 30_000;

export interface RunOutcome {
  /** The file as given on the command line. */
  path: string;
  status: string;
  document?: RunDocument;
  /** Why it failed, as one line, when it did not succeed. */
  reason?: string;
}

export interface FollowEvents {
  /** The steps, each time the history is read. */
  steps?(steps: StepView[]): void;
  /** The run's place in the runtime's queue; undefined once it is not waiting. */
  waiting?(runsAhead: number | undefined): void;
  /** The upload has gone up. */
  uploaded?(id: string, ms: number): void;
}

/** Uploads the file, follows its run to the end and returns its document (or why it failed). */
export async function captionFile(file: string, endpoints: Endpoints, events: FollowEvents = {}, signal?: AbortSignal): Promise<RunOutcome> {
  const s3 = localS3Client(endpoints);
  const sfn = new SFNClient({ region: endpoints.region, endpoint: endpoints.sfnEndpoint, credentials: LOCAL_CREDENTIALS });
  const reader = runReaderPorts({ s3, sfn, bucket: endpoints.bucket, stateMachineArn: endpoints.stateMachineArn, localSfnEndpoint: endpoints.sfnEndpoint, signal });
  const pause = (ms: number) => sleep(ms, undefined, { signal }).catch(() => Promise.reject(new Interrupted('stopped')));
  try {
    const id = newUploadId();
    const name = safeFileName(path.basename(file));
    const uploadStarted = Date.now();
    await new Upload({
      client: s3,
      params: { Bucket: endpoints.bucket, Key: keys.upload(id, name), Body: createReadStream(file) },
    }).done();
    events.uploaded?.(id, Date.now() - uploadStarted);

    const waitingSince = Date.now();
    let run: RunReading | undefined;
    for (;;) {
      if (signal?.aborted) throw new Interrupted('stopped');
      run = await readRun(reader, id);
      if (!run?.executionStatus) {
        // The S3 event reaches the start function a moment after the upload completes.
        if (Date.now() - waitingSince > EXECUTION_APPEAR_TIMEOUT_MS) {
          throw new CliError(`No execution started for upload ${id} within ${EXECUTION_APPEAR_TIMEOUT_MS / 1000} s: is the runtime's start function failing? (try --verbose)`);
        }
        await pause(POLL_MS);
        continue;
      }
      events.steps?.(run.steps);
      events.waiting?.(run.runsAhead);
      if (hasEnded(run.executionStatus)) break;
      await pause(POLL_MS);
    }

    const { executionStatus: status, document, failure } = run;
    if (status === 'SUCCEEDED') {
      if (document?.status !== 'SUCCEEDED') throw new CliError(`The run succeeded but ${keys.result(id)} holds no result.`);
      return { path: file, status, document };
    }
    return { path: file, status, document, reason: failure ? failureLine(failure) : `The execution ended ${status}.` };
  } finally {
    s3.destroy();
    sfn.destroy();
  }
}

/** Runs `work` over the items, at most `limit` at once, in order; stops taking new items once the signal aborts. */
export async function inPool<T>(items: readonly T[], limit: number, signal: AbortSignal, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length && !signal.aborted) await work(items[next++]);
    }),
  );
}

// ——— The --out folder ———————————————————————————————————————————————————————————————————————————————

/** Writes a file whole or not at all: a temporary name in the same folder, then a rename. */
async function writeWhole(file: string, content: string): Promise<void> {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  await writeFile(temporary, content);
  await rename(temporary, file);
}

export interface IndexEntry {
  path: string;
  id?: string;
  status: string;
  /** The result document's file, relative to the --out folder. */
  result?: string;
  durationSec?: number;
  bpm?: number | null;
  key?: string | null;
  error?: string;
}

/** Output names for the batch, unique even when two folders hold songs of the same name. */
export function outputStems(files: readonly string[]): Map<string, string> {
  const stems = new Map<string, string>();
  const used = new Set<string>();
  for (const file of files) {
    const base = safeFileName(path.basename(file, path.extname(file))) || 'song';
    let stem = base;
    for (let n = 2; used.has(stem.toLowerCase()); n++) stem = `${base}-${n}`;
    used.add(stem.toLowerCase());
    stems.set(file, stem);
  }
  return stems;
}

/** Writes one finished file's documents into the --out folder; returns its index entry. */
export async function writeOutcome(out: string, stem: string, outcome: RunOutcome): Promise<IndexEntry> {
  const document = outcome.document;
  const entry: IndexEntry = { path: outcome.path, id: document?.id, status: outcome.status };
  if (document) {
    entry.result = `${stem}.json`;
    await writeWhole(path.join(out, entry.result), `${JSON.stringify(document, null, 2)}\n`);
  }
  if (document?.status === 'SUCCEEDED') {
    await writeWhole(path.join(out, `${stem}.srt`), toSrt(document));
    await writeWhole(path.join(out, `${stem}.vtt`), toWebVtt(document));
    Object.assign(entry, { durationSec: document.file.durationSec, bpm: document.tags.bpm, key: document.tags.key });
  } else {
    entry.error = outcome.reason;
  }
  return entry;
}

const CSV_COLUMNS: Array<keyof IndexEntry> = ['path', 'id', 'status', 'result', 'durationSec', 'bpm', 'key', 'error'];

/** RFC 4180: a field with a comma, quote or line break goes in quotes, its quotes doubled. */
function csvField(value: unknown): string {
  const text = value === undefined || value === null ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** index.json ({ complete, files }) and index.csv of the batch, in the order given. */
export async function writeIndex(out: string, entries: IndexEntry[], complete: boolean): Promise<void> {
  await writeWhole(path.join(out, 'index.json'), `${JSON.stringify({ complete, files: entries }, null, 2)}\n`);
  const rows = [CSV_COLUMNS.join(','), ...entries.map((entry) => CSV_COLUMNS.map((column) => csvField(entry[column])).join(','))];
  await writeWhole(path.join(out, 'index.csv'), `${rows.join('\r\n')}\r\n`);
}
