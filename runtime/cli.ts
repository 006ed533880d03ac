/**
 * `npm run caption -- <files or folders…> [--json] [--out DIR] [--concurrency N] [--verbose]`: songs through
 * the whole pipeline from a terminal. This file is the command's arguments, its display and its boot; the
 * work — uploading, following each run through the run reader the site uses, the --out folder — is in
 * runtime/batch.ts.
 *
 * It uses the runtime a running `npm start` announces on the same DATA_DIR, or boots the embedded runtime
 * in this process (no site, any free port) and stops it at the end. Folders are walked for audio files.
 * Several files are in flight at once (--concurrency); the runtime's own queue decides how many of them
 * decode and caption at the same moment, first come first served.
 *
 * One file: its steps as they change on stderr, then the result as text (or, with --json, one JSON line).
 * Several: a progress bar on stderr (on a terminal) and a line per finished file; --out writes each result
 * document with its SRT and WebVTT captions and an index.json/index.csv of the batch.
 *
 * Exit status: 0 every run succeeded; 1 a run failed (each named), or the CLI could not do its part;
 * 2 usage error; 130 stopped by Ctrl-C (the finished results are kept).
 */
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseCommandLine } from '#core/command-line';
import type { FailureDocument, ResultDocument } from '#core/contract';
import { waitingLine } from '#core/run-queue';
import { formatClock, type StepView } from '#core/run-steps';
import { keyPathWords, sectionKeys, statedMeter } from '#core/song-shape';
import { KEY_PATH_SHOWN, NEAR_SILENCE, NO_CLEAR_KEY, NO_STEADY_BEAT } from '#core/vocabulary';
import { CONTENT_TYPE_BY_EXTENSION, extensionOf } from '#core/upload-policy';
import type { Log } from '../functions/shared/log.ts';
import {
  captionFile,
  CliError,
  inPool,
  Interrupted,
  localS3Client,
  outputStems,
  writeIndex,
  writeOutcome,
  type Endpoints,
  type FollowEvents,
  type IndexEntry,
  type RunOutcome,
} from './batch.ts';
import { loadRuntimeConfig } from './config.ts';
import { deleteRunInBucket, deleteRunThroughSite } from './delete-run.ts';
import { runningRuntime, startRuntime, type RuntimeHandle } from './main.ts';

export const USAGE = `Usage: npm run caption -- <files or folders…> [--json] [--out DIR] [--concurrency N] [--verbose]
       npm run caption -- delete <run id…>

Runs songs through Preprocess → Caption → Summarize on this machine and prints what was found.
Folders are searched, subfolders and links too (each file once), for audio files (${Object.keys(CONTENT_TYPE_BY_EXTENSION).join(', ')}).

  --json            one JSON line per file on stdout: its result (or failure) document and "path"
  --out DIR         write each result document, its captions as .srt and .vtt, and index.json/index.csv
  --concurrency N   files in flight at once (default: the number of cores, ${os.availableParallelism()} here)
  --verbose         also print the runtime's own log lines on stderr
  --help            show this help

  delete <run id…>  delete those runs: upload, windows, captions, result and library entry (through a running
                    site, with ACCESS_TOKEN when it has one, so a run still going is refused)

Uses the runtime of a running \`npm start\` on the same DATA_DIR (default ./.data), or starts one for this batch.
Exit status: 0 all succeeded, 1 any failed, 2 usage error, 130 stopped by Ctrl-C (finished results are kept).`;

/** A mistake in how the CLI was called: exit 2 with the usage. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface CliOptions {
  /** Files and folders as given. */
  inputs: string[];
  json: boolean;
  verbose: boolean;
  out?: string;
  concurrency: number;
}

export function parseArguments(argv: readonly string[]): CliOptions | 'help' {
  const parsed = parseCommandLine(
    argv,
    {
      json: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      out: { type: 'string' },
      concurrency: { type: 'string' },
    },
    (problem) => new UsageError(`${problem[0].toUpperCase()}${problem.slice(1)}.`),
    true,
  );
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (positionals.length === 0) throw new UsageError('Name the audio files or folders to caption.');
  const concurrency = values.concurrency === undefined ? os.availableParallelism() : Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new UsageError(`--concurrency takes a whole number of at least 1 (got ${values.concurrency}).`);
  if (values.out !== undefined && values.out.trim() === '') throw new UsageError('--out needs a folder.');
  return { inputs: positionals, json: values.json, verbose: values.verbose, out: values.out, concurrency };
}

const isAudioName = (name: string) => extensionOf(name) in CONTENT_TYPE_BY_EXTENSION;

