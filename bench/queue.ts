/**
 * `npm run bench:queue`: many uploads at once on the embedded runtime, with its fair queue and without it.
 *
 * It times one 3-minute run alone, then N uploads of it at once (default 20) twice: with the queue as
 * configured (MAX_CONCURRENT_RUNS, default the number of cores; each slot's Preprocess in a process of its own,
 * the first run's at the normal CPU priority and the others' lower) and with every run let in at once, all in
 * one process (the runtime before the queue). It prints when the first run finished, the median and 95th percentile, and
 * the time until the last one finished (the throughput), beside issue 12's targets: the first within 2× a run
 * alone, and the whole batch no slower than without the queue.
 *
 * Then the CLI as a person runs it on a folder of those N songs: `npm run caption -- <folder>` with
 * --concurrency 1 (one after another) and with its default, against the target of at most 1.2× the time of
 * one after another.
 *
 * Options: --runs N (uploads at once), --song three-minutes|three-seconds, --slots N (the queue's size),
 * --no-cli (leave out the CLI's timing).
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { execFile } from 'node:child_process';
import { link, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { keys } from '../core/contract.ts';
import { resolveFfmpeg } from '../core/ffmpeg.ts';
import { newUploadId } from '../core/ids.ts';
import { createS3Client } from '../functions/shared/s3-store.ts';
import { startRuntime, type RuntimeHandle, type RuntimeOptions } from '../runtime/main.ts';
import { makeMusicFiles } from './lib/music.ts';
import { processCpuSeconds } from './lib/proc-cpu.ts';

const TARGET_FIRST_VS_ALONE = 2;
const TARGET_TOTAL_VS_UNQUEUED = 1;
const TARGET_CLI_BATCH_VS_SEQUENTIAL = 1.2;

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    song: { type: 'string', default: 'three-minutes' },
    slots: { type: 'string', default: String(os.availableParallelism()) },
    'no-cli': { type: 'boolean', default: false },
  },
  strict: true,
});
const runs = Number(values.runs);
const slots = Number(values.slots);
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(slots) || slots < 1 || !['three-minutes', 'three-seconds'].includes(values.song)) {
  console.error('Usage: npm run bench:queue -- [--runs N] [--song three-minutes|three-seconds] [--slots N]');
  process.exit(2);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const mark = (ok: boolean) => (ok ? '✓' : '✗');
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

/**
 * Uploads the file as the site's page does (a presigned POST form that the browser sends straight to the store:
 * frontend/lib/server/uploads.ts) and resolves with the milliseconds from `since` until its result document is
 * there. curl stands in for the people's browsers: native code in processes of their own, as a browser's upload
 * is, rather than twenty uploads encoded by the runtime's own JavaScript thread.
 */
async function run(runtime: RuntimeHandle, s3: S3Client, file: string, since: number): Promise<number> {
  const id = newUploadId();
  const { url, fields } = await createPresignedPost(s3, { Bucket: runtime.bucket, Key: keys.upload(id, path.basename(file)), Fields: { 'Content-Type': 'audio/mpeg' } });
  const form = Object.entries(fields).flatMap(([name, value]) => ['-F', `${name}=${value}`]);
  const { stdout: status } = await promisify(execFile)('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', ...form, '-F', `file=@${file};type=audio/mpeg`, url]);
  if (!status.startsWith('2')) throw new Error(`upload of run ${id} answered ${status}`);
  const arn = runtime.executions.executionArn(id);
  for (;;) {
    const record = runtime.executions.list().find((candidate) => candidate.executionArn === arn);
    if (record && record.status !== 'RUNNING') {
      if (record.status !== 'SUCCEEDED') throw new Error(`run ${id} ended ${record.status}: ${record.error} ${record.cause}`);
      break;
    }
    await sleep(10);
  }
  await s3.send(new GetObjectCommand({ Bucket: runtime.bucket, Key: keys.result(id) }));
  return performance.now() - since;
}

/**
 * CPU seconds this process and its ended children (the embedded S3, the Preprocess processes, every ffmpeg and
 * curl) have used; undefined off Linux. Read after the runtime stopped, it is the work a batch cost, whatever
 * share of a shared machine it got.
 */
function cpuSeconds(): number | undefined {
  const cpu = processCpuSeconds();
  return cpu && cpu.own + cpu.endedChildren;
}

async function withRuntime<T>(dir: string, maxRuns: number, measure: (runtime: RuntimeHandle, s3: S3Client) => Promise<T>, options: RuntimeOptions = {}): Promise<T> {
  const runtime = await startRuntime(
    { DATA_DIR: path.join(dir, `data-${maxRuns}-${options.preprocessInProcess ? 'here' : 'slots'}`), SITE: 'off', PORT: '0', MAX_CONCURRENT_RUNS: String(maxRuns) },
    () => undefined,
    options,
  );
  const s3 = createS3Client({ AWS_REGION: runtime.region, S3_ENDPOINT: runtime.s3Endpoint });
  try {
    return await measure(runtime, s3);
  } finally {
    s3.destroy();
    await runtime.stop();
  }
}

