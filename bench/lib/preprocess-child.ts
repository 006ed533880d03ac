/**
 * One preprocess run in a process of its own, so its peak memory is its own: `node preprocess-child.js
 * '<json>'` with { endpoint, bucket, key, id, ffmpeg, limits }; prints { maxRssMb, startRssMb, seconds,
 * windows, durationSec } as JSON. The bench bundles it with esbuild first, as the Lambda is bundled, so
 * the figure is not the TypeScript loader's.
 */
import { existsSync, readFileSync } from 'node:fs';
import { preprocessUpload, type PreprocessLimits } from '../../core/preprocess.ts';
import { createS3Client, createS3Store } from '../../functions/shared/s3-store.ts';

interface ChildRequest {
  endpoint: string;
  bucket: string;
  key: string;
  id: string;
  ffmpeg: string;
  limits: PreprocessLimits;
}

export interface ChildReport {
  maxRssMb: number;
  startRssMb: number;
  seconds: number;
  windows: number;
  durationSec: number;
  /** The largest V8 heap (heapTotal) and memory outside it (external) seen, sampled every 20 ms. */
  peakHeapMb: number;
  peakExternalMb: number;
}

/**
 * The peak resident set of this process (ffmpeg is a process of its own), in MB. On Linux from VmHWM in
 * /proc/self/status, which belongs to this program's memory and starts afresh at exec. Not from
 * resourceUsage().maxRSS: Linux keeps ru_maxrss across exec, and the process began as a fork of the bench, so
 * that figure was the bench's own size whenever the bench was the larger (157 MB reported for a 130 MB peak).
 * Elsewhere maxRSS is all there is.
 */
function peakRssMb(): number {
  const status = existsSync('/proc/self/status') ? readFileSync('/proc/self/status', 'utf8') : '';
  const highWater = /^VmHWM:\s+(\d+) kB/m.exec(status);
  return Number(highWater ? highWater[1] : process.resourceUsage().maxRSS) / 1024;
}

async function main() {
  const request = JSON.parse(process.argv[2]) as ChildRequest;
  const startRssMb = process.memoryUsage().rss / 1024 / 1024;
  // The client the preprocess function itself builds (s3rver's credentials come from the environment).
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  const client = createS3Client({ AWS_REGION: 'us-east-1', S3_ENDPOINT: request.endpoint });
  const started = performance.now();
  // Where the peak lies: V8's heap, or memory outside it (Buffers, typed arrays, WebAssembly memories).
  const peak = { heapMb: 0, externalMb: 0 };
  const sample = setInterval(() => {
    const usage = process.memoryUsage();
    peak.heapMb = Math.max(peak.heapMb, usage.heapTotal / 1024 / 1024);
    peak.externalMb = Math.max(peak.externalMb, usage.external / 1024 / 1024);
  }, 20);
  const result = await preprocessUpload(
    { id: request.id, key: request.key },
    { store: createS3Store(client, request.bucket), ffmpeg: request.ffmpeg, limits: request.limits },
  );
  const report: ChildReport = {
    maxRssMb: peakRssMb(),
    startRssMb,
    seconds: (performance.now() - started) / 1000,
    windows: result.windowCount,
    peakHeapMb: peak.heapMb,
    peakExternalMb: peak.externalMb,
    durationSec: result.durationSec,
  };
  clearInterval(sample);
  client.destroy();
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`${error.name}: ${error.message}\n`);
  process.exit(1);
});
