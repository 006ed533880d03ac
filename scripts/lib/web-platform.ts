/**
 * The Elastic Beanstalk platform the site runs on, pinned by ARN: chosen once (the newest "Node.js 22 running on
 * 64bit Amazon Linux 2023" of the region), recorded in .deploy/web-platform.json, and changed only when asked
 * (`npm run deploy -- --upgrade-platform`). The serverless plugin serverless-web-platform.cts reads the same record,
 * so a plain `npx sls deploy` keeps the platform `npm run deploy` chose.
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { PlatformSummary } from '@aws-sdk/client-elastic-beanstalk';

export const RECORD_FILE = join('.deploy', 'web-platform.json');
export const NODE_22_BRANCH = 'Node.js 22 running on 64bit Amazon Linux 2023';

/** The record's key for one stack: stage and region. */
const recordKey = (stage: string, region: string) => `${stage} ${region}`;

function readRecord(rootDir: string): Record<string, string> {
  const file = join(rootDir, RECORD_FILE);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>) : {};
}

export function recordedPlatform(rootDir: string, stage: string, region: string): string | undefined {
  return readRecord(rootDir)[recordKey(stage, region)];
}

export function recordPlatform(rootDir: string, stage: string, region: string, platformArn: string): void {
  const file = join(rootDir, RECORD_FILE);
  const record = { ...readRecord(rootDir), [recordKey(stage, region)]: platformArn };
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
}

const versionOf = (summary: PlatformSummary) => (summary.PlatformVersion ?? '').split('.').map(Number);

/** The newest Ready platform version of the Node.js 22 on Amazon Linux 2023 branch, comparing versions as numbers. */
export function newestNode22Platform(summaries: readonly PlatformSummary[]): string | undefined {
  return summaries
    .filter((summary) => summary.PlatformBranchName === NODE_22_BRANCH && summary.PlatformStatus === 'Ready' && summary.PlatformArn)
    .sort((a, b) => {
      const [x, y] = [versionOf(a), versionOf(b)];
      for (let i = 0; i < Math.max(x.length, y.length); i += 1) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
      return 0;
    })
    .at(-1)?.PlatformArn;
}

export type PlatformSource = 'given' | 'recorded' | 'stack' | 'newest';

export interface PlatformChoice {
  platformArn: string;
  source: PlatformSource;
}

export class NoPlatformAvailable extends Error {
  readonly name = 'NoPlatformAvailable';
}

/**
 * Which platform this deploy uses: the one given with --param, else (unless upgrading) the recorded one, else the
 * one the deployed stack already runs, else the newest of the region. Lookups are lazy: only what is needed is asked.
 */
export async function choosePlatform(options: {
  given?: string;
  upgrade: boolean;
  recorded?: string;
  deployed: () => Promise<string | undefined>;
  newest: () => Promise<string | undefined>;
  region: string;
}): Promise<PlatformChoice> {
  if (options.given) return { platformArn: options.given, source: 'given' };
  if (!options.upgrade && options.recorded) return { platformArn: options.recorded, source: 'recorded' };
  if (!options.upgrade) {
    const deployed = await options.deployed();
    if (deployed) return { platformArn: deployed, source: 'stack' };
  }
  const newest = await options.newest();
  if (!newest) throw new NoPlatformAvailable(`Elastic Beanstalk offers no Ready "${NODE_22_BRANCH}" platform in ${options.region}.`);
  return { platformArn: newest, source: 'newest' };
}
