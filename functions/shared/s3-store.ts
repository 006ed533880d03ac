/** The BlobStore the core asks for, on S3 (real S3 in AWS, s3rver on one machine). */
import { GetObjectCommand, HeadObjectCommand, paginateListObjectsV2, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Readable } from 'node:stream';
import type { BlobStore } from '#core/blob-store';

export function createS3Client(config: { AWS_REGION: string; S3_ENDPOINT?: string }): S3Client {
  return new S3Client({
    region: config.AWS_REGION,
    ...(config.S3_ENDPOINT ? { endpoint: config.S3_ENDPOINT, forcePathStyle: true } : {}),
    // The SDK's default CRC32 of every upload runs in JavaScript on the thread that feeds ffmpeg; TLS and S3's
    // own MD5 check already cover the windows, so checksums are sent only where an operation requires one.
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
}

/**
 * SigV4 with the literal UNSIGNED-PAYLOAD instead of the body's SHA-256 (AWS's "unsigned payload option" for a
 * single-chunk upload, what the Java SDK does by default over HTTPS): the SDK otherwise hashes every window on the
 * thread that reads ffmpeg, 11.5 MB per 3 minutes, ~11 ms of its CPU. The request itself stays signed; TLS covers
 * the bytes in AWS, loopback in the embedded S3.
 */
function signWithoutPayloadHash(command: PutObjectCommand): PutObjectCommand {
  command.middlewareStack.add(
    (next) => (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers) request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
      return next(args);
    },
    { step: 'build', name: 'unsignedPayload' },
  );
  return command;
}

const isMissing = (error: unknown) =>
  error instanceof S3ServiceException && (error.name === 'NotFound' || error.name === 'NoSuchKey' || error.$metadata.httpStatusCode === 404);

export function createS3Store(client: S3Client, bucket: string): BlobStore {
  return {
    bucket,
    async head(key) {
      try {
        const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        return { sizeBytes: head.ContentLength ?? 0, contentType: head.ContentType };
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
    },
    async getStream(key) {
      const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return object.Body as Readable;
    },
    async getBytes(key) {
      const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from(await object.Body!.transformToByteArray());
    },
    async getJson<T>(key: string) {
      try {
        const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return JSON.parse(await object.Body!.transformToString('utf8')) as T;
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
    },
    async put(key, body, contentType) {
      await client.send(signWithoutPayloadHash(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType })));
    },
    async list(prefix) {
      const found: string[] = [];
      for await (const page of paginateListObjectsV2({ client }, { Bucket: bucket, Prefix: prefix })) {
        for (const item of page.Contents ?? []) if (item.Key) found.push(item.Key);
      }
      return found;
    },
    presignGet(key, expiresInSec) {
      return getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: expiresInSec });
    },
  };
}

/** One store per bucket, sharing the client: the events name their bucket. */
export function storesFor(client: S3Client): (bucket: string) => BlobStore {
  const stores = new Map<string, BlobStore>();
  return (bucket) => {
    let store = stores.get(bucket);
    if (!store) stores.set(bucket, (store = createS3Store(client, bucket)));
    return store;
  };
}
