/**
 * The embedded S3: s3rver on loopback in a process of its own (runtime/s3-process.mts says why), data under
 * DATA_DIR, CORS open so the site's browser uploads and plays straight from it. Its object events are delivered
 * the way S3 delivers them to a Lambda: keys URL-encoded, one record per event.
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import { keys } from '../core/contract.ts';
import type { S3EventLike } from '../functions/start/start.ts';
import type { UploadTurns } from './s3-semantics.mts';

/**
 * People's uploads, read one at a time, oldest first (runtime/s3-semantics.mts says why): the store has one thread,
 * and reading one upload whole before the next finishes each as soon as it can be. In `npm run bench:queue` the
 * first of 20 uploads' runs finished at 1.55–1.77× a run alone (six runs) with one at a time and up to 3 s of
 * waiting, against 1.52–2.41× (nine runs) with two at a time and 1 s, where the uploads still waiting all went at
 * once while the first run was measuring. Three seconds is the longest any upload waits behind a slow one.
 */
const UPLOAD_TURNS: UploadTurns = { keyPrefix: keys.uploadPrefix, slots: 1, maxWaitMs: 3000 };

const CORS = `<?xml version="1.0" encoding="UTF-8"?>
<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <CORSRule>
    <AllowedOrigin>*</AllowedOrigin>
    <AllowedMethod>GET</AllowedMethod>
    <AllowedMethod>HEAD</AllowedMethod>
    <AllowedMethod>PUT</AllowedMethod>
    <AllowedMethod>POST</AllowedMethod>
    <AllowedHeader>*</AllowedHeader>
    <ExposeHeader>ETag</ExposeHeader>
    <MaxAgeSeconds>3000</MaxAgeSeconds>
  </CORSRule>
</CORSConfiguration>`;

/** S3 event notifications URL-encode keys, with '+' for spaces. */
export function encodeS3EventKey(key: string): string {
  return key
    .split('/')
    .map((part) => encodeURIComponent(part).replace(/%20/g, '+'))
    .join('/');
}

export interface EmbeddedS3 {
  endpoint: string;
  /** The S3 process's id (its CPU time is not the runtime's). */
  pid: number;
  close(): Promise<void>;
}

export async function startEmbeddedS3(options: {
  directory: string;
  port: number;
  bucket: string;
  onEvent: (event: S3EventLike) => void;
  /** How people's uploads take turns (UPLOAD_TURNS unless a test says otherwise). */
  uploadTurns?: UploadTurns;
}): Promise<EmbeddedS3> {
  const child = fork(path.join(__dirname, 's3-process.mts'), [JSON.stringify({ directory: options.directory, port: options.port, bucket: options.bucket, cors: CORS, uploadTurns: options.uploadTurns ?? UPLOAD_TURNS })], {
    // Plain Node, not the parent's loader: the legacy provider for s3rver's DES continuation tokens, and no
    // notice that type stripping is new.
    execArgv: ['--openssl-legacy-provider', '--disable-warning=ExperimentalWarning'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`The embedded S3 process ended before it listened (exit code ${code}).`)));
    child.once('error', reject);
    child.on('message', (message: { type: string; port?: number; message?: string; event?: S3EventLike }) => {
      if (message.type === 'listening') resolve(message.port!);
      else if (message.type === 'failed') reject(new Error(message.message));
      else if (message.type === 'event') {
        for (const record of message.event?.Records ?? []) {
          options.onEvent({ Records: [{ ...record, s3: { ...record.s3, object: { ...record.s3.object, key: encodeS3EventKey(record.s3.object.key) } } }] });
        }
      }
    });
  }).catch(async (error: Error) => {
    child.kill();
    await exited;
    throw error;
  });
  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    close: () =>
      (closing ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.send({ type: 'close' });
        await exited;
      })()),
  };
}