/**
 * The files to caption, in the order given; a folder contributes its audio files (subfolders too), sorted
 * by path. A file named explicitly is taken whatever its extension: Preprocess decides whether it is audio.
 */
export function collectFiles(inputs: readonly string[]): string[] {
  const files: string[] = [];
  for (const input of inputs) {
    let stat;
    try {
      stat = statSync(input);
    } catch {
      throw new UsageError(`No file or folder at ${input}.`);
    }
    if (stat.isDirectory()) {
      // A link to a file counts as the file (libraries are often folders of links); a broken link is passed over.
      // (Node's walk follows links to folders, even one back to a parent: each file is kept once, below.)
      const isFileOrLinkToOne = (entry: { isFile(): boolean; isSymbolicLink(): boolean; parentPath: string; name: string }) => {
        if (entry.isFile()) return true;
        if (!entry.isSymbolicLink()) return false;
        try {
          return statSync(path.join(entry.parentPath, entry.name)).isFile();
        } catch {
          return false;
        }
      };
      // Where several paths lead to one file, the shortest names it.
      const byFile = new Map<string, string>();
      for (const entry of readdirSync(input, { recursive: true, withFileTypes: true })) {
        if (entry.name.startsWith('.') || !isAudioName(entry.name) || !isFileOrLinkToOne(entry)) continue;
        const file = path.join(entry.parentPath, entry.name);
        const real = realPath(file);
        const named = byFile.get(real);
        if (named === undefined || file.length < named.length) byFile.set(real, file);
      }
      const found = [...byFile.values()].sort();
      if (found.length === 0) throw new UsageError(`No audio files in the folder ${input}.`);
      files.push(...found);
    } else if (stat.isFile()) {
      files.push(input);
    } else {
      throw new UsageError(`${input} is neither a file nor a folder.`);
    }
  }
  // Once per file, however many paths lead to it (links, a link back to a parent folder), under the first path.
  const seen = new Set<string>();
  const unique: string[] = [];
  for (const file of files.map((f) => path.resolve(f))) {
    const real = realPath(file);
    if (seen.has(real)) continue;
    seen.add(real);
    unique.push(file);
  }
  return unique;
}

/** The file a path leads to, links followed; the path itself where it leads nowhere (Preprocess will say so). */
function realPath(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return path.resolve(file);
  }
}

const seconds = (ms: number) => (ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : formatClock(ms / 1000));

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

  private shownWaiting?: number;

  /** "… waiting — 3 runs ahead", each time the run's place in the runtime's queue changes. */
  waiting(runsAhead: number | undefined) {
    if (runsAhead === this.shownWaiting) return;
    this.shownWaiting = runsAhead;
    if (runsAhead !== undefined) this.line(`… ${waitingLine(runsAhead)}`);
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
  const bpm = tags.bpm === null ? NO_STEADY_BEAT : `${Math.round(tags.bpm)} BPM${statedMeter(tags) ? ` in ${statedMeter(tags)}` : ''}`;
  const sections = result.analysis ? sectionKeys(result.analysis) : [];
  const key = sections.length > 1 ? `${keyPathWords(sections)}${sections.length > KEY_PATH_SHOWN ? ` (${sections.length} keys)` : ''}` : (tags.key ?? NO_CLEAR_KEY);
  const peak = Number.isFinite(tags.truePeakDbtp) ? `, true peak ${tags.truePeakDbtp.toFixed(1)} dBTP` : '';
  const loudness = tags.loudnessLufs === null ? NEAR_SILENCE : `${tags.loudnessLufs.toFixed(1)} LUFS (range ${tags.loudnessRangeLu.toFixed(1)} LU${peak})`;
  lines.push(`Tempo ${bpm} · Key ${key} · Loudness ${loudness}`, '');
  for (const chunk of result.chunks) {
    const degenerate =
      chunk.quality === 'degenerate'
        ? ' [repetitive caption, left out of the summary]'
        : chunk.quality === 'unavailable'
          ? ' [from the measurements: the captioner gave none]'
          : '';
    lines.push(`${formatClock(chunk.startSec)}–${formatClock(chunk.endSec)}  ${chunk.caption}${degenerate}`);
  }
  const source =
    result.summary.source === 'openai'
      ? `written by ${result.summary.model}`
      : `written locally from the captions and measurements${result.summary.fallbackReason ? ` (${result.summary.fallbackReason})` : ''}`;
  lines.push('', `Summary (${source}):`, result.summary.text, '', `Captions by ${result.captioner.backend} (${result.captioner.model}).`);
  if (result.captioner.fallbackReason) lines.push(result.captioner.fallbackReason);
  return lines.join('\n');
}

