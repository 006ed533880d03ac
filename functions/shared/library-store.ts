/** The store core/library.ts needs, on S3 (real S3 in AWS, s3rver on one machine): a BlobStore that can also delete. */
import { DeleteObjectsCommand, ListObjectsCommand, type S3Client } from '@aws-sdk/client-s3';
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

/**
 * Every key under a prefix, a page of 1000 at a time, each page starting after the last key of the one before
 * (ListObjects' Marker). Not ListObjectsV2: s3rver makes a V2 continuation token for every truncated page with
 * DES, which OpenSSL 3 (Node ≥ 17) no longer has, so the embedded S3 fails every V2 listing past 1000 keys;
 * V1 with a marker reads the same on S3 and s3rver, under the same s3:ListBucket permission.
 */
export async function listAfter(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const found: string[] = [];
  for (;;) {
    const page = await s3.send(new ListObjectsCommand({ Bucket: bucket, Prefix: prefix, Marker: found.at(-1) }));
    for (const item of page.Contents ?? []) if (item.Key) found.push(item.Key);
    if (!page.IsTruncated || !page.Contents?.length) return found;
  }
}

export function s3LibraryStore(s3: S3Client, bucket: string): BlobStore & Remover {
  return { ...createS3Store(s3, bucket), list: (prefix) => listAfter(s3, bucket, prefix), ...s3Remover(s3, bucket) };
}
