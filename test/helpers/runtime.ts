/** Boots the embedded runtime in a temp DATA_DIR and drives it the way a user's upload does. */
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { RunDocument } from '#core/contract';
import { startRuntime, type RuntimeHandle } from '../../runtime/main.ts';
import { FFMPEG, tempDir } from './audio.ts';

export interface TestRuntime extends RuntimeHandle {
  dataDir: string;
  s3: S3Client;
  upload(id: string, file: string, name?: string): Promise<string>;
  result(id: string): Promise<RunDocument | undefined>;
  /** Waits until the upload's execution exists and every execution has ended. */
  settle(id: string, timeoutMs?: number): Promise<void>;
}

export async function bootRuntime(overrides: Record<string, string> = {}, dataDir = tempDir('captioner-runtime-')): Promise<TestRuntime> {
  const runtime = await startRuntime({ DATA_DIR: dataDir, PORT: '0', SITE: 'off', FFMPEG_BIN: FFMPEG, ...overrides }, () => undefined);
  const s3 = new S3Client({ region: runtime.region, endpoint: runtime.s3Endpoint, forcePathStyle: true });
  return Object.assign(runtime, {
    dataDir,
    s3,
    async upload(id: string, file: string, name = path.basename(file)) {
      const key = `uploads/${id}/${name}`;
      await s3.send(new PutObjectCommand({ Bucket: runtime.bucket, Key: key, Body: readFileSync(file) }));
      return key;
    },
    async result(id: string) {
      try {
        const object = await s3.send(new GetObjectCommand({ Bucket: runtime.bucket, Key: `results/${id}.json` }));
        return JSON.parse(await object.Body!.transformToString()) as RunDocument;
      } catch (error) {
        if ((error as Error).name === 'NoSuchKey') return undefined;
        throw error;
      }
    },
    async settle(id: string, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!runtime.executions.list().some((record) => record.name === id)) {
        if (Date.now() > deadline) throw new Error(`no execution named ${id} started`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await runtime.executions.idle();
    },
  });
}