/** The one line a finished file gets: name, duration, tempo, key, status (or why it failed). */
export function outcomeLine(outcome: RunOutcome): string {
  const name = path.basename(outcome.path);
  const document = outcome.document;
  if (outcome.status === 'SUCCEEDED' && document?.status === 'SUCCEEDED') {
    const { tags } = document;
    const tempo = tags.bpm === null ? NO_STEADY_BEAT : `${Math.round(tags.bpm)} BPM`;
    return `✓ ${name}  ${formatClock(document.file.durationSec)}  ${tempo}  ${tags.key ?? NO_CLEAR_KEY}  succeeded`;
  }
  return `✗ ${name}  ${outcome.reason ?? `ended ${outcome.status}`}`;
}

/** A batch's progress on a terminal: one bar, redrawn in place under the lines of finished files. */
export class BatchView {
  private barShown = false;
  private done = 0;
  private failed = 0;
  private readonly waiting = new Map<string, number>();

  constructor(
    private readonly err: NodeJS.WriteStream,
    private readonly total: number,
    private readonly started = Date.now(),
  ) {}

  /** A finished file's line goes above the bar. */
  finished(outcome: RunOutcome, line: string, write: (text: string) => void) {
    this.done += 1;
    if (outcome.status !== 'SUCCEEDED') this.failed += 1;
    this.waiting.delete(outcome.path);
    this.clear();
    write(line);
    this.draw();
  }

  queue(file: string, runsAhead: number | undefined) {
    if (runsAhead === undefined) this.waiting.delete(file);
    else this.waiting.set(file, runsAhead);
    this.draw();
  }

  draw() {
    if (!this.err.isTTY) return;
    const width = 24;
    const filled = Math.round((this.done / this.total) * width);
    const waiting = this.waiting.size ? ` · ${this.waiting.size} waiting (next: ${waitingLine(Math.min(...this.waiting.values()))})` : '';
    const failed = this.failed ? ` · ${this.failed} failed` : '';
    const elapsed = formatClock((Date.now() - this.started) / 1000);
    this.err.write(`\r\x1b[2K[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${this.done}/${this.total} done${failed}${waiting} · ${elapsed}`);
    this.barShown = true;
  }

  clear() {
    if (this.barShown) this.err.write('\r\x1b[2K');
    this.barShown = false;
  }
}

const quietLog: Log = () => undefined;
const stderrLog: Log = (level, message, fields = {}) => process.stderr.write(`${JSON.stringify({ level, message, ...fields })}\n`);

