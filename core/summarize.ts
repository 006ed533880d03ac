/**
 * The Summarize step: reads the manifest and every caption part, writes results/{id}.json.
 */
import type { BlobStore } from './blob-store.ts';
import { keys, type CaptionEntry, type CaptionerInfo, type Manifest, type Summary } from './contract.ts';
import { CaptionsMissing } from './errors.ts';
import { writeLibraryEntry } from './library.ts';
import { buildResult, joinChunks, llmSummary, localSummary, mergeCaptionParts, type SummaryWriter } from './summary.ts';

export interface SummarizeRequest {
  id: string;
  manifestKey: string;
  captionPrefix: string;
  /** "llm": use the writer when there is one. "local": the state machine's fallback after the LLM failed. */
  mode: 'llm' | 'local';
  /** The LLM error the state machine caught, when mode is "local". */
  llmError?: { Error?: string; Cause?: string };
}

export interface SummarizeResult {
  resultKey: string;
  source: Summary['source'];
}

export async function summarizeRun(request: SummarizeRequest, deps: { store: BlobStore; writer?: SummaryWriter; now?: () => Date }): Promise<SummarizeResult> {
  const { store } = deps;
  const manifest = await store.getJson<Manifest>(request.manifestKey);
  if (!manifest) throw new CaptionsMissing(`The manifest ${request.manifestKey} is missing, so the captions cannot be matched to the audio.`);
  const { captions, captioner } = await readCaptionParts(store, request.captionPrefix);
  const chunks = joinChunks(manifest, captions);

  let summary: Summary | undefined;
  if (request.mode === 'llm' && deps.writer) {
    // Summary* errors from the writer propagate: the state machine retries or falls back on their names.
    const written = await llmSummary(deps.writer, manifest, chunks);
    if ('text' in written) summary = { text: written.text, source: 'openai', model: deps.writer.model };
    else summary = { text: localSummary(manifest, chunks, captioner), source: 'local', model: 'local', fallbackReason: written.rejected };
  }
  if (!summary) {
    const fallbackReason =
      request.mode === 'local' && request.llmError
        ? `the LLM was unavailable (${request.llmError.Error ?? 'error'}${cause(request.llmError.Cause)})`
        : undefined;
    summary = { text: localSummary(manifest, chunks, captioner), source: 'local', model: 'local', ...(fallbackReason ? { fallbackReason } : {}) };
  }

  const result = buildResult(manifest, chunks, summary, captioner, deps.now?.());
  const resultKey = keys.result(request.id);
  await store.put(resultKey, JSON.stringify(result, null, 2), 'application/json');
  // The library's entry beside it (core/library.ts): search and similar songs read these, not every result.
  await writeLibraryEntry(store, result);
  return { resultKey, source: summary.source };
}

function cause(text: string | undefined): string {
  if (!text) return '';
  try {
    const parsed = JSON.parse(text) as { errorMessage?: string };
    if (parsed.errorMessage) return `: ${parsed.errorMessage}`;
  } catch {
    // not JSON: shown as it is
  }
  return `: ${text.slice(0, 200)}`;
}

/** Every captions*.json part under the prefix (one per processing instance), and who wrote them. */
export async function readCaptionParts(store: BlobStore, prefix: string): Promise<{ captions: CaptionEntry[]; captioner: CaptionerInfo }> {
  const names = await store.list(prefix);
  const partKeys = names.filter((key) => /\/captions(-[^/]+)?\.json$/.test(key)).sort();
  if (partKeys.length === 0) throw new CaptionsMissing(`The captioning step wrote no captions under ${prefix}.`);
  const parts = await Promise.all(partKeys.map((key) => store.getJson<CaptionEntry[]>(key)));
  const infoKey = names.find((key) => /\/captioner(-[^/]+)?\.json$/.test(key));
  const info = infoKey ? await store.getJson<CaptionerInfo>(infoKey) : undefined;
  for (const [i, part] of parts.entries()) {
    if (!Array.isArray(part)) throw new CaptionsMissing(`${partKeys[i]} is not a list of captions.`);
  }
  return {
    captions: mergeCaptionParts(parts as CaptionEntry[][]),
    captioner: captionerOf(info),
  };
}

/** The fields of captioner.json the result carries; anything else a captioner writes there stays behind. */
function captionerOf(info: CaptionerInfo | undefined): CaptionerInfo {
  const out: CaptionerInfo = { backend: info?.backend ?? 'unknown', model: info?.model ?? 'unknown' };
  for (const field of ['windows', 'seconds', 'fallbacks', 'estimatedCostUsd'] as const) {
    if (typeof info?.[field] === 'number') out[field] = info[field];
  }
  if (typeof info?.fallbackReason === 'string') out.fallbackReason = info.fallbackReason;
  return out;
}

