/** summarize: captions + measurements → results/{id}.json, with the LLM when one is configured; then the run into the library's index object. */
import type { BlobStore } from '#core/blob-store';
import { keys } from '#core/contract';
import { addToLibraryIndex, type IndexObjectStore, type LibraryEntry } from '#core/library';
import { summarizeRun, type SummarizeRequest, type SummarizeResult } from '#core/summarize';
import type { SummaryWriter } from '#core/summary';
import type { Log } from '../shared/log.ts';

export interface SummarizeEvent extends SummarizeRequest {
  bucket: string;
}

export function createSummarizeHandler(deps: {
  storeFor: (bucket: string) => BlobStore;
  writer: () => Promise<SummaryWriter | undefined>;
  /** The bucket's library index object, written with S3's conditional writes (functions/shared/library-store.ts). */
  indexFor: (bucket: string) => IndexObjectStore;
  log: Log;
}) {
  return async (event: SummarizeEvent): Promise<SummarizeResult> => {
    const store = deps.storeFor(event.bucket);
    const summarized = await summarizeRun(
      { id: event.id, manifestKey: event.manifestKey, captionPrefix: event.captionPrefix, mode: event.mode, llmError: event.llmError },
      { store, writer: event.mode === 'llm' ? await deps.writer() : undefined },
    );
    // The result and its library entry are written; the index object only spares a fresh site reading every entry,
    // so failing to update it does not fail the run: the site's next refresh adds the run.
    try {
      const entry = await store.getJson<LibraryEntry>(keys.libraryEntry(event.id));
      if (entry) await addToLibraryIndex(deps.indexFor(event.bucket), entry);
    } catch (error) {
      deps.log('warn', 'the run is not in the library index object yet', { id: event.id, errorType: (error as Error).name, errorMessage: (error as Error).message });
    }
    return summarized;
  };
}
