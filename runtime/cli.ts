/**
 * `npm run caption -- <file> [--json] [--verbose]`: one song through the whole pipeline from a terminal.
 *
 * It uses the runtime a running `npm start` announces on the same DATA_DIR, or boots the embedded runtime
 * in this process (no site, any free port) and stops it at the end. The file goes up exactly as the site
 * sends it (uploads/{id}/{name}, multipart when big), the S3 event starts the execution named {id}, and
 * this polls that execution through the Step Functions API, showing each step as it changes, then prints
 * results/{id}.json.
 *
 * Exit status: 0 the run succeeded; 1 the run failed, or the CLI could not do its part; 2 usage error.
 */
import { GetObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, GetExecutionHistoryCommand, SFNClient, type HistoryEvent } from '@aws-sdk/client-sfn';
import { Upload } from '@aws-sdk/lib-storage';
import { createReadStream, statSync } from 'node:fs';
import path from 'node:path';
import { keys, type FailureDocument, type ResultDocument, type RunDocument } from '#core/contract';
import { newUploadId, safeFileName } from '#core/ids';
import { executionError, formatClock, stepsFromHistory, type StepView } from '#core/run-steps';
import { sectionKeys, statedMeter } from '#core/song-shape';
import type { Log } from '../functions/shared/log.ts';
import { loadRuntimeConfig } from './config.ts';
import { runningRuntime, startRuntime, type RuntimeHandle } from './main.ts';

export const USAGE = `Usage: npm run caption -- <audio file> [--json] [--verbose]

Runs one song through Preprocess → Caption → Summarize on this machine and prints the result.

  --json      print only the result (or failure) document, as JSON, on stdout
  --verbose   also print the runtime's own log lines on stderr
  --help      show this help

Uses the runtime of a running \`npm start\` on the same DATA_DIR (default ./.data), or starts one for this run.
Exit status: 0 succeeded, 1 the run failed, 2 usage error.`;

/** A mistake in how the CLI was called: exit 2 with the usage. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Something the CLI itself could not do (no runtime, no execution, unreadable result): exit 1, one line. */
export class CliError extends Error {
  override readonly name = 'CliError';
}

export interface CliOptions {
  file: string;
  json: boolean;
  verbose: boolean;
}

export function parseArguments(argv: readonly string[]): CliOptions | 'help' {
  const files: string[] = [];
  let json = false;
  let verbose = false;
  let onlyFiles = false;
  for (const arg of argv) {
    if (!onlyFiles && arg === '--') onlyFiles = true;
    else if (!onlyFiles && (arg === '--help' || arg === '-h')) return 'help';
    else if (!onlyFiles && arg === '--json') json = true;
    else if (!onlyFiles && arg === '--verbose') verbose = true;
    else if (!onlyFiles && arg.startsWith('-') && arg !== '-') throw new UsageError(`Unknown option ${arg}.`);
    else files.push(arg);
  }
  if (files.length === 0) throw new UsageError('Name the audio file to caption.');
  if (files.length > 1) throw new UsageError(`One file at a time (got ${files.length}: ${files.join(', ')}).`);
  return { file: files[0], json, verbose };
}

/** s3rver's well-known credentials; the local Step Functions endpoint does not check signatures. */
const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

interface Endpoints {
  s3Endpoint: string;
  sfnEndpoint: string;
  bucket: string;
  stateMachineArn: string;
  region: string;
}

const POLL_MS = 250;
/** How long the S3 event may take to become an execution before the CLI gives up waiting. */
const EXECUTION_APPEAR_TIMEOUT_MS = 30_000;

const seconds = (ms: number) => (ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : formatClock(ms / 1000));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Progress on stderr: one line whenever a step changes; on a terminal, the running step's clock ticks in place. */
export class ProgressView {
  private readonly shown = new Map<string, string>();
  private liveLine = false;

  constructor(private readonly out: NodeJS.WriteStream) {}

  line(text: string) {
    this.clearLive();
    this.out.write(`${text}\n`);
  }

  update(steps: StepView[], now: number) {
    for (const step of steps) {
      if (step.status === 'pending') continue;
      const key = `${step.status}|${step.retries}|${step.error?.name ?? ''}`;
      if (this.shown.get(step.name) === key) continue;
      this.shown.set(step.name, key);
      this.line(describeStep(step, now));
    }
    const running = steps.find((step) => step.status === 'running' || step.status === 'retrying');
    if (this.out.isTTY && running) {
      this.out.write(`\r\x1b[2K  ${describeStep(running, now)}`);
      this.liveLine = true;
    }
  }

  clearLive() {
    if (this.liveLine) this.out.write('\r\x1b[2K');
    this.liveLine = false;
  }
}

