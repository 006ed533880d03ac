/**
 * `npm run deploy:web [-- --stage dev --region us-east-1]`: builds the site (frontend/, Next.js standalone), uploads
 * the bundle to Beanstalk's storage bucket, makes it an application version and points the stack's environment at it
 * with the configuration read from the stack's outputs. ACCESS_TOKEN in the shell, when set, gates the site.
 *
 * `npm run deploy:web -- --bundle-only FILE [--built-app DIR]` builds the zip and stops (no AWS calls); with
 * `--built-app`, it bundles the existing `next build` output of the app in DIR instead of building frontend/.
 */
import { join, resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import {
  CreateApplicationVersionCommand,
  CreateStorageLocationCommand,
  DescribeEnvironmentsCommand,
  DescribeEventsCommand,
  ElasticBeanstalkClient,
  UpdateEnvironmentCommand,
} from '@aws-sdk/client-elastic-beanstalk';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { parseCommandLine } from '#core/command-line';
import { parseDeployTarget, readStackOutputs, type DeployTarget } from './lib/stack.ts';
import { buildWebBundle, siteEnvironment } from './lib/web-bundle.ts';

export const ROOT = resolve(__dirname, '..');
export const APP_DIR = join(ROOT, 'frontend');

export class EnvironmentUpdateFailed extends Error {
  readonly name = 'EnvironmentUpdateFailed';
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Waits until the environment is Ready again; fails when its health turns Red or Beanstalk reports an error. */
async function waitForEnvironment(client: ElasticBeanstalkClient, environmentName: string, since: Date): Promise<void> {
  const deadline = Date.now() + 20 * 60_000;
  let seen = since;
  for (;;) {
    const events = await client.send(
      new DescribeEventsCommand({ EnvironmentName: environmentName, StartTime: seen }),
    );
    for (const event of [...(events.Events ?? [])].reverse()) {
      console.log(`  ${event.EventDate?.toISOString()} ${event.Severity} ${event.Message}`);
      if (event.EventDate && event.EventDate > seen) seen = new Date(event.EventDate.getTime() + 1);
      if (event.Severity === 'ERROR') throw new EnvironmentUpdateFailed(`${environmentName}: ${event.Message}`);
    }
    const { Environments } = await client.send(
      new DescribeEnvironmentsCommand({ EnvironmentNames: [environmentName], IncludeDeleted: false }),
    );
    const environment = Environments?.[0];
    if (environment?.Status === 'Ready') {
      if (environment.Health === 'Red') throw new EnvironmentUpdateFailed(`${environmentName} is Ready but its health is Red.`);
      return;
    }
    if (Date.now() > deadline) throw new EnvironmentUpdateFailed(`${environmentName} was not Ready after 20 minutes.`);
    await sleep(10_000);
  }
}

export async function deployWeb(target: DeployTarget, accessToken?: string): Promise<string> {
  const outputs = await readStackOutputs(target);
  const label = `web-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  const bundle = await buildWebBundle({ rootDir: ROOT, appDir: APP_DIR, zipPath: join(ROOT, '.serverless', `${label}.zip`) });
  console.log(`bundle: ${bundle.zipPath} (${(bundle.bytes / 1e6).toFixed(1)} MB, starts ${bundle.serverEntry})`);

  const beanstalk = new ElasticBeanstalkClient({ region: target.region });
  // elasticbeanstalk-{region}-{account}: the bucket the instance profile may read bundles from.
  const { S3Bucket: storage } = await beanstalk.send(new CreateStorageLocationCommand({}));
  const key = `${outputs.BeanstalkApplicationName}/${label}.zip`;
  await new S3Client({ region: target.region }).send(
    new PutObjectCommand({ Bucket: storage, Key: key, Body: readFileSync(bundle.zipPath), ContentType: 'application/zip' }),
  );
  await beanstalk.send(
    new CreateApplicationVersionCommand({
      ApplicationName: outputs.BeanstalkApplicationName,
      VersionLabel: label,
      SourceBundle: { S3Bucket: storage, S3Key: key },
      Process: true,
    }),
  );
  const since = new Date();
  await beanstalk.send(
    new UpdateEnvironmentCommand({
      EnvironmentName: outputs.BeanstalkEnvironmentName,
      VersionLabel: label,
      OptionSettings: siteEnvironment(outputs, target.region, accessToken),
    }),
  );
  console.log(`deploying ${label} to ${outputs.BeanstalkEnvironmentName} …`);
  await waitForEnvironment(beanstalk, outputs.BeanstalkEnvironmentName, since);
  return outputs.SiteUrl;
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseCommandLine(
    argv,
    { 'bundle-only': { type: 'string' }, 'built-app': { type: 'string' }, stage: { type: 'string' }, region: { type: 'string' } },
    (problem) => new Error(`${problem}: npm run deploy:web -- [--stage STAGE] [--region REGION] | --bundle-only ZIP [--built-app DIR]`),
  );
  const zipPath = values['bundle-only'];
  const builtApp = values['built-app'];
  if (builtApp !== undefined && zipPath === undefined) throw new Error('--built-app goes with --bundle-only.');
  if (zipPath !== undefined) {
    const bundle = await buildWebBundle({
      rootDir: ROOT,
      appDir: builtApp ? resolve(builtApp) : APP_DIR,
      zipPath: resolve(zipPath),
      build: builtApp === undefined,
    });
    console.log(`${bundle.zipPath} (${bundle.bytes} bytes) starts ${bundle.serverEntry}`);
    return;
  }
  const siteUrl = await deployWeb(parseDeployTarget(argv, process.env), process.env.ACCESS_TOKEN);
  console.log(`site: ${siteUrl}`);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error: Error) => {
    console.error(`${error.name}: ${error.message}`);
    process.exit(1);
  });
}
