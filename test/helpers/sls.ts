/** `serverless package` offline, as the template and deploy tests run it. */
import { execFile } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const ROOT = resolve(__dirname, '..', '..');

/** A real Node.js 22 platform ARN of eu-west-1; `npm run deploy` records the newest of the region instead. */
export const TEST_PLATFORM_ARN = 'arn:aws:elasticbeanstalk:eu-west-1::platform/Node.js 22 running on 64bit Amazon Linux 2023/6.6.0';

/** Packaging writes into the service folder (.esbuild/, layers/ffmpeg/): one `sls package` at a time per checkout. */
const LOCK = join(tmpdir(), `sls-package-${Buffer.from(ROOT).toString('hex').slice(-24)}.lock`);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function oneAtATime<T>(body: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      closeSync(openSync(LOCK, 'wx'));
      writeFileSync(LOCK, String(process.pid));
      break;
    } catch {
      const holder = Number((() => { try { return readFileSync(LOCK, 'utf8'); } catch { return '0'; } })());
      if (holder && !alive(holder)) rmSync(LOCK, { force: true });
      await new Promise((next) => setTimeout(next, 500));
    }
  }
  try {
    return await body();
  } finally {
    rmSync(LOCK, { force: true });
  }
}

export function slsPackage(options: { stage: string; region?: string; outDir: string; ffmpegBinary: string; params?: string[] }) {
  return oneAtATime(() => slsPackageNow(options));
}

function slsPackageNow(options: { stage: string; region?: string; outDir: string; ffmpegBinary: string; params?: string[] }) {
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
