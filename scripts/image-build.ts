/**
 * `npm run image:build [-- --stage dev]`: builds the captioning image in CodeBuild (no Docker needed here).
 *
 * Zips sagemaker/ (without its tests), uploads it to s3://{UploadBucketName}/build/caption-image.zip, starts the
 * stack's CodeBuild project on it with sagemaker/buildspec.yml, and prints the build's CloudWatch log until the
 * build ends. Exits 0 only when the build SUCCEEDED. `--zip-only FILE` writes the zip and stops (no AWS calls).
 * With Docker instead: `docker buildx build --platform linux/amd64 -t music-captioner-caption sagemaker/`.
 */
import { readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  BatchGetBuildsCommand,
  CodeBuildClient,
  StartBuildCommand,
  type BatchGetBuildsCommandOutput,
  type StartBuildCommandOutput,
} from '@aws-sdk/client-codebuild';
import { CloudWatchLogsClient, GetLogEventsCommand, type GetLogEventsCommandOutput } from '@aws-sdk/client-cloudwatch-logs';
import { PutObjectCommand, S3Client, type PutObjectCommandOutput } from '@aws-sdk/client-s3';
import { parseCommandLine } from '#core/command-line';
import { parseDeployTarget, readStackOutputs } from './lib/stack.ts';

export const SOURCE_DIR = path.resolve(__dirname, '..', 'sagemaker');
/** Where the CodeBuild project (serverless.yml, CaptionImageBuild) reads its source; its role may read build/*. */
export const SOURCE_KEY = 'build/caption-image.zip';
/** Never shipped to the image build: the tests, and what running them leaves behind. */
const EXCLUDED = new Set(['tests', '__pycache__', '.pytest_cache']);

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export class BuildFailed extends Error {
  override readonly name = 'BuildFailed';
}

export interface ImageBuildArgs {
  stage: string;
  zipOnly?: string;
}

export const USAGE = 'usage: npm run image:build -- [--stage STAGE] [--zip-only FILE]   (STAGE defaults to $STAGE or dev)';

export function parseImageBuildArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ImageBuildArgs {
  const { values } = parseCommandLine(argv, { stage: { type: 'string' }, 'zip-only': { type: 'string' } }, (problem) => new UsageError(`${problem}. ${USAGE}`));
  const args: ImageBuildArgs = { stage: values.stage ?? (env.STAGE?.trim() || 'dev') };
  if (values['zip-only'] !== undefined) args.zipOnly = values['zip-only'];
  if (!/^[a-z0-9-]+$/.test(args.stage)) throw new UsageError(`stage "${args.stage}" must be lower-case letters, digits or dashes`);
  return args;
}

interface Sends<Output> {
  send(command: never): Promise<Output>;
}

/** The files of sagemaker/ that the image build needs, relative to it, sorted. */
export function sourceFiles(dir: string = SOURCE_DIR): string[] {
  const found: string[] = [];
  const walk = (relative: string) => {
    for (const entry of readdirSync(path.join(dir, relative), { withFileTypes: true })) {
      if (EXCLUDED.has(entry.name) || entry.name.endsWith('.pyc')) continue;
      const child = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile()) found.push(child);
    }
  };
  walk('');
  return found.sort();
}

export async function zipSource(dir: string = SOURCE_DIR): Promise<Buffer> {
  // archiver is ESM-only: loaded when a zip is made, so importing this module stays cheap.
  const { ZipArchive } = await import('archiver');
  const archive = new ZipArchive({ zlib: { level: 9 } });
  const chunks: Buffer[] = [];
  archive.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<void>((resolve, reject) => {
    archive.on('end', resolve);
    archive.on('error', reject);
  });
  for (const file of sourceFiles(dir)) {
    // Fixed dates keep the zip the same for the same files.
    archive.file(path.join(dir, file), { name: file, date: new Date('2020-01-01T00:00:00Z') });
  }
  await archive.finalize();
  await done;
  return Buffer.concat(chunks);
}

export async function uploadSource(s3: Sends<PutObjectCommandOutput>, bucket: string, zip: Buffer): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: SOURCE_KEY, Body: zip, ContentType: 'application/zip' }) as never);
}

