/** The store core/library.ts needs, on S3 (real S3 in AWS, s3rver on one machine): a BlobStore that can also delete. */
import { DeleteObjectsCommand, GetObjectCommand, PutObjectCommand, S3ServiceException, type S3Client } from '@aws-sdk/client-s3';
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
        const bytes = await object.Body!.transformToByteArray();
        const text = isGzip(bytes) ? (await gunzip(bytes)).toString('utf8') : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
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
            Body: await gzip(body, { level: 1 }),
            ContentType: 'application/gzip',
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