function describeStep(step: StepView, now: number): string {
  const elapsed = step.durationMs ?? (step.startedAt ? now - Date.parse(step.startedAt) : 0);
  const retries = step.retries > 0 ? `, ${step.retries} ${step.retries === 1 ? 'retry' : 'retries'}` : '';
  const name = step.name.padEnd(10);
  switch (step.status) {
    case 'running':
      return `… ${name} running${retries}`;
    case 'retrying':
      return `↻ ${name} retrying after ${step.error?.name ?? 'an error'} (${seconds(elapsed)}${retries})`;
    case 'succeeded':
      return `✓ ${name} ${seconds(elapsed)}${retries}${step.fellBack ? ' (local summary: the LLM did not answer)' : ''}`;
    case 'failed':
      return `✗ ${name} failed after ${seconds(elapsed)}${retries}${step.error ? `: ${step.error.name}` : ''}`;
    default:
      return `  ${name} ${step.status}`;
  }
}

/** Readable text of a result document. */
export function formatResult(result: ResultDocument): string {
  const { file, tags } = result;
  const lines: string[] = [];
  lines.push(
    `${file.name} — ${formatClock(file.durationSec)} (${file.codec}, ${file.sampleRate} Hz, ${file.channels} ch, ${(file.sizeBytes / 1_000_000).toFixed(1)} MB)`,
  );
  const bpm = tags.bpm === null ? 'no steady beat' : `${Math.round(tags.bpm)} BPM${statedMeter(tags) ? ` in ${statedMeter(tags)}` : ''}`;
  const sections = result.analysis ? sectionKeys(result.analysis) : [];
  const key = sections.length > 1 ? sections.join(' → ') : (tags.key ?? 'no clear key');
  const peak = Number.isFinite(tags.truePeakDbtp) ? `, true peak ${tags.truePeakDbtp.toFixed(1)} dBTP` : '';
  const loudness = tags.loudnessLufs === null ? 'silent' : `${tags.loudnessLufs.toFixed(1)} LUFS (range ${tags.loudnessRangeLu.toFixed(1)} LU${peak})`;
  lines.push(`Tempo ${bpm} · Key ${key} · Loudness ${loudness}`, '');
  for (const chunk of result.chunks) {
    const degenerate = chunk.quality === 'degenerate' ? ' [repetitive caption, left out of the summary]' : '';
    lines.push(`${formatClock(chunk.startSec)}–${formatClock(chunk.endSec)}  ${chunk.caption}${degenerate}`);
  }
  const source =
    result.summary.source === 'openai'
      ? `written by ${result.summary.model}`
      : `written locally from the captions and measurements${result.summary.fallbackReason ? ` (${result.summary.fallbackReason})` : ''}`;
  lines.push('', `Summary (${source}):`, result.summary.text, '', `Captions by ${result.captioner.backend} (${result.captioner.model}).`);
  return lines.join('\n');
}

export function failureLine(failure: FailureDocument['error']): string {
  return `Failed at ${failure.step}: ${failure.name} — ${failure.message}`;
}

async function readDocument(s3: S3Client, bucket: string, id: string): Promise<RunDocument | undefined> {
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: keys.result(id) }));
    return JSON.parse(await object.Body!.transformToString('utf8')) as RunDocument;
  } catch (error) {
    if (error instanceof S3ServiceException && (error.name === 'NoSuchKey' || error.$metadata.httpStatusCode === 404)) return undefined;
    throw error;
  }
}

async function fullHistory(sfn: SFNClient, executionArn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000, nextToken }));
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
}

export interface RunOutcome {
  status: string;
  document?: RunDocument;
  /** Why it failed, as one line, when it did not succeed. */
  reason?: string;
}

