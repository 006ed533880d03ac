/** preprocess: {id, bucket, key} → windows and manifest in S3; returns only their keys. */
import type { BlobStore } from '#core/blob-store';
import { preprocessUpload, type PreprocessLimits, type PreprocessResult } from '#core/preprocess';

export interface PreprocessEvent {
  id: string;
  bucket: string;
  key: string;
}

export function createPreprocessHandler(deps: { storeFor: (bucket: string) => BlobStore; ffmpeg: string; limits: PreprocessLimits }) {
  // `signal` is the embedded runtime's: it stops the work when the runtime stops mid-run (Lambda has no such thing).
  return (event: PreprocessEvent, context?: { signal?: AbortSignal }): Promise<PreprocessResult> =>
    preprocessUpload(
      { id: event.id, key: event.key },
      { store: deps.storeFor(event.bucket), ffmpeg: deps.ffmpeg, limits: deps.limits, signal: context?.signal },
    );
}
