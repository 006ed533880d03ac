/**
 * start: an S3 ObjectCreated event under uploads/ → one Step Functions execution, named after the upload
 * id. S3 delivers events at least once; a second StartExecution with the same name starts nothing new.
 */
import { StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { keys } from '#core/contract';
import { uploadRefFromKey } from '#core/ids';
import { jsonLog, type Log } from '../shared/log.ts';

export interface S3EventRecordLike {
  eventName?: string;
  s3: { bucket: { name: string }; object: { key: string } };
}
export interface S3EventLike {
  Records?: S3EventRecordLike[];
}

/** S3 event keys are URL-encoded with '+' for spaces. */
export function decodeS3Key(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, ' '));
}

export function createStartHandler(deps: { sfn: SFNClient; stateMachineArn: string; log?: Log }) {
  const log = deps.log ?? jsonLog;
  return async (event: S3EventLike): Promise<{ started: string[]; duplicates: string[] }> => {
    const started: string[] = [];
    const duplicates: string[] = [];
    for (const record of event.Records ?? []) {
      if (!record.eventName?.startsWith('ObjectCreated')) continue;
      const key = decodeS3Key(record.s3.object.key);
      if (!key.startsWith(keys.uploadPrefix)) continue;
      const { id } = uploadRefFromKey(key);
      try {
        const execution = await deps.sfn.send(
          new StartExecutionCommand({ stateMachineArn: deps.stateMachineArn, name: id, input: JSON.stringify({ id, bucket: record.s3.bucket.name, key }) }),
        );
        log('info', 'started execution', { id, key, executionArn: execution.executionArn });
        started.push(execution.executionArn!);
      } catch (error) {
        if ((error as Error).name !== 'ExecutionAlreadyExists') throw error;
        log('info', 'duplicate S3 event: the execution for this upload already exists', { id, key });
        duplicates.push(id);
      }
    }
    return { started, duplicates };
  };
}
