/**
 * Runs the Caption state's `createProcessingJob.sync` on this machine with SageMaker's contract: every
 * ProcessingInput is copied from S3 to its LocalPath (here, a folder per job under DATA_DIR), the captioner
 * runs on those folders, and every ProcessingOutput's LocalPath is uploaded to its S3 URI. It answers like
 * DescribeProcessingJob, and a failed job fails the state with States.TaskFailed and the job's description
 * as the cause, as in AWS.
 */
import { GetObjectCommand, paginateListObjectsV2, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { Log } from '../functions/shared/log.ts';
import { namedError } from './lambda.ts';
import type { LocalCaptioner } from './captioners/types.ts';

interface S3InputSpec {
  InputName: string;
  S3Input: { S3Uri: string; LocalPath: string };
}
interface S3OutputSpec {
  OutputName: string;
  S3Output: { S3Uri: string; LocalPath: string };
}
export interface ProcessingJobRequest {
  ProcessingJobName: string;
  ProcessingInputs: S3InputSpec[];
  ProcessingOutputConfig: { Outputs: S3OutputSpec[] };
  Environment?: Record<string, string>;
}

const CONTAINER_ROOT = '/opt/ml/processing/';

export function parseS3Uri(uri: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!match) throw new Error(`not an S3 URI: ${uri}`);
  return { bucket: match[1], prefix: match[2] };
}

export function createProcessingRunner(options: { s3: S3Client; jobsDir: string; captioner: LocalCaptioner; modelDir?: string; log: Log; keepJobFolders?: boolean }) {
  const { s3, log } = options;

  const hostPath = (jobDir: string, containerPath: string) => {
    if (!containerPath.startsWith(CONTAINER_ROOT)) throw new Error(`LocalPath must be under ${CONTAINER_ROOT}: ${containerPath}`);
    return path.join(jobDir, containerPath.slice(CONTAINER_ROOT.length));
  };

  async function download(uri: string, into: string, contents = true): Promise<number> {
    const { bucket, prefix } = parseS3Uri(uri);
    await mkdir(into, { recursive: true });
    let count = 0;
    for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: prefix })) {
      for (const item of page.Contents ?? []) {
        const key = item.Key!;
        const relative = key.slice(prefix.length).replace(/^\/+/, '') || path.posix.basename(key);
        const target = path.join(into, relative);
        await mkdir(path.dirname(target), { recursive: true });
        if (contents) {
          const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
          await pipeline(object.Body as Readable, createWriteStream(target));
        } else {
          await writeFile(target, '');
        }
        count++;
      }
    }
    return count;
  }

  async function upload(from: string, uri: string): Promise<number> {
    const { bucket, prefix } = parseS3Uri(uri);
    const base = prefix.endsWith('/') || prefix === '' ? prefix : `${prefix}/`;
    let count = 0;
    for (const entry of await readdir(from, { withFileTypes: true, recursive: true })) {
      if (!entry.isFile()) continue;
      const full = path.join(entry.parentPath, entry.name);
      const key = base + path.relative(from, full).split(path.sep).join('/');
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: await readFile(full), ContentType: full.endsWith('.json') ? 'application/json' : undefined }));
      count++;
    }
    return count;
  }

  return async function runProcessingJob(request: ProcessingJobRequest, signal?: AbortSignal) {
    const jobDir = path.join(options.jobsDir, request.ProcessingJobName);
    const started = new Date();
    await rm(jobDir, { recursive: true, force: true });
    try {
      const local = new Map<string, string>();
      for (const input of request.ProcessingInputs) {
        const into = hostPath(jobDir, input.S3Input.LocalPath);
        const files = await download(input.S3Input.S3Uri, into, input.InputName !== 'windows' || options.captioner.readsAudio);
        local.set(input.InputName, into);
        log('info', 'processing input ready', { job: request.ProcessingJobName, input: input.InputName, files });
      }
      const outputs = request.ProcessingOutputConfig.Outputs;
      const captionsOut = outputs.find((o) => o.OutputName === 'captions') ?? outputs[0];
      const outputDir = hostPath(jobDir, captionsOut.S3Output.LocalPath);
      await mkdir(outputDir, { recursive: true });
      const manifestDir = local.get('manifest');
      const windowsDir = local.get('windows');
      if (!manifestDir || !windowsDir) throw new Error('the job needs a "windows" and a "manifest" input');
      signal?.throwIfAborted();
      await options.captioner.run({
        windowsDir,
        manifestPath: path.join(manifestDir, 'manifest.json'),
        outputDir,
        modelDir: options.modelDir ?? local.get('model'),
        log: (line) => log('info', line, { job: request.ProcessingJobName }),
      });
      signal?.throwIfAborted();
      for (const output of outputs) await upload(hostPath(jobDir, output.S3Output.LocalPath), output.S3Output.S3Uri);
      return {
        ProcessingJobName: request.ProcessingJobName,
        ProcessingJobStatus: 'Completed',
        ProcessingStartTime: started.toISOString(),
        ProcessingEndTime: new Date().toISOString(),
        ProcessingOutputConfig: request.ProcessingOutputConfig,
      };
    } catch (error) {
      const err = error instanceof Error ? error : new Error(String(error));
      const reason = `${err.name === 'Error' ? 'AlgorithmError' : err.name}: ${err.message}`.slice(0, 1024);
      log('warn', 'processing job failed', { job: request.ProcessingJobName, reason });
      throw namedError(
        'States.TaskFailed',
        JSON.stringify({ ProcessingJobName: request.ProcessingJobName, ProcessingJobStatus: 'Failed', FailureReason: reason }),
      );
    } finally {
      if (!options.keepJobFolders) await rm(jobDir, { recursive: true, force: true });
    }
  };
}
