/**
 * `npm run bench`: how close the local pipeline comes to ffmpeg's own decode, on music-like mp3s that ffmpeg
 * makes in this run (44.1 kHz stereo: chords over a beat).
 *
 *   floor       ffmpeg alone decoding the 3-minute file to 16 kHz mono s16le into /dev/null, best of 3
 *   preprocess  core preprocessUpload on that file in the embedded S3, best of 3      target ≤ 1.3 × floor
 *               after one first call in this process (shown apart: it also compiles the code)
 *   whole run   upload → result document through the embedded runtime, for the 3-minute file and for a
 *               3-second file (best of 3 each); the difference is what 3 minutes of music cost
 *                                                                                     target ≤ 2 × floor
 *   memory      peak RSS of preprocess on a 60-minute file, in a process of its own   target ≤ 150 MB
 *
 * Then where preprocess spends its time: each stage alone on the 3-minute file, its wall time and Node's own CPU
 * time (ffmpeg runs beside Node on the other core, so on a shared machine CPU time is the steadier figure).
 * Options: --keep (keep the temporary folder), --json <file> (write the figures).
 */
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { build } from 'esbuild';
import { execFile, spawn } from 'node:child_process';
import { createReadStream, statSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { keys, SAMPLE_RATE } from '../core/contract.ts';
import { TrackAnalyzer } from '../core/descriptors/index.ts';
import { channelWeights, FileLoudnessMeter } from '../core/descriptors/loudness.ts';
import { decodeArguments, decodeAudio, decodeWithLoudnessArguments, LOUDNESS_SAMPLE_SCALE, resolveFfmpeg } from '../core/ffmpeg.ts';
import { newUploadId, safeFileName } from '../core/ids.ts';
import { encodeNpyFloat32 } from '../core/npy.ts';
import { preprocessUpload, type PreprocessLimits } from '../core/preprocess.ts';
import { stepsFromHistory, type StepView } from '../core/run-steps.ts';
import { planWindows, Windower, type Window } from '../core/windows.ts';
import { createS3Client, createS3Store } from '../functions/shared/s3-store.ts';
import { loadRuntimeConfig } from '../runtime/config.ts';
import { startRuntime, type RuntimeHandle } from '../runtime/main.ts';
import { PREPROCESS_V8_FLAGS } from '../runtime/preprocess-pool.ts';
import { startEmbeddedS3 } from '../runtime/s3.ts';
import type { ChildReport } from './lib/preprocess-child.ts';
import { makeMusicFiles } from './lib/music.ts';
import { processCpuSeconds } from './lib/proc-cpu.ts';

const args = process.argv.slice(2);
const keep = args.includes('--keep');
const jsonIndex = args.indexOf('--json');
const jsonFile = jsonIndex >= 0 ? args[jsonIndex + 1] : undefined;

const TARGET_PREPROCESS_RATIO = 1.3;
const TARGET_EXTRA_RUN_RATIO = 2;
const TARGET_PEAK_MB = 150;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const s = (ms: number) => `${(ms / 1000).toFixed(3)} s`;
const mark = (ok: boolean) => (ok ? '✓' : '✗');

/** CPU milliseconds so far of the child processes this one has waited for (ffmpeg, once it ended) and of those still running (the embedded S3). */
function childrenCpuMs(): { ended: number; running: number } | undefined {
  const cpu = processCpuSeconds();
  return cpu && { ended: cpu.endedChildren * 1000, running: cpu.runningChildren * 1000 };
}

interface Timed<T> {
  ms: number;
  /** This process's own CPU (Node) during the run. */
  cpuMs: number;
  /** CPU of the child processes that ended during the run (ffmpeg), and of those still running (the embedded S3). */
  endedChildrenCpuMs?: number;
  runningChildrenCpuMs?: number;
  value: T;
}

/** The fastest of `times` runs, with the CPU that run cost in this process and in its children. */
async function bestOf<T>(times: number, measure: () => Promise<T>): Promise<Timed<T>> {
  let best: Timed<T> | undefined;
  for (let i = 0; i < times; i++) {
    const children = childrenCpuMs();
    const started = performance.now();
    const cpu = process.cpuUsage();
    const value = await measure();
    const ms = performance.now() - started;
    const used = process.cpuUsage(cpu);
    const after = childrenCpuMs();
    if (!best || ms < best.ms) {
      best = {
        ms, cpuMs: (used.user + used.system) / 1000, value,
        endedChildrenCpuMs: children && after ? after.ended - children.ended : undefined,
        runningChildrenCpuMs: children && after ? after.running - children.running : undefined,
      };
    }
  }
  return best!;
}

/** ffmpeg alone: the same decoding arguments as the pipeline, output thrown away by the OS. */
function ffmpegToNull(ffmpeg: string, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const args = decodeArguments(file);
    args[args.length - 1] = '-';
    const child = spawn(ffmpeg, args, { stdio: ['ignore', 'ignore', 'ignore'] });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exited ${code}`))));
  });
}

/** ffmpeg into a Node pipe whose bytes are dropped: the cost of the pipe itself. */
function ffmpegIntoPipe(ffmpeg: string, file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpeg, decodeArguments(file), { stdio: ['ignore', 'pipe', 'ignore'] });
    let bytes = 0;
    child.stdout.on('data', (piece: Buffer) => (bytes += piece.length));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(bytes) : reject(new Error(`ffmpeg exited ${code}`))));
  });
}

/** The file's own channels as the loudness output of the decode carries them (fd 3: 16-bit, 6 dB down). */
async function fileChannelsOf(ffmpeg: string, file: string): Promise<Int16Array> {
  const args = decodeWithLoudnessArguments(file);
  // Only the second output, to stdout: the arguments after the first output's 'pipe:1'.
  const second = args.slice(args.indexOf('pipe:1') + 1).map((arg) => (arg === 'pipe:3' ? 'pipe:1' : arg));
  const { stdout } = await promisify(execFile)(ffmpeg, ['-hide_banner', '-nostdin', '-i', file, ...second], { encoding: 'buffer', maxBuffer: 1 << 30 });
  // A copy of its own, so the samples start on an even byte whatever buffer execFile joined them into.
  return new Int16Array(stdout.buffer.slice(stdout.byteOffset, stdout.byteOffset + (stdout.length & ~1)));
}

async function decodeAll(ffmpeg: string, input: Parameters<typeof decodeAudio>[0]['input'], each?: (chunk: Float32Array) => void) {
  const stream = decodeAudio({ ffmpeg, input });
  let samples = 0;
  for (;;) {
    const next = await stream.next();
    if (next.done) break;
    samples += next.value.length;
    each?.(next.value);
  }
  return samples;
}

async function inPool<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]);
  }));
}

interface WholeRun {
  ms: number;
  steps: StepView[];
}

/** Upload → terminal execution → result document, as a user's upload goes through the runtime. */
async function wholeRun(runtime: RuntimeHandle, s3: S3Client, file: string): Promise<WholeRun> {
  const id = newUploadId();
  const key = keys.upload(id, safeFileName(path.basename(file)));
  const executionArn = runtime.executions.executionArn(id);
  const started = performance.now();
  await new Upload({ client: s3, params: { Bucket: runtime.bucket, Key: key, Body: createReadStream(file) } }).done();
  await untilFinished(runtime, executionArn);
  const record = runtime.executions.describe(executionArn);
  const result = await s3.send(new GetObjectCommand({ Bucket: runtime.bucket, Key: keys.result(id) }));
  const ms = performance.now() - started;
  const document = JSON.parse(await result.Body!.transformToString()) as { status: string; error?: { name: string; message: string } };
  if (record.status !== 'SUCCEEDED' || document.status !== 'SUCCEEDED') {
    throw new Error(`the run of ${path.basename(file)} ended ${record.status}: ${JSON.stringify(document.error ?? {})}`);
  }
  const steps = stepsFromHistory(record.events.map((event) => ({ ...event, timestamp: new Date(event.timestamp) })));
  return { ms, steps };
}

/** Waits for the execution of an upload: first for it to exist (the S3 event starts it), then for it to end. */
async function untilFinished(runtime: RuntimeHandle, executionArn: string): Promise<void> {
  for (;;) {
    try {
      if (runtime.executions.describe(executionArn).status !== 'RUNNING') return;
    } catch {
      // The S3 event has not started the execution yet.
    }
    await sleep(5);
  }
}

/** Where a run's CPU went, on 2 cores shared by three processes: Node, ffmpeg, and the embedded S3's own process. */
function cpuShares(timed: Timed<unknown>): string {
  const shares = [`Node ${s(timed.cpuMs)}`];
  if (timed.endedChildrenCpuMs !== undefined) shares.push(`ffmpeg ${s(timed.endedChildrenCpuMs)}`);
  if (timed.runningChildrenCpuMs !== undefined) shares.push(`embedded S3 ${s(timed.runningChildrenCpuMs)}`);
  return shares.join(', ');
}

const stepTimes = (steps: StepView[]) => steps.map((step) => `${step.name} ${s(step.durationMs ?? NaN)}`).join(', ');

async function peakMemory(ffmpeg: string, dir: string, file: string, limits: PreprocessLimits): Promise<ChildReport> {
  // A bare embedded S3: an upload here starts no pipeline run that would compete for the CPU.
  const bucket = 'bench-memory';
  const store = await startEmbeddedS3({ directory: path.join(dir, 's3-memory'), port: 0, bucket, onEvent: () => undefined });
  try {
    const client = new S3Client({ region: 'us-east-1', endpoint: store.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    const key = keys.upload('bench-sixty-minutes', path.basename(file));
    await new Upload({ client, params: { Bucket: bucket, Key: key, Body: createReadStream(file) } }).done();
    client.destroy();
    // Bundled like the Lambda (serverless-esbuild), so the TypeScript loader's memory is not counted.
    const bundle = path.join(dir, 'preprocess-child.cjs');
    await build({
      entryPoints: [path.join(__dirname, 'lib', 'preprocess-child.ts')],
      bundle: true,
      platform: 'node',
      target: 'node22',
      format: 'cjs',
      outfile: bundle,
      external: ['ffmpeg-static'],
      logLevel: 'error',
    });
    const request = { endpoint: store.endpoint, bucket, key, id: 'bench-sixty-minutes', ffmpeg, limits };
    // With the V8 flags every Preprocess process runs with (the Lambda's NODE_OPTIONS, the embedded runtime's slots).
    const { stdout } = await promisify(execFile)(process.execPath, [...PREPROCESS_V8_FLAGS, bundle, JSON.stringify(request)], { maxBuffer: 1 << 20 });
    return JSON.parse(stdout) as ChildReport;
  } finally {
    await store.close();
  }
}

async function main() {
  const ffmpeg = resolveFfmpeg();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pipeline-bench-'));
  const config = loadRuntimeConfig({ ...process.env, DATA_DIR: path.join(dir, 'data') });
  const limits: PreprocessLimits = { maxUploadBytes: config.MAX_UPLOAD_BYTES, maxDurationSec: config.MAX_DURATION_SEC, minDurationSec: config.MIN_DURATION_SEC };
  let runtime: RuntimeHandle | undefined;
  try {
    process.stdout.write('Making the test files with ffmpeg … ');
    const generated = performance.now();
    const files = await makeMusicFiles(ffmpeg, dir);
    console.log(s(performance.now() - generated));
    const sizeMb = (file: string) => (statSync(file).size / 1_000_000).toFixed(1);
    console.log(`3-minute file: ${sizeMb(files.threeMinutes)} MB; 3-second: ${sizeMb(files.threeSeconds)} MB; 60-minute: ${sizeMb(files.sixtyMinutes)} MB`);
    console.log(`node ${process.version}, ${os.availableParallelism()} cores, ffmpeg ${ffmpeg}\n`);

    // ------------------------------------------------------------------ floor
    await ffmpegToNull(ffmpeg, files.threeMinutes); // page cache, binary loaded
    const floorRun = await bestOf(3, () => ffmpegToNull(ffmpeg, files.threeMinutes));
    const floor = floorRun.ms;

    // ------------------------------------------------------------------ runtime: whole runs
    runtime = await startRuntime({ DATA_DIR: config.DATA_DIR, SITE: 'off', PORT: '0', S3_PORT: '0', SFN_PORT: '0' }, () => undefined);
    // The client the preprocess function itself builds.
    const s3 = createS3Client({ AWS_REGION: runtime.region, S3_ENDPOINT: runtime.s3Endpoint });
    await wholeRun(runtime, s3, files.threeSeconds); // warm-up: first-call costs (module init, JIT) are not the music's
    let short: WholeRun | undefined;
    let long: WholeRun | undefined;
    for (let i = 0; i < 3; i++) {
      const shortRun = await wholeRun(runtime, s3, files.threeSeconds);
      const longRun = await wholeRun(runtime, s3, files.threeMinutes);
      if (!short || shortRun.ms < short.ms) short = shortRun;
      if (!long || longRun.ms < long.ms) long = longRun;
    }

    // ------------------------------------------------------------------ preprocess alone
    const store = createS3Store(s3, runtime.bucket);
    const uploadKey = keys.upload('bench-preprocess', 'three-minutes.mp3');
    await s3.send(new PutObjectCommand({ Bucket: runtime.bucket, Key: uploadKey, Body: await readFile(files.threeMinutes) }));
    // That upload starts a whole run too; it must be over before timing. Its execution appears only once the S3
    // event has gone through the start function, so idle() right after the PUT could find nothing yet and the run
    // (its preprocess in a pool process, Caption and Summarize in this one) would be measured with the first calls.
    await untilFinished(runtime, runtime.executions.executionArn('bench-preprocess'));
    await runtime.executions.idle();
    let round = 0;
    // The whole runs above preprocessed in the pool's processes, so this process has not yet run preprocessUpload:
    // its first call also compiles the SDK's and the descriptors' code (0.3-0.4 s more of Node's CPU). It is shown
    // apart, as the whole runs' warm-up is left out; the figure against the target is the best of 3 after it.
    const firstCall = await bestOf(1, () => preprocessUpload({ id: `bench-preprocess-${round++}`, key: uploadKey }, { store, ffmpeg, limits }));
    const preprocess = await bestOf(3, () => preprocessUpload({ id: `bench-preprocess-${round++}`, key: uploadKey }, { store, ffmpeg, limits }));

    // ------------------------------------------------------------------ where the time goes
    const stages: Array<[string, number, number]> = [];
    const stage = async (label: string, measure: () => Promise<unknown>) => {
      const best = await bestOf(3, measure);
      stages.push([label, best.ms, best.cpuMs]);
    };
    await stage('ffmpeg → Node pipe, bytes dropped', () => ffmpegIntoPipe(ffmpeg, files.threeMinutes));
    await stage('decodeAudio from the file (+ int16 → float32)', () => decodeAll(ffmpeg, files.threeMinutes));
    await stage('decodeAudio from the S3 stream', async () => decodeAll(ffmpeg, await store.getStream(uploadKey)));
    // The file's own channels as ffmpeg's second output gives them to the meter (16-bit, 6 dB down), in 64-KB pieces.
    const fileChannels = await fileChannelsOf(ffmpeg, files.threeMinutes);
    await stage('  FileLoudnessMeter alone, in memory (44.1 kHz stereo)', async () => {
      const meter = new FileLoudnessMeter(44_100, 2, channelWeights('stereo', 2));
      for (let at = 0; at < fileChannels.length; at += 32_768) meter.push(fileChannels.subarray(at, at + 32_768), LOUDNESS_SAMPLE_SCALE);
      meter.finish();
    });
    const decoded: Float32Array[] = [];
    await decodeAll(ffmpeg, files.threeMinutes, (chunk) => decoded.push(chunk));
    const totalSamples = decoded.reduce((sum, chunk) => sum + chunk.length, 0);
    await stage('  TrackAnalyzer alone, in memory (descriptors)', async () => {
      const analyzer = new TrackAnalyzer(SAMPLE_RATE);
      for (const chunk of decoded) analyzer.push(chunk);
      analyzer.finish(planWindows(totalSamples));
    });
    const windows: Window[] = [];
    await stage('  Windower + .npy encoding alone, in memory', async () => {
      windows.length = 0;
      const windower = new Windower();
      for (const chunk of decoded) for (const window of windower.push(chunk)) windows.push({ ...window, samples: encodeNpyFloat32(window.samples) as never });
      windower.finish();
    });
    const npys = windows.map((window) => window.samples as unknown as Buffer);
    let putRound = 0;
    await stage(`  S3 puts alone (${npys.length} windows, 4 at a time)`, async () => {
      const prefix = `chunks/bench-puts-${putRound++}/windows/`;
      let n = 0;
      await inPool(npys, 4, (body) => store.put(`${prefix}${keys.windowFile(n++)}`, body, 'application/octet-stream'));
    });
    await stage('decodeAudio + TrackAnalyzer', async () => {
      const analyzer = new TrackAnalyzer(SAMPLE_RATE);
      const samples = await decodeAll(ffmpeg, files.threeMinutes, (chunk) => analyzer.push(chunk));
      analyzer.finish(planWindows(samples));
    });

    // ------------------------------------------------------------------ memory on 60 minutes
    const memory = await peakMemory(ffmpeg, dir, files.sixtyMinutes, limits);

    // ------------------------------------------------------------------ report
    const preprocessRatio = preprocess.ms / floor;
    // All the CPU the run used (Node, ffmpeg, the embedded S3), shared by every core at once: a lower bound on its wall time.
    const cores = os.availableParallelism();
    const cpuBound = (preprocess.cpuMs + (preprocess.endedChildrenCpuMs ?? 0) + (preprocess.runningChildrenCpuMs ?? 0)) / cores;
    const extra = long!.ms - short!.ms;
    const extraRatio = extra / floor;
    const rows: Array<[string, string, string]> = [
      ['floor: ffmpeg decode of the 3-minute file to 16 kHz mono', s(floor), floorRun.endedChildrenCpuMs === undefined ? '' : `(ffmpeg CPU ${s(floorRun.endedChildrenCpuMs)})`],
      ['preprocess, 3-minute file (embedded S3)', `${s(preprocess.ms)} = ${preprocessRatio.toFixed(2)}× floor`, `target ≤ ${TARGET_PREPROCESS_RATIO}×  ${mark(preprocessRatio <= TARGET_PREPROCESS_RATIO)}   (CPU: ${cpuShares(preprocess)})`],
      [
        `  its CPU spread evenly over ${cores} cores`,
        `${s(cpuBound)} = ${(cpuBound / floor).toFixed(2)}× floor`,
        '(no schedule of its three processes can end sooner: the least this machine allows)',
      ],
      ['  its first call in this process (code compiled)', `${s(firstCall.ms)} = ${(firstCall.ms / floor).toFixed(2)}× floor`, `(CPU: ${cpuShares(firstCall)})`],
      ['whole run, 3-minute file (upload → result)', s(long!.ms), stepTimes(long!.steps)],
      ['whole run, 3-second file', s(short!.ms), stepTimes(short!.steps)],
      ['3-minute run − 3-second run', `${s(extra)} = ${extraRatio.toFixed(2)}× floor`, `target ≤ ${TARGET_EXTRA_RUN_RATIO}×  ${mark(extraRatio <= TARGET_EXTRA_RUN_RATIO)}`],
      [
        'preprocess peak memory, 60-minute file',
        `${memory.maxRssMb.toFixed(0)} MB`,
        `target ≤ ${TARGET_PEAK_MB} MB  ${mark(memory.maxRssMb <= TARGET_PEAK_MB)}   (${memory.startRssMb.toFixed(0)} MB at start; V8 heap ≤ ${memory.peakHeapMb.toFixed(0)} MB, outside it ≤ ${memory.peakExternalMb.toFixed(0)} MB; ${memory.windows} windows in ${memory.seconds.toFixed(1)} s)`,
      ],
    ];
    const width = Math.max(...rows.map(([label]) => label.length));
    const valueWidth = Math.max(...rows.map(([, value]) => value.length));
    console.log('Best of 3 each:');
    for (const [label, value, note] of rows) console.log(`  ${label.padEnd(width)}  ${value.padEnd(valueWidth)}  ${note}`);
    console.log('\nWhere preprocess time goes (3-minute file, best of 3; ffmpeg runs beside Node on another core):');
    const stageWidth = Math.max(...stages.map(([label]) => label.length));
    const stageRow = (label: string, ms: number, cpuMs: number) =>
      console.log(`  ${label.padEnd(stageWidth)}  ${s(ms)}  ${(ms / floor).toFixed(2)}× floor   Node CPU ${s(cpuMs)}`);
    for (const [label, ms, cpuMs] of stages) stageRow(label, ms, cpuMs);
    stageRow('whole preprocessUpload', preprocess.ms, preprocess.cpuMs);

    if (jsonFile) {
      await writeFile(jsonFile, JSON.stringify({
        floorMs: floor, preprocessMs: preprocess.ms, preprocessNodeCpuMs: preprocess.cpuMs, preprocessRatio,
        preprocessFirstCallMs: firstCall.ms, preprocessFirstCallNodeCpuMs: firstCall.cpuMs,
        preprocessFfmpegCpuMs: preprocess.endedChildrenCpuMs, preprocessEmbeddedS3CpuMs: preprocess.runningChildrenCpuMs, preprocessCpuBoundMs: cpuBound, cores,
        wholeRun3MinMs: long!.ms, wholeRun3SecMs: short!.ms, extraMs: extra, extraRatio,
        steps3Min: long!.steps, steps3Sec: short!.steps,
        memory, stages: Object.fromEntries(stages.map(([label, ms, cpuMs]) => [label, { ms, cpuMs }])),
      }, null, 2));
    }
    s3.destroy();
  } finally {
    await runtime?.stop();
    if (keep) console.log(`\nFiles kept in ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: Error) => {
  console.error(`bench failed: ${error.stack ?? error.message}`);
  process.exit(1);
});
