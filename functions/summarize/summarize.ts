/** summarize: captions + measurements → results/{id}.json, with the LLM when one is configured. */
import type { BlobStore } from '#core/blob-store';
import { summarizeRun, type SummarizeRequest, type SummarizeResult } from '#core/summarize';
import type { SummaryWriter } from '#core/summary';

export interface SummarizeEvent extends SummarizeRequest {
  bucket: string;
}

export function createSummarizeHandler(deps: { storeFor: (bucket: string) => BlobStore; writer: () => Promise<SummaryWriter | undefined> }) {
  return async (event: SummarizeEvent): Promise<SummarizeResult> =>
    summarizeRun(
      { id: event.id, manifestKey: event.manifestKey, captionPrefix: event.captionPrefix, mode: event.mode, llmError: event.llmError },
      { store: deps.storeFor(event.bucket), writer: event.mode === 'llm' ? await deps.writer() : undefined },
    );
}
