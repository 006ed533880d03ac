/** Boots the embedded runtime in a temp DATA_DIR and drives it the way a user's upload does. */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { RunDocument } from '#core/contract';
import { readRun, readRunDocument, type RunReaderPorts, type RunReading } from '#core/run-reader';
import { runReaderPorts } from '../../functions/shared/run-sources.ts';
import { startRuntime, type RuntimeHandle } from '../../runtime/main.ts';
import { FFMPEG, tempDir } from './audio.ts';

export interface TestRuntime extends RuntimeHandle {
  dataDir: string;
  s3: S3Client;
  /** The run reader's ports on this runtime's S3 and Step Functions endpoint, as the site and the CLI make them. */
  reader: RunReaderPorts;
  upload(id: string, file: string, name?: string): Promise<string>;
  /** results/{id}.json; undefined until it is written. */
  result(id: string): Promise<RunDocument | undefined>;
  /** The run as core/run-reader.ts reads it. */
  read(id: string): Promise<RunReading | undefined>;
  /** Waits until the upload's execution exists and every execution has ended. */
  settle(id: string, timeoutMs?: number): Promise<void>;
}

export async function bootRuntime(overrides: Record<string, string> = {}, dataDir = tempDir('captioner-runtime-')): Promise<TestRuntime> {
  const runtime = await startRuntime({ DATA_DIR: dataDir, PORT: '0', SITE: 'off', FFMPEG_BIN: FFMPEG, ...overrides }, () => undefined);
  const s3 = new S3Client({ region: runtime.region, endpoint: runtime.s3Endpoint, forcePathStyle: true });
  const sfn = new SFNClient({ region: runtime.region, endpoint: runtime.sfnEndpoint });
  const reader = runReaderPorts({ s3, sfn, bucket: runtime.bucket, stateMachineArn: runtime.stateMachineArn, localSfnEndpoint: runtime.sfnEndpoint });
  return Object.assign(runtime, {
    dataDir,
    s3,
    reader,
    async upload(id: string, file: string, name = path.basename(file)) {
      const key = `uploads/${id}/${name}`;
      await s3.send(new PutObjectCommand({ Bucket: runtime.bucket, Key: key, Body: readFileSync(file) }));
      return key;
    },
    result: (id: string) => readRunDocument(reader.objects, id),
    read: (id: string) => readRun(reader, id),
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
