/** `serverless package` offline, as the template and deploy tests run it. */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

const ROOT = resolve(__dirname, '..', '..');

export function slsPackage(options: { stage: string; region?: string; outDir: string; ffmpegBinary: string }) {
  const sls = require.resolve('serverless/bin/serverless.js', { paths: [ROOT] });
  const region = options.region ? ['--region', options.region] : [];
  return promisify(execFile)(process.execPath, [sls, 'package', '--stage', options.stage, ...region, '--package', options.outDir], {
    cwd: ROOT,
    env: {
      ...process.env,
      // Packaging makes no AWS call; serverless still wants credentials to exist.
      AWS_ACCESS_KEY_ID: 'offline',
      AWS_SECRET_ACCESS_KEY: 'offline',
      SLS_TELEMETRY_DISABLED: '1',
      SLS_NOTIFICATIONS_MODE: 'off',
      FFMPEG_LAYER_BINARY: options.ffmpegBinary,
    },
    maxBuffer: 16 * 1024 * 1024,
  });
}
