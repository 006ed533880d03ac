/**
 * One preprocess run in a process of its own, so its peak memory is its own: `node preprocess-child.js
 * '<json>'` with { endpoint, bucket, key, id, ffmpeg, limits }; prints { maxRssMb, startRssMb, seconds,
 * windows, durationSec } as JSON. The bench bundles it with esbuild first, as the Lambda is bundled, so
 * the figure is not the TypeScript loader's.
 */
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
}

async function main() {
  const request = JSON.parse(process.argv[2]) as ChildRequest;
  const startRssMb = process.memoryUsage().rss / 1024 / 1024;
  // The client the preprocess function itself builds (s3rver's credentials come from the environment).
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  const client = createS3Client({ AWS_REGION: 'us-east-1', S3_ENDPOINT: request.endpoint });
  const started = performance.now();
  const result = await preprocessUpload(
    { id: request.id, key: request.key },
    { store: createS3Store(client, request.bucket), ffmpeg: request.ffmpeg, limits: request.limits },
  );
  const report: ChildReport = {
    // resourceUsage().maxRSS is in kilobytes: the peak resident set of this process (ffmpeg is a process of its own).
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    startRssMb,
    seconds: (performance.now() - started) / 1000,
    windows: result.windowCount,
    durationSec: result.durationSec,
  };
  client.destroy();
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`${error.name}: ${error.message}\n`);
  process.exit(1);
});
