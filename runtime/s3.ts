/**
 * The embedded S3: s3rver on loopback, data under DATA_DIR, CORS open so the site's browser uploads and
 * plays straight from it. Its object events are delivered the way S3 delivers them to a Lambda: keys
 * URL-encoded, one record per event.
 */
import S3rver from 's3rver';
import type { S3EventLike } from '../functions/start/start.ts';

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

export async function startEmbeddedS3(options: { directory: string; port: number; bucket: string; onEvent: (event: S3EventLike) => void }) {
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port,
    silent: true,
    directory: options.directory,
    configureBuckets: [{ name: options.bucket, configs: [CORS] }],
  });
  // s3rver reports a busy port as an 'error' event, not a rejection: turn it into one.
  const { port } = await new Promise<{ address: string; port: number }>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new Error(`The embedded S3 cannot listen on port ${options.port}: it is already in use (set S3_PORT).`) : error),
    );
    server.run().then(resolve, reject);
  });
  // A client that hangs up mid-response (ffmpeg, reading an upload, sometimes closes a connection before the end
  // of the body) is no error of the store's; without a listener, s3rver's 'error' event would throw in whatever
  // process hosts the runtime.
  server.on('error', (error: Error) => {
    if (!/ECONNRESET|EPIPE|ECONNABORTED/.test(error.message)) console.error(`embedded S3: ${error.message}`);
  });
  server.on('event', (event: S3EventLike) => {
    for (const record of event.Records ?? []) {
      options.onEvent({ Records: [{ ...record, s3: { ...record.s3, object: { ...record.s3.object, key: encodeS3EventKey(record.s3.object.key) } } }] });
    }
  });
  return { endpoint: `http://127.0.0.1:${port}`, close: () => server.close() };
}
