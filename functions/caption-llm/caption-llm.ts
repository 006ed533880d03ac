/** caption-llm: the Caption step on the audio-LLM path; {id, bucket, manifestKey, windowPrefix, captionPrefix} → captions in S3. */
import type { BlobStore } from '#core/blob-store';
import { captionRunWithAudioLlm, type AudioCaptionRunRequest, type AudioCaptionRunResult, type AudioLlm, type AudioLlmSettings } from '#core/audio-llm-captioner';
import type { Log } from '../shared/log.ts';

export interface CaptionLlmEvent extends AudioCaptionRunRequest {
  bucket: string;
}

/** The model, or why there is none (then nothing is sent and the built-in captions stand). */
export type AudioLlmSource = () => Promise<{ llm: AudioLlm } | { missingLlmReason: string }>;

export function createCaptionLlmHandler(deps: { storeFor: (bucket: string) => BlobStore; llm: AudioLlmSource; settings: AudioLlmSettings; log?: Log }) {
  return async (event: CaptionLlmEvent): Promise<AudioCaptionRunResult> =>
    captionRunWithAudioLlm(
      { id: event.id, manifestKey: event.manifestKey, windowPrefix: event.windowPrefix, captionPrefix: event.captionPrefix },
      { store: deps.storeFor(event.bucket), settings: deps.settings, ...(await deps.llm()), log: (message, fields) => deps.log?.('info', message, fields) },
    );
}