/** Uploads the file, follows its execution to the end and reads its document. */
export async function captionFile(file: string, endpoints: Endpoints, progress: ProgressView): Promise<RunOutcome> {
  const s3 = new S3Client({ region: endpoints.region, endpoint: endpoints.s3Endpoint, forcePathStyle: true, credentials: LOCAL_CREDENTIALS });
  const sfn = new SFNClient({ region: endpoints.region, endpoint: endpoints.sfnEndpoint, credentials: LOCAL_CREDENTIALS });
  try {
    const id = newUploadId();
    const name = safeFileName(path.basename(file));
    const size = statSync(file).size;
    const uploadStarted = Date.now();
    progress.line(`↑ Upload     ${path.basename(file)} (${(size / 1_000_000).toFixed(1)} MB) as ${id}`);
    await new Upload({
      client: s3,
      params: { Bucket: endpoints.bucket, Key: keys.upload(id, name), Body: createReadStream(file) },
    }).done();
    progress.line(`✓ Upload     ${seconds(Date.now() - uploadStarted)}`);

    const executionArn = `${endpoints.stateMachineArn.replace(':stateMachine:', ':execution:')}:${id}`;
    const waitingSince = Date.now();
    let status = 'RUNNING';
    let events: HistoryEvent[] = [];
    for (;;) {
      try {
        status = (await sfn.send(new DescribeExecutionCommand({ executionArn }))).status ?? 'RUNNING';
      } catch (error) {
        // The S3 event reaches the start function a moment after the upload completes.
        if ((error as Error).name !== 'ExecutionDoesNotExist') throw error;
        if (Date.now() - waitingSince > EXECUTION_APPEAR_TIMEOUT_MS) {
          throw new CliError(`No execution started for upload ${id} within ${EXECUTION_APPEAR_TIMEOUT_MS / 1000} s: is the runtime's start function failing? (try --verbose)`);
        }
        await sleep(POLL_MS);
        continue;
      }
      events = await fullHistory(sfn, executionArn);
      progress.update(stepsFromHistory(events), Date.now());
      if (status !== 'RUNNING') break;
      await sleep(POLL_MS);
    }
    progress.clearLive();

    const document = await readDocument(s3, endpoints.bucket, id);
    if (status === 'SUCCEEDED') {
      if (!document || document.status !== 'SUCCEEDED') throw new CliError(`The run succeeded but ${keys.result(id)} holds no result.`);
      return { status, document };
    }
    if (document?.status === 'FAILED') return { status, document, reason: failureLine(document.error) };
    const error = executionError(events);
    const failedStep = stepsFromHistory(events).find((step) => step.status === 'failed')?.name ?? 'Pipeline';
    return { status, document, reason: failureLine({ step: failedStep, name: error?.name ?? status, message: error?.message || `The execution ended ${status}.` }) };
  } finally {
    s3.destroy();
    sfn.destroy();
  }
}

const quietLog: Log = () => undefined;
const stderrLog: Log = (level, message, fields = {}) => process.stderr.write(`${JSON.stringify({ level, message, ...fields })}\n`);

/** Runs the CLI; resolves to the exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  let options: CliOptions | 'help';
  try {
    options = parseArguments(argv);
    if (options !== 'help') {
      let stat;
      try {
        stat = statSync(options.file);
      } catch {
        throw new UsageError(`No file at ${options.file}.`);
      }
      if (!stat.isFile()) throw new UsageError(`${options.file} is not a file.`);
    }
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`caption: ${error.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }

  const progress = new ProgressView(process.stderr);
  let own: RuntimeHandle | undefined;
  try {
    const { dataDir } = loadRuntimeConfig(process.env);
    const running = runningRuntime(dataDir);
    let endpoints: Endpoints;
    if (running) {
      progress.line(`Using the runtime of process ${running.pid} (${running.siteUrl || running.s3Endpoint}).`);
      endpoints = running;
    } else {
      own = await startRuntime({ SITE: 'off', PORT: '0' }, options.verbose ? stderrLog : quietLog).catch((error: Error) => {
        throw new CliError((error as NodeJS.ErrnoException).code === 'EADDRINUSE' ? describeStartupError(error) : `Could not start the local runtime: ${error.message}`);
      });
      endpoints = own;
    }

    const outcome = await captionFile(options.file, endpoints, progress);
    if (options.json && outcome.document) await writeOut(`${JSON.stringify(outcome.document, null, 2)}\n`);
    if (outcome.status === 'SUCCEEDED') {
      if (!options.json) await writeOut(`\n${formatResult(outcome.document as ResultDocument)}\n`);
      return 0;
    }
    progress.line(outcome.reason!);
    return 1;
  } catch (error) {
    progress.clearLive();
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`caption: ${message.replace(/\s+/g, ' ').trim()}\n`);
    return 1;
  } finally {
    await own?.stop().catch(() => undefined);
  }
}

function describeStartupError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE') {
    const { address, port } = error as NodeJS.ErrnoException & { address?: string; port?: number };
    return `Could not start the local runtime: port ${port ?? '?'} on ${address ?? '127.0.0.1'} is already in use (check S3_PORT, SFN_PORT, PORT).`;
  }
  return (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ').trim();
}

function writeOut(text: string): Promise<void> {
  return new Promise((resolve, reject) => process.stdout.write(text, (error) => (error ? reject(error) : resolve())));
}

if (require.main === module) {
  // A server that fails to listen (s3rver on a busy port) emits an 'error' nobody awaits: still one line, exit 1.
  process.on('uncaughtException', (error) => {
    process.stderr.write(`caption: ${describeStartupError(error)}\n`);
    process.exit(1);
  });
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`caption: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