export async function startImageBuild(
  codeBuild: Sends<StartBuildCommandOutput>,
  project: string,
  bucket: string,
  repositoryUri: string,
): Promise<string> {
  const started = await codeBuild.send(
    new StartBuildCommand({
      projectName: project,
      sourceTypeOverride: 'S3',
      sourceLocationOverride: `${bucket}/${SOURCE_KEY}`,
      buildspecOverride: 'buildspec.yml',
      environmentVariablesOverride: [{ name: 'REPOSITORY_URI', value: repositoryUri, type: 'PLAINTEXT' }],
    }) as never,
  );
  const id = started.build?.id;
  if (!id) throw new BuildFailed(`CodeBuild did not start ${project}`);
  return id;
}

export interface FollowOptions {
  print: (line: string) => void;
  sleep?: (ms: number) => Promise<void>;
  pollMs?: number;
}

/** Prints the build's phases and log lines until it ends; returns its final status (SUCCEEDED, FAILED, …). */
export async function followBuild(
  codeBuild: Sends<BatchGetBuildsCommandOutput>,
  logs: Sends<GetLogEventsCommandOutput>,
  buildId: string,
  { print, sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms)), pollMs = 5000 }: FollowOptions,
): Promise<string> {
  // Hand-written rather than paginateGetLogEvents: a live tail keeps its token across polls while the build
  // runs, and the stream may not exist yet; the paginator starts afresh each time and stops at the first end.
  let token: string | undefined;
  let phase: string | undefined;
  const drain = async (group: string, stream: string) => {
    for (;;) {
      let page: GetLogEventsCommandOutput;
      try {
        page = await logs.send(
          new GetLogEventsCommand({ logGroupName: group, logStreamName: stream, startFromHead: true, nextToken: token }) as never,
        );
      } catch (error) {
        // The stream appears only once the build container has started.
        if ((error as Error).name === 'ResourceNotFoundException') return;
        throw error;
      }
      for (const event of page.events ?? []) print((event.message ?? '').replace(/\s+$/, ''));
      if (!page.nextForwardToken || page.nextForwardToken === token) return;
      token = page.nextForwardToken;
    }
  };
  for (;;) {
    const { builds } = await codeBuild.send(new BatchGetBuildsCommand({ ids: [buildId] }) as never);
    const build = builds?.[0];
    if (!build) throw new BuildFailed(`CodeBuild knows no build ${buildId}`);
    if (build.currentPhase && build.currentPhase !== phase) {
      phase = build.currentPhase;
      print(`── ${phase}`);
    }
    const finished = build.buildStatus !== undefined && build.buildStatus !== 'IN_PROGRESS';
    if (build.logs?.groupName && build.logs.streamName) {
      // CloudWatch lags the build by a few seconds: one more pause before the last read.
      if (finished) await sleep(pollMs);
      await drain(build.logs.groupName, build.logs.streamName);
    }
    if (finished) return build.buildStatus as string;
    await sleep(pollMs);
  }
}

async function main(): Promise<number> {
  const args = parseImageBuildArgs(process.argv.slice(2), process.env);
  const zip = await zipSource();
  if (args.zipOnly) {
    await writeFile(args.zipOnly, zip);
    console.log(`wrote ${args.zipOnly} (${sourceFiles().length} files, ${zip.length} bytes)`);
    return 0;
  }
  const outputs = await readStackOutputs(parseDeployTarget(['--stage', args.stage], process.env));
  await uploadSource(new S3Client({}), outputs.UploadBucketName, zip);
  console.log(`uploaded sagemaker/ (${zip.length} bytes) to s3://${outputs.UploadBucketName}/${SOURCE_KEY}`);
  const codeBuild = new CodeBuildClient({});
  const buildId = await startImageBuild(
    codeBuild,
    outputs.CaptionImageBuildProjectName,
    outputs.UploadBucketName,
    outputs.CaptionRepositoryUri,
  );
  console.log(`started ${buildId}; the image goes to ${outputs.CaptionRepositoryUri}:latest`);
  const status = await followBuild(codeBuild, new CloudWatchLogsClient({}), buildId, { print: (line) => console.log(line) });
  console.log(`build ${buildId}: ${status}`);
  return status === 'SUCCEEDED' ? 0 : 1;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (error: Error) => {
      console.error(`${error.name}: ${error.message}`);
      process.exit(1);
    },
  );
}