interface Batch {
  first: number;
  p50: number;
  p95: number;
  last: number;
  /** CPU seconds the batch (and its runtime's start and stop) cost, when the OS tells. */
  cpu?: number;
}

async function batch(dir: string, maxRuns: number, file: string, options: RuntimeOptions = {}): Promise<Batch> {
  const cpuBefore = cpuSeconds();
  const measured = await withRuntime(dir, maxRuns, async (runtime, s3) => {
    await run(runtime, s3, file, performance.now()); // warm-up: module init and JIT are not the queue's
    const since = performance.now();
    const times = (await Promise.all(Array.from({ length: runs }, () => run(runtime, s3, file, since)))).sort((a, b) => a - b);
    return { first: times[0], p50: percentile(times, 50), p95: percentile(times, 95), last: times.at(-1)! };
  }, options);
  const cpuAfter = cpuSeconds();
  return { ...measured, ...(cpuBefore !== undefined && cpuAfter !== undefined ? { cpu: cpuAfter - cpuBefore } : {}) };
}

/** Wall time of `npm run caption -- <folder> …` in a process of its own, with its own runtime. */
async function cliBatch(dir: string, folder: string, extra: string[], label: string): Promise<number> {
  const started = performance.now();
  await promisify(execFile)(
    path.join(process.cwd(), 'node_modules', '.bin', 'tsx'),
    ['runtime/cli.ts', folder, '--out', path.join(dir, `out-${label}`), ...extra],
    { env: { ...process.env, DATA_DIR: path.join(dir, `data-cli-${label}`) }, maxBuffer: 1 << 24 },
  );
  return performance.now() - started;
}

async function main() {
  const ffmpeg = resolveFfmpeg();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'queue-bench-'));
  try {
    const files = await makeMusicFiles(ffmpeg, dir);
    const file = values.song === 'three-seconds' ? files.threeSeconds : files.threeMinutes;
    console.log(`node ${process.version}, ${os.availableParallelism()} cores; ${runs} uploads of the ${values.song} song at once\n`);

    const alone = await withRuntime(dir, slots, async (runtime, s3) => {
      await run(runtime, s3, file, performance.now());
      let best = Infinity;
      for (let i = 0; i < 3; i++) best = Math.min(best, await run(runtime, s3, file, performance.now()));
      return best;
    });
    const queued = await batch(dir, slots, file);
    // The runtime as it was before the queue: every run at once, all in one process.
    const unqueued = await batch(dir, runs, file, { preprocessInProcess: true });

    const line = (label: string, b: Batch) =>
      `${label.padEnd(26)} first ${s(b.first).padStart(8)}  p50 ${s(b.p50).padStart(8)}  p95 ${s(b.p95).padStart(8)}  all done ${s(b.last).padStart(8)}` +
      (b.cpu === undefined ? '' : `  CPU ${b.cpu.toFixed(1)} s`);
    console.log(`one run alone              ${s(alone)}`);
    console.log(line(`queue of ${slots}`, queued));
    console.log(line(`no queue (${runs} at once)`, unqueued));
    const firstRatio = queued.first / alone;
    const totalRatio = queued.last / unqueued.last;
    console.log(`\n${mark(firstRatio <= TARGET_FIRST_VS_ALONE)} first finished in ${firstRatio.toFixed(2)}× a run alone (target ≤ ${TARGET_FIRST_VS_ALONE}×)`);
    console.log(`${mark(totalRatio <= TARGET_TOTAL_VS_UNQUEUED + 0.05)} all ${runs} done in ${totalRatio.toFixed(2)}× the time without the queue (target ≤ ${TARGET_TOTAL_VS_UNQUEUED}×, ±5 % noise)`);
    if (queued.cpu !== undefined && unqueued.cpu !== undefined) {
      // On a machine others are using too, 2 runs' processes get a smaller share of it than 20 runs' 20 ffmpegs do:
      // the CPU each batch cost tells the work apart from the share.
      const load = os.loadavg()[0];
      console.log(`  the queued batch cost ${(queued.cpu / unqueued.cpu).toFixed(2)}× the CPU of the unqueued one (load average now ${load.toFixed(1)} on ${os.availableParallelism()} cores)`);
    }

    if (!values['no-cli']) {
      const folder = path.join(dir, 'folder');
      await mkdir(folder);
      for (let i = 0; i < runs; i++) await link(file, path.join(folder, `song-${String(i).padStart(2, '0')}${path.extname(file)}`));
      const sequential = await cliBatch(dir, folder, ['--concurrency', '1'], 'sequential');
      const together = await cliBatch(dir, folder, [], 'default');
      const cliRatio = together / sequential;
      console.log(`\nnpm run caption -- <folder of ${runs}>   one after another ${s(sequential)}   --concurrency ${os.availableParallelism()} (default) ${s(together)}`);
      console.log(`${mark(cliRatio <= TARGET_CLI_BATCH_VS_SEQUENTIAL)} the batch took ${cliRatio.toFixed(2)}× the time of one after another (target ≤ ${TARGET_CLI_BATCH_VS_SEQUENTIAL}×)`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