/** Runs the CLI; resolves to the exit status. `interrupt` aborts on Ctrl-C. */
export async function main(argv: readonly string[], interrupt: AbortSignal = new AbortController().signal): Promise<number> {
  // `delete` is a subcommand unless a file or folder of that name is meant.
  if (argv[0] === 'delete' && !existsSync(argv[0])) return deleteRuns(argv.slice(1));
  let options: CliOptions | 'help';
  let files: string[] = [];
  try {
    options = parseArguments(argv);
    if (options !== 'help') files = collectFiles(options.inputs);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`caption: ${error.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const single = files.length === 1;
  const progress = new ProgressView(process.stderr);
  const batch = new BatchView(process.stderr, files.length);
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
    if (options.out) await mkdir(options.out, { recursive: true });
    const stems = outputStems(files);
    const entries = new Map<string, IndexEntry>();
    const outcomes: RunOutcome[] = [];
    if (!single) {
      process.stderr.write(`Captioning ${files.length} files, ${Math.min(options.concurrency, files.length)} at a time.\n`);
      batch.draw();
    }

    await inPool(files, options.concurrency, interrupt, async (file) => {
      let outcome: RunOutcome;
      try {
        const events: FollowEvents = single
          ? {
              uploaded: (id, ms) => progress.line(`✓ Upload     ${seconds(ms)} (${path.basename(file)} as ${id})`),
              steps: (steps) => progress.update(steps, Date.now()),
              waiting: (ahead) => progress.waiting(ahead),
            }
          : { waiting: (ahead) => batch.queue(file, ahead) };
        outcome = await captionFile(file, endpoints, events, interrupt);
      } catch (error) {
        if (error instanceof Interrupted || interrupt.aborted) return;
        if (!(error instanceof CliError)) throw error;
        outcome = { path: file, status: 'FAILED', reason: error.message };
      }
      outcomes.push(outcome);
      if (options.out) entries.set(file, await writeOutcome(options.out, stems.get(file)!, outcome));
      if (options.json) {
        const document = outcome.document ?? ({ status: 'FAILED', error: { step: 'Pipeline', name: 'CliError', message: outcome.reason ?? '' } } as Partial<FailureDocument>);
        await writeOut(`${JSON.stringify({ path: file, ...document })}\n`);
      }
      if (single) {
        progress.clearLive();
        if (outcome.status === 'SUCCEEDED' && !options.json) await writeOut(`\n${formatResult(outcome.document as ResultDocument)}\n`);
        if (outcome.status !== 'SUCCEEDED') progress.line(outcome.reason!);
      } else {
        const line = outcomeLine(outcome);
        batch.finished(outcome, line, (text) => (options.json ? process.stderr.write(`${text}\n`) : process.stdout.write(`${text}\n`)));
      }
    });
    batch.clear();

    // The index lists the files in the order given; those Ctrl-C left unfinished are not in it.
    if (options.out) await writeIndex(options.out, files.flatMap((file) => entries.get(file) ?? []), !interrupt.aborted);
    const failed = outcomes.filter((outcome) => outcome.status !== 'SUCCEEDED');
    if (!single || interrupt.aborted) {
      const stopped = interrupt.aborted ? `; stopped by Ctrl-C with ${files.length - outcomes.length} not finished` : '';
      process.stderr.write(`${outcomes.length - failed.length} of ${files.length} succeeded${failed.length ? `, ${failed.length} failed` : ''}${stopped}${options.out ? ` — written to ${options.out}` : ''}.\n`);
    }
    if (interrupt.aborted) return 130;
    return failed.length ? 1 : 0;
  } catch (error) {
    progress.clearLive();
    batch.clear();
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`caption: ${message.replace(/\s+/g, ' ').trim()}\n`);
    return 1;
  } finally {
    await own?.stop().catch(() => undefined);
  }
}

/**
 * `npm run caption -- delete <run id…>`: through the running site when there is one (its rules apply: the
 * access token, and no deleting a run that is still going), else straight against the embedded bucket of a
 * runtime started for this. Exit 0 when every run was deleted, 1 when any was not, 2 without ids.
 */
async function deleteRuns(ids: readonly string[]): Promise<number> {
  if (ids.length === 0 || ids.some((id) => id.startsWith('-'))) {
    process.stderr.write(`caption: name the run ids to delete.\n\n${USAGE}\n`);
    return 2;
  }
  let own: RuntimeHandle | undefined;
  let failed = 0;
  try {
    const { dataDir } = loadRuntimeConfig(process.env);
    const running = runningRuntime(dataDir);
    if (running?.siteUrl) {
      for (const id of ids) {
        const answer = await deleteRunThroughSite(running.siteUrl, id, process.env.ACCESS_TOKEN || undefined);
        if (!answer.ok) failed++;
        (answer.ok ? process.stdout : process.stderr).write(`${answer.message}\n`);
      }
      return failed ? 1 : 0;
    }
    const endpoints: Endpoints = running ?? (own = await startRuntime({ SITE: 'off', PORT: '0' }, quietLog));
    const s3 = localS3Client(endpoints);
    for (const id of ids) {
      const deleted = await deleteRunInBucket(s3, endpoints.bucket, id);
      if (deleted.length === 0) failed++;
      if (deleted.length) process.stdout.write(`Deleted run ${id} (${deleted.length} objects).\n`);
      else process.stderr.write(`There is no run ${id}.\n`);
    }
    return failed ? 1 : 0;
  } catch (error) {
    process.stderr.write(`caption: ${(error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ').trim()}\n`);
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

/** A second SIGINT this soon after the first is the same keypress relayed by a launcher, not a second Ctrl-C. */
const RELAYED_SIGNAL_WINDOW_MS = 300;

if (require.main === module) {
  // A server that fails to listen (s3rver on a busy port) emits an 'error' nobody awaits: still one line, exit 1.
  process.on('uncaughtException', (error) => {
    process.stderr.write(`caption: ${describeStartupError(error)}\n`);
    process.exit(1);
  });
  // Ctrl-C: no new files, the finished ones written and indexed, then exit 130; a second Ctrl-C exits at once.
  // A launcher that relays the terminal's SIGINT (`tsx`, when this process has not confirmed it within 30 ms)
  // delivers the one keypress twice, a few milliseconds apart; no person presses Ctrl-C twice that fast.
  const interrupt = new AbortController();
  let firstInterruptAt = 0;
  process.on('SIGINT', () => {
    if (interrupt.signal.aborted) {
      if (Date.now() - firstInterruptAt < RELAYED_SIGNAL_WINDOW_MS) return;
      process.exit(130);
    }
    firstInterruptAt = Date.now();
    process.stderr.write('\nStopping: finished results are kept; Ctrl-C again to quit at once.\n');
    interrupt.abort();
  });
  main(process.argv.slice(2), interrupt.signal).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`caption: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
