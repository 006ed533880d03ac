/** The store core/library.ts needs, on S3 (real S3 in AWS, s3rver on one machine): a BlobStore that can also delete. */
import { DeleteObjectsCommand, GetObjectCommand, PutObjectCommand, S3ServiceException, type S3Client } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { BlobStore } from '#core/blob-store';
import type { IndexObjectStore, Remover } from '#core/library';
import { createS3Store } from './s3-store.ts';

/** S3's DeleteObjects, up to 1000 keys a call (deleteRun batches); any key S3 could not delete fails the call, named. */
export function s3Remover(s3: S3Client, bucket: string): Remover {
  return {
    async remove(removed) {
      if (removed.length === 0) return;
      const answer = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: removed.map((Key) => ({ Key })), Quiet: true } }));
      const failed = answer.Errors ?? [];
      if (failed.length > 0) throw new Error(`S3 did not delete ${failed.length} object(s), e.g. ${failed[0].Key}: ${failed[0].Code} ${failed[0].Message ?? ''}`);
    },
  };
}

const gzip = promisify(zlib.gzip);
const gunzip = promisify(zlib.gunzip);
/**
 * zlib's output buffer size for the index object. Node's default (16 KiB) makes an 11 MB inflate some 700 trips
 * between the thread pool and the event loop: 160–320 ms against 30 ms with 1 MiB buffers (measured for 10 000
 * runs; see bench/library.ts), and the first request of a fresh site waits on it.
 */
const ZLIB_CHUNK_BYTES = 1 << 20;
const GZIP_TYPE = 'application/gzip';
/** gzip's magic number: an index object written compressed (every one since this store compresses them). */
const isGzip = (bytes: Uint8Array) => bytes[0] === 0x1f && bytes[1] === 0x8b;

const statusOf = (error: unknown) => (error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined);

/**
 * The index object with S3's conditional writes: GetObject's ETag is the version, and PutObject with If-Match
 * (or If-None-Match: * when there was none) is refused with 412 PreconditionFailed when another writer came
 * first, or 409 ConditionalRequestConflict while one is writing; both mean "read again".
 *
 * The object is stored gzip-compressed (Content-Type application/gzip): 10 000 runs' JSON is about 11 MB and
 * reads as 1–2 MB, and a fresh site's first answer waits on this read. zlib runs on libuv's threads, off the one
 * that answers requests. An uncompressed object (from before) still reads.
 */
export function s3IndexObjects(s3: S3Client, bucket: string): IndexObjectStore {
  return {
    async readVersioned(key) {
      try {
        const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        if (object.ContentType === GZIP_TYPE) {
          // Inflated as it arrives, so the download and the inflating overlap instead of adding up.
          const inflated: Buffer[] = [];
          await pipeline(object.Body as Readable, zlib.createGunzip({ chunkSize: ZLIB_CHUNK_BYTES }), async (chunks: AsyncIterable<Buffer>) => {
            for await (const chunk of chunks) inflated.push(chunk);
          });
          return { text: Buffer.concat(inflated).toString('utf8'), version: object.ETag! };
        }
        const bytes = await object.Body!.transformToByteArray();
        const text = isGzip(bytes) ? (await gunzip(bytes, { chunkSize: ZLIB_CHUNK_BYTES })).toString('utf8') : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
        return { text, version: object.ETag! };
      } catch (error) {
        if (statusOf(error) === 404 || (error as Error).name === 'NoSuchKey') return undefined;
        throw error;
      }
    },
    async putIfVersion(key, body, version) {
      try {
        await s3.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: await gzip(body, { level: 1, chunkSize: ZLIB_CHUNK_BYTES }),
            ContentType: GZIP_TYPE,
            ...(version === undefined ? { IfNoneMatch: '*' } : { IfMatch: version }),
          }),
        );
        return true;
      } catch (error) {
        if (statusOf(error) === 412 || statusOf(error) === 409) return false;
        throw error;
      }
    },
  };
}

export function s3LibraryStore(s3: S3Client, bucket: string): BlobStore & Remover & IndexObjectStore {
  return { ...createS3Store(s3, bucket), ...s3Remover(s3, bucket), ...s3IndexObjects(s3, bucket) };
}
