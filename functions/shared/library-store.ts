/** The store core/library.ts needs, on S3 (real S3 in AWS, s3rver on one machine): a BlobStore that can also delete. */
import { DeleteObjectsCommand, type S3Client } from '@aws-sdk/client-s3';
import type { BlobStore } from '#core/blob-store';
import type { Remover } from '#core/library';
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

export function s3LibraryStore(s3: S3Client, bucket: string): BlobStore & Remover {
  return { ...createS3Store(s3, bucket), ...s3Remover(s3, bucket) };
}
