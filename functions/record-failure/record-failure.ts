/** recordFailure: the caught error → results/{id}.json (FAILED) and the name/sentence the Fail state shows. */
import type { BlobStore } from '#core/blob-store';
import { recordFailure, type CaughtError } from '#core/failure';

export interface RecordFailureEvent {
  id: string;
  bucket: string;
  key?: string;
  step?: string;
  error?: CaughtError;
}

export function createRecordFailureHandler(deps: { storeFor: (bucket: string) => BlobStore }) {
  return (event: RecordFailureEvent) => recordFailure({ id: event.id, step: event.step, error: event.error }, deps.storeFor(event.bucket));
}
