/**
 * The run reader's ports (core/run-reader.ts) on S3 and Step Functions: real AWS, or s3rver and the embedded
 * Step Functions endpoint on one machine. The site, the CLI and the test helpers all read runs through these.
 */
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { paginateGetExecutionHistory, type SFNClient } from '@aws-sdk/client-sfn';
import { localQueuePosition } from '#core/run-queue';
import type { ExecutionEvent, ExecutionHistories, RunObjects, RunReaderPorts } from '#core/run-reader';
import { createS3Store } from './s3-store.ts';

/**
 * JSON documents and first keys from one bucket. Missing is S3's NoSuchKey / NotFound / 404 (s3-store.ts's
 * rule), and also a 403 for a key that a listing does not show: S3 answers a missing key with 403 rather than
 * 404 unless it counts the caller's s3:ListBucket, and the site's is limited by an s3:prefix condition. Listing
 * that exact key (allowed under results/) tells "not written yet" from a real refusal, which still surfaces.
 */
export function s3RunObjects(s3: S3Client, bucket: string): RunObjects {
  const store = createS3Store(s3, bucket);
  const first = async (prefix: string) => {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: 1 }));
    const object = listed.Contents?.[0];
    return object?.Key ? { key: object.Key, lastModified: object.LastModified } : undefined;
  };
  return {
    first,
    async getJson<T>(key: string) {
      try {
        return await store.getJson<T>(key);
      } catch (error) {
        if (error instanceof Error && error.name === 'AccessDenied' && (await first(key))?.key !== key) return undefined;
        throw error;
      }
    },
  };
}

/** GetExecutionHistory, every page of it; no such execution (ExecutionDoesNotExist) reads as undefined. */
export function sfnExecutionHistories(sfn: SFNClient): ExecutionHistories {
  return {
    async history(executionArn) {
      const events: ExecutionEvent[] = [];
      try {
        for await (const page of paginateGetExecutionHistory({ client: sfn, pageSize: 1000 }, { executionArn })) events.push(...(page.events ?? []));
      } catch (error) {
        if (error instanceof Error && error.name === 'ExecutionDoesNotExist') return undefined;
        throw error;
      }
      return events;
    },
  };
}

export interface RunSourceOptions {
  s3: S3Client;
  sfn: SFNClient;
  bucket: string;
  stateMachineArn: string;
  /** The embedded runtime's Step Functions endpoint, which also says where a run waits in its queue; unset in AWS. */
  localSfnEndpoint?: string;
  /** Cuts short a queue question in flight (the CLI's Ctrl-C). */
  signal?: AbortSignal;
}

/** The reader's ports for one deployment. */
export function runReaderPorts(options: RunSourceOptions): RunReaderPorts {
  const { localSfnEndpoint, signal } = options;
  return {
    stateMachineArn: options.stateMachineArn,
    objects: s3RunObjects(options.s3, options.bucket),
    executions: sfnExecutionHistories(options.sfn),
    runsAhead: localSfnEndpoint ? (executionArn) => localQueuePosition(localSfnEndpoint, executionArn, signal) : undefined,
  };
}
