/** `serverless package` offline, as the template and deploy tests run it. */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

const ROOT = resolve(__dirname, '..', '..');

/** A real Node.js 22 platform ARN of eu-west-1; `npm run deploy` records the newest of the region instead. */
export const TEST_PLATFORM_ARN = 'arn:aws:elasticbeanstalk:eu-west-1::platform/Node.js 22 running on 64bit Amazon Linux 2023/6.6.0';

export function slsPackage(options: { stage: string; region?: string; outDir: string; ffmpegBinary: string; params?: string[] }) {
  const sls = require.resolve('serverless/bin/serverless.js', { paths: [ROOT] });
  const region = options.region ? ['--region', options.region] : [];
  const params = options.params ?? [`--param=webPlatformArn=${TEST_PLATFORM_ARN}`];
  return promisify(execFile)(process.execPath, [sls, 'package', '--stage', options.stage, ...region, ...params, '--package', options.outDir], {
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
