/**
 * The documents that travel between the steps, and the one every reader (CLI, site, tests) reads.
 *
 * S3 layout for one upload `{id}`:
 *   uploads/{id}/{fileName}          the upload (one S3 event → one execution named {id})
 *   chunks/{id}/manifest.json        Manifest (written by preprocess)
 *   chunks/{id}/windows/NNNNN.npy    one float32 (160000,) window per file; NNNNN = window index
 *   captions/{id}/captions.json      CaptionEntry[] (one part per processing instance when sharded:
 *                                    captions-{host}.json; summarize merges every captions*.json)
 *   results/{id}.json                ResultDocument (SUCCEEDED) or FailureDocument (FAILED)
 *   library/{id}.json                LibraryEntry (core/library.ts): the run's descriptors for search and similar songs
 *
 * JSON Schemas for Manifest and CaptionEntry[] live in core/schema/ and are checked from TypeScript and
 * Python alike.
 */
import type { SongSection, TrackAnalysis, TrackTags, WindowTags } from './descriptors/types.ts';

export const SAMPLE_RATE = 16_000;
export const WINDOW_SECONDS = 10;
export const WINDOW_SAMPLES = SAMPLE_RATE * WINDOW_SECONDS;

export interface FileInfo {
  name: string;
  sizeBytes: number;
  durationSec: number;
  /** The upload's own sample rate and channel count, before decoding to 16 kHz mono. */
  sampleRate: number;
  channels: number;
  codec: string;
}

export interface ManifestWindow {
  index: number;
  /** Relative to the window prefix chunks/{id}/windows/, e.g. "00000.npy". */
  file: string;
  startSec: number;
  endSec: number;
  tags: WindowTags;
}

export interface Manifest {
  version: 1;
  id: string;
  upload: { bucket: string; key: string };
  file: FileInfo;
  sampleRate: typeof SAMPLE_RATE;
  windowSamples: typeof WINDOW_SAMPLES;
  windows: ManifestWindow[];
  tags: TrackTags;
  /** The beat grid, tempo changes, key sections and loudness curve of the whole track. */
  analysis: TrackAnalysis;
  /** The song's sections (issue 10), covering the track without gaps; absent in manifests written before them. */
  sections?: SongSection[];
}

/**
 * "degenerate": the caption still loops after a second try; summaries leave it out.
 * "unavailable": the backend gave no usable caption for the window (its request failed, or its caption kept
 * contradicting the measurements), so the built-in caption stands in.
 */
export type CaptionQuality = 'ok' | 'degenerate' | 'unavailable';

export interface CaptionEntry {
  index: number;
  startSec: number;
  endSec: number;
  caption: string;
  quality?: CaptionQuality;
  /** Which decoding attempt gave the caption: 1, or 2 after the loop guard's retry (absent from older captions). */
  attempt?: number;
}

export interface CaptionerInfo {
  backend: string;
  model: string;
  /** Windows captioned and the step's wall time (absent in results written before they were recorded). */
  windows?: number;
  seconds?: number;
  /** Windows that got the built-in caption because the backend gave none usable (audio-llm). */
  fallbacks?: number;
  /** From the server's reported token usage and the model's published prices, where both are known. */
  estimatedCostUsd?: number;
  /** Why windows fell back, or why the built-in captioner's result stands for the whole song. */
  fallbackReason?: string;
}

/** What the Caption step leaves beside the captions: captioner.json in the captions prefix. */
export interface CaptionRunInfo extends CaptionerInfo {
  windows: number;
  seconds: number;
}

export interface ResultChunk {
  index: number;
  startSec: number;
  endSec: number;
  caption: string;
  quality: CaptionQuality;
  tags: WindowTags;
}

export interface Summary {
  text: string;
  source: 'openai' | 'local';
  model: string;
  /** Why the local summary stands in when an LLM was configured but did not answer. */
  fallbackReason?: string;
}

export interface ResultDocument {
  id: string;
  status: 'SUCCEEDED';
  file: FileInfo;
  chunks: ResultChunk[];
  tags: TrackTags;
  analysis: TrackAnalysis;
  /** The song's sections (issue 10); absent in results written before sections existed. */
  sections?: SongSection[];
  summary: Summary;
  captioner: CaptionerInfo;
  createdAt: string;
}

export type StepName = 'Preprocess' | 'Caption' | 'Summarize';

export interface FailureDocument {
  id: string;
  status: 'FAILED';
  error: { name: string; message: string; step: StepName | 'Upload' | 'Pipeline' };
  createdAt: string;
}

export type RunDocument = ResultDocument | FailureDocument;

export const keys = {
  uploadPrefix: 'uploads/',
  upload: (id: string, fileName: string) => `uploads/${id}/${fileName}`,
  chunkPrefix: (id: string) => `chunks/${id}/`,
  windowPrefix: (id: string) => `chunks/${id}/windows/`,
  windowFile: (index: number) => `${String(index).padStart(5, '0')}.npy`,
  manifest: (id: string) => `chunks/${id}/manifest.json`,
  captionPrefix: (id: string) => `captions/${id}/`,
  result: (id: string) => `results/${id}.json`,
  /** The library's entry for a finished run (core/library.ts): written by Summarize, backfilled on first read. */
  libraryPrefix: 'library/',
  libraryEntry: (id: string) => `library/${id}.json`,
  /** Every entry in one object (not *.json, so listings of entries pass it by): a fresh process's one read. */
  librarySnapshot: 'library/index.snapshot',
} as const;
