/**
 * The embedded S3's own process: s3rver, started by runtime/s3.ts with `fork`, its options as the one argument.
 *
 * Why a process of its own:
 * - Receiving uploads, storing windows and answering listings is JavaScript work (s3rver hashes and writes every
 *   body); in the runtime's process it competed with the Lambda handlers and the state machine for the one
 *   JavaScript thread, so a run in progress slowed down whenever others uploaded.
 * - s3rver makes the continuation token of a truncated ListObjectsV2 page with DES, which OpenSSL 3 moved to its
 *   legacy provider; this process alone starts with `--openssl-legacy-provider`, so listings past 1000 keys work,
 *   and nothing else in the runtime has the legacy ciphers.
 *
 * - Two things S3 guarantees and s3rver does not are added here (runtime/s3-semantics.mts): whole objects
 *   right after a write, and conditional writes; and people's uploads are read in turn, oldest first.
 *
 * Plain Node runs this file (type stripping, Node ≥ 22.18): it imports only s3rver, Node's own modules and its sibling .mts files, and
 * uses only erasable TypeScript.
 *
 * Messages to the parent: { type: 'listening', port } once, { type: 'failed', message } instead if it cannot
 * start, and { type: 'event', event } for each S3 event. From the parent: { type: 'close' }. The process also
 * ends when its parent does (the IPC channel closes), and ignores SIGINT/SIGTERM: a Ctrl-C reaches the whole
 * process group, and the runtime still reads and writes while it stops.
 */
import S3rver from 's3rver';
import { atomicWrites, conditionalWrites, uploadsInTurn, type UploadTurns } from './s3-semantics.mts';
import { childOfRuntime } from './child-process.mts';

interface S3ProcessOptions {
  directory: string;
  port: number;
  bucket: string;
  cors: string;
  uploadTurns: UploadTurns;
}

const { options, send } = childOfRuntime<S3ProcessOptions>();

const server = new S3rver({
  address: '127.0.0.1',
  port: options.port,
  silent: true,
  directory: options.directory,
  configureBuckets: [{ name: options.bucket, configs: [options.cors] }],
});
atomicWrites(server);
conditionalWrites(server);
uploadsInTurn(server, options.uploadTurns);

// s3rver reports a busy port as an 'error' event, not a rejection.
server.once('error', (error: NodeJS.ErrnoException) => {
  send({ type: 'failed', message: error.code === 'EADDRINUSE' ? `The embedded S3 cannot listen on port ${options.port}: it is already in use (set S3_PORT).` : error.message });
  process.exitCode = 1;
});
server.run().then(
  ({ port }) => {
    // A client that hangs up mid-response (ffmpeg, reading an upload, sometimes closes a connection before the
    // end of the body) is no error of the store's.
    // An answer S3 gives with a 4xx status (a failed precondition, a missing key) is no error of the store's either.
    server.on('error', (error: Error & { status?: number }) => {
      if ((error.status ?? 500) >= 500 && !/ECONNRESET|EPIPE|ECONNABORTED/.test(error.message)) console.error(`embedded S3: ${error.message}`);
    });
    server.on('event', (event: unknown) => send({ type: 'event', event }));
    send({ type: 'listening', port });
  },
  (error: Error) => {
    send({ type: 'failed', message: error.message });
    process.exitCode = 1;
  },
);

process.on('message', (message: { type?: string }) => {
  if (message?.type !== 'close') return;
  server.close().finally(() => process.exit(0));
});
