/**
 * `npm run model:upload -- <transfer.pth> [--stage dev] [--python python3]`
 *
 * LP-MusicCaps' transfer.pth (https://huggingface.co/seungheondoh/lp-music-caps, CC-BY-NC 4.0) is a training
 * checkpoint of 1.78 GB, most of it optimizer state. This keeps only the state_dict (with Python + torch, through
 * the container's own music_captioner.strip_checkpoint) and uploads it to the stack's ModelS3Uri as
 * transfer.pth, which the Caption step mounts as its `model` input channel.
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { SOURCE_DIR, UsageError } from './image-build.ts';
import { parseCommandLine } from '#core/command-line';
import { parseDeployTarget, readStackOutputs } from './lib/stack.ts';

export const WEIGHTS_FILE = 'transfer.pth';

export class TorchUnavailable extends Error {
  override readonly name = 'TorchUnavailable';
}

export class StripFailed extends Error {
  override readonly name = 'StripFailed';
}

export interface ModelUploadArgs {
  checkpoint: string;
  stage: string;
  python: string;
}

export const USAGE = 'usage: npm run model:upload -- <transfer.pth> [--stage STAGE] [--python PYTHON]';

export function parseModelUploadArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ModelUploadArgs {
  const { values, positionals } = parseCommandLine(
    argv,
    { stage: { type: 'string' }, python: { type: 'string' } },
    (problem) => new UsageError(`${problem}. ${USAGE}`),
    true,
  );
  if (positionals.length > 1) throw new UsageError(`unexpected argument ${positionals[1]}. ${USAGE}`);
  const checkpoint = positionals[0];
  const stage = values.stage ?? (env.STAGE?.trim() || 'dev');
  // The first python3 on PATH (a virtual environment's, when one is active), as the shell would run it.
  const python = values.python ?? (env.CAPTION_PYTHON?.trim() || 'python3');
  if (checkpoint === undefined) throw new UsageError(`name the transfer.pth to upload. ${USAGE}`);
  if (!/^[a-z0-9-]+$/.test(stage)) throw new UsageError(`stage "${stage}" must be lower-case letters, digits or dashes`);
  return { checkpoint: path.resolve(checkpoint), stage, python };
}

/** s3://bucket/prefix/ → the bucket and the key of transfer.pth under it. */
export function weightsLocation(modelS3Uri: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(modelS3Uri);
  if (!match) throw new UsageError(`ModelS3Uri "${modelS3Uri}" is not an s3:// address`);
  const prefix = match[2] === '' || match[2].endsWith('/') ? match[2] : `${match[2]}/`;
  return { bucket: match[1], key: `${prefix}${WEIGHTS_FILE}` };
}

export interface StripResult {
  inputBytes: number;
  outputBytes: number;
  tensors: number;
}

/** Writes output with the checkpoint's state_dict alone; needs a Python with torch. */
export function stripCheckpoint(python: string, input: string, output: string): Promise<StripResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, ['-m', 'music_captioner.strip_checkpoint', input, output], {
      env: { ...process.env, PYTHONPATH: SOURCE_DIR },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'ENOENT'
          ? new TorchUnavailable(`${python} was not found: pass --python (or set CAPTION_PYTHON) to a Python with torch`)
          : error,
      ),
    );
    child.on('close', (code) => {
      if (code === 0) {
        const report = JSON.parse(stdout.trim().split('\n').pop() ?? '{}');
        resolve({ inputBytes: report.input_bytes, outputBytes: report.output_bytes, tensors: report.tensors });
      } else if (stderr.includes('torch is needed')) {
        reject(
          new TorchUnavailable(
            `${python} has no torch, which reading transfer.pth needs: pip install torch (the CPU build is enough), or pass --python (or set CAPTION_PYTHON) to a Python that has it`,
          ),
        );
      } else {
        reject(new StripFailed(`could not strip ${input} (exit ${code}): ${stderr.trim().split('\n').slice(-3).join(' ')}`));
      }
    });
  });
}

/** Multipart upload with progress; returns the s3:// address written. */
export async function uploadWeights(
  s3: S3Client,
  file: string,
  bucket: string,
  key: string,
  onProgress: (loaded: number, total: number) => void,
): Promise<string> {
  const { size } = await stat(file);
  const upload = new Upload({
    client: s3,
    params: { Bucket: bucket, Key: key, Body: createReadStream(file), ContentType: 'application/octet-stream' },
    partSize: 16 * 1024 * 1024,
    queueSize: 4,
  });
  upload.on('httpUploadProgress', (progress) => onProgress(progress.loaded ?? 0, progress.total ?? size));
  await upload.done();
  return `s3://${bucket}/${key}`;
}

async function main(): Promise<number> {
  const args = parseModelUploadArgs(process.argv.slice(2), process.env);
  await stat(args.checkpoint).catch(() => {
    throw new UsageError(`${args.checkpoint} does not exist (download transfer.pth from https://huggingface.co/seungheondoh/lp-music-caps)`);
  });
  const outputs = await readStackOutputs(parseDeployTarget(['--stage', args.stage], process.env));
  const { bucket, key } = weightsLocation(outputs.ModelS3Uri);
  const scratch = await mkdtemp(path.join(tmpdir(), 'model-upload-'));
  try {
    const stripped = path.join(scratch, WEIGHTS_FILE);
    console.log(`keeping only the state_dict of ${args.checkpoint} …`);
    const result = await stripCheckpoint(args.python, args.checkpoint, stripped);
    const mb = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;
    console.log(`${result.tensors} tensors, ${mb(result.inputBytes)} → ${mb(result.outputBytes)}`);
    let lastShown = -1;
    const uri = await uploadWeights(new S3Client({}), stripped, bucket, key, (loaded, total) => {
      const percent = Math.floor((100 * loaded) / total);
      if (percent >= lastShown + 10 || loaded === total) {
        lastShown = percent;
        console.log(`uploaded ${mb(loaded)} of ${mb(total)} (${percent} %)`);
      }
    });
    console.log(`done: ${uri}`);
    return 0;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
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
