/**
 * The library: one small entry per finished run (library/{id}.json beside results/{id}.json), searched,
 * filtered and sorted in memory, and a descriptor vector per run for "similar songs".
 *
 * AWS-free: the Summarize step, the site and the CLI hand it their store. An entry is derived from the result
 * document alone (its track tags, its windows' tags and its analysis), so runs written before the library
 * existed get theirs on first read (`refreshLibrary` backfills them) instead of going missing.
 *
 * The descriptor vector — every component scaled so that 1 is "clearly different to a listener", then
 * multiplied by its weight in SIMILARITY_WEIGHTS — is:
 *   tempo        2 dims: the angle 2π·log2(bpm) on a circle, so a tempo and its double or half (the octave
 *                errors every beat tracker makes, and the same groove felt at another metrical level) sit at
 *                the same point; a log scale because tempo differences are heard as ratios (Weber's law).
 *                Octave folding as in the "tempo class" of Gouyon et al., "An experimental comparison of audio
 *                tempo induction algorithms", IEEE TASLP 14(5), 2006.
 *   key          2 dims: the tonic's place on the circle of fifths (Lerdahl, "Tonal Pitch Space", 2001), a minor
 *                key placed at its relative major, so neighbouring keys (a fifth apart) and relative major/minor
 *                are close — the relations mir_eval.key scores as near misses (fifth 0.5, relative 0.3).
 *   mode         1 dim: major +½, minor −½, so relative keys are close but not the same point.
 *   meter        2 dims: triple (3/4) and compound (6/8, 12/8), duple meters at the origin.
 *   loudness     integrated loudness (EBU R128 / BS.1770), 6 LU = 1.
 *   brightness   log2 of the spectral centroid (Grey & Gordon 1978: brightness tracks the centroid), 1 octave = 1.
 *   percussion   the share of percussive energy (harmonic–percussive separation, Fitzgerald 2010), 0.25 = 1.
 *   timbre       statistics over the windows (Tzanetakis & Cook, "Musical genre classification of audio
 *                signals", IEEE TSAP 10(5), 2002: means and spreads of texture-window features): onset rate
 *                (log), crest factor, loudness range, and the spread of the centroid across the song.
 * Nearest neighbours are by Euclidean distance over these vectors (brute force: 10 000 × 16 numbers is
 * well under a millisecond's arithmetic per thousand runs).
 */
import { z } from 'zod';
import type { BlobStore } from './blob-store.ts';
import { keys, type ResultDocument, type RunDocument } from './contract.ts';
import { comparisonWords, normalizeKeyName, parseKeyName } from './vocabulary.ts';
import type { Meter } from './descriptors/types.ts';

/** What the library keeps of a finished run. Everything here comes from its result document. */
export interface LibraryEntry {
  version: 1;
  id: string;
  fileName: string;
  /** When the result was written (ISO 8601). */
  createdAt: string;
  durationSec: number;
  bpm: number | null;
  key: string | null;
  meter: Meter | null;
  loudnessLufs: number | null;
  spectralCentroidHz: number;
  percussiveRatio: number;
  onsetsPerSec: number;
  crestDb: number;
  loudnessRangeLu: number;
  /** Standard deviation across the windows of log2(centroid): how much the brightness moves in the song. */
  centroidSpreadOctaves: number;
  summary: string;
  /** The windows' distinct captions, for search (cut at SEARCH_TEXT_CHARS). */
  captionText: string;
}

/** How much each part of the descriptor vector counts. Raise one to make it matter more for "similar". */
export const SIMILARITY_WEIGHTS = {
  tempo: 1.2,
  key: 1.0,
  mode: 0.5,
  meter: 0.8,
  loudness: 0.8,
  brightness: 1.0,
  percussion: 0.8,
  onsets: 0.6,
  crest: 0.4,
  loudnessRange: 0.3,
  centroidSpread: 0.3,
} as const;

/** The scales that make 1 unit "clearly different". The reasons' words and thresholds are core/vocabulary.ts's. */
export const LIBRARY_THRESHOLDS = {
  loudnessUnitLu: 6,
  percussionUnit: 0.25,
  crestUnitDb: 6,
  loudnessRangeUnitLu: 8,
  centroidSpreadUnitOctaves: 0.5,
  /** A track with no measurable loudness counts as this quiet. */
  silentLufs: -70,
  searchTextChars: 4000,
  pageSize: 20,
  maxPageSize: 100,
  similarCount: 8,
} as const;

const T = LIBRARY_THRESHOLDS;
const W = SIMILARITY_WEIGHTS;

// ——— Entries ——————————————————————————————————————————————————————————————————————————————————

/** The library entry for a finished run: its track tags, plus timbre statistics over its windows. */
export function entryFromResult(result: ResultDocument): LibraryEntry {
  const { tags } = result;
  const logCentroids = result.chunks.map((chunk) => Math.log2(Math.max(1, chunk.tags.spectralCentroidHz)));
  const captions = [...new Set(result.chunks.map((chunk) => chunk.caption.trim()).filter(Boolean))].join(' ');
  return {
    version: 1,
    id: result.id,
    fileName: result.file.name,
    createdAt: result.createdAt,
    durationSec: result.file.durationSec,
    bpm: tags.bpm,
    key: tags.key,
    meter: tags.meter ?? null,
    loudnessLufs: tags.loudnessLufs,
    spectralCentroidHz: tags.spectralCentroidHz,
    percussiveRatio: tags.percussiveRatio,
    onsetsPerSec: tags.onsetsPerSec,
    crestDb: tags.crestDb,
    loudnessRangeLu: tags.loudnessRangeLu ?? 0,
    centroidSpreadOctaves: round(standardDeviation(logCentroids), 3),
    summary: result.summary.text,
    captionText: captions.slice(0, T.searchTextChars),
  };
}

/** Writes the run's library entry beside its result (Summarize calls this right after the result). */
export async function writeLibraryEntry(store: Pick<BlobStore, 'put'>, result: ResultDocument): Promise<LibraryEntry> {
  const entry = entryFromResult(result);
  await store.put(keys.libraryEntry(result.id), JSON.stringify(entry), 'application/json');
  return entry;
}

// ——— The descriptor vector ————————————————————————————————————————————————————————————————————————

/** "F# minor" → its tonic's pitch class and mode; undefined for anything else. Flats and sharps both read. */
export const parseKey = parseKeyName;

/** The key as the library spells it ("Eb major", "F# minor"), so filters match whatever spelling was asked. */
export const normalizeKey = normalizeKeyName;

/** Steps clockwise round the circle of fifths from C major; a minor key stands at its relative major. */
function fifthsPosition(key: { pitchClass: number; mode: 'major' | 'minor' }): number {
  const majorTonic = key.mode === 'minor' ? (key.pitchClass + 3) % 12 : key.pitchClass;
  return (majorTonic * 7) % 12;
}

/** The run's descriptor vector (see the top of this file for each component and its reference). */
export function descriptorVector(entry: LibraryEntry): Float64Array {
  const vector = new Float64Array(16);
  if (entry.bpm && entry.bpm > 0) {
    const angle = 2 * Math.PI * Math.log2(entry.bpm);
    vector[0] = W.tempo * TEMPO_RADIUS * Math.cos(angle);
    vector[1] = W.tempo * TEMPO_RADIUS * Math.sin(angle);
  }
  const key = parseKey(entry.key);
  if (key) {
    const angle = (2 * Math.PI * fifthsPosition(key)) / 12;
    // Radius 1: neighbouring keys on the circle are 2·sin(π/12) ≈ 0.52 apart, opposite keys 2.
    vector[2] = W.key * Math.cos(angle);
    vector[3] = W.key * Math.sin(angle);
    vector[4] = W.mode * (key.mode === 'major' ? 0.5 : -0.5);
  }
  vector[5] = W.meter * (entry.meter === '3/4' ? 1 : 0);
  vector[6] = W.meter * (entry.meter === '6/8' || entry.meter === '12/8' ? 1 : 0);
  vector[7] = (W.loudness * (entry.loudnessLufs ?? T.silentLufs)) / T.loudnessUnitLu;
  vector[8] = W.brightness * Math.log2(Math.max(1, entry.spectralCentroidHz));
  vector[9] = (W.percussion * entry.percussiveRatio) / T.percussionUnit;
  vector[10] = W.onsets * Math.log2(1 + entry.onsetsPerSec);
  vector[11] = (W.crest * entry.crestDb) / T.crestUnitDb;
  vector[12] = (W.loudnessRange * entry.loudnessRangeLu) / T.loudnessRangeUnitLu;
  vector[13] = (W.centroidSpread * entry.centroidSpreadOctaves) / T.centroidSpreadUnitOctaves;
  return vector;
}

/** A tempo 10 % away is one unit away: the chord of the circle for Δangle = 2π·log2(1.1). */
const TEMPO_RADIUS = 1 / (2 * Math.sin(Math.PI * Math.log2(1.1)));

export function distance(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] - b[i]) ** 2;
  return Math.sqrt(sum);
}

// ——— Reasons ——————————————————————————————————————————————————————————————————————————————————

/** Why `other` is like `entry`, in a few plain words: "same key, 4 BPM slower, similar energy". */
export function similarityReason(entry: LibraryEntry, other: LibraryEntry): string {
  return comparisonWords(entry, other, T.silentLufs);
}

// ——— Queries ——————————————————————————————————————————————————————————————————————————————————

export type LibrarySort = 'date' | 'date-asc' | 'tempo' | 'tempo-desc';

export interface LibraryQuery {
  /** Words that must all appear in the file name, the summary or the captions (any case). */
  q?: string;
  bpmMin?: number;
  bpmMax?: number;
  key?: string;
  meter?: Meter;
  lufsMin?: number;
  lufsMax?: number;
  /** ISO dates or date-times; `to` as a bare date includes that whole day. */
  from?: string;
  to?: string;
  sort: LibrarySort;
  /** 1-based. */
  page: number;
  pageSize: number;
}

/** A query parameter the library cannot read; the site answers 400 with its message. */
export class InvalidLibraryQuery extends Error {
  override readonly name = 'InvalidLibraryQuery';
}

const blankIsUnset = (value: unknown) => (value === '' || value === null ? undefined : value);
const optionalNumber = z.preprocess(blankIsUnset, z.coerce.number().finite().optional());
const optionalDate = z.preprocess(
  blankIsUnset,
  z
    .string()
    .refine((text) => !Number.isNaN(Date.parse(text)), 'must be a date such as 2026-11-27')
    .optional(),
);
const querySchema = z.object({
  q: z.preprocess(blankIsUnset, z.string().max(200).optional()),
  bpmMin: optionalNumber,
  bpmMax: optionalNumber,
  key: z.preprocess(
    blankIsUnset,
    z
      .string()
      .transform((text, context) => {
        const key = normalizeKey(text);
        if (!key) context.addIssue({ code: 'custom', message: 'must be a key such as "A minor" or "Eb major"' });
        return key ?? text;
      })
      .optional(),
  ),
  meter: z.preprocess(blankIsUnset, z.enum(['2/4', '3/4', '4/4', '6/8', '12/8']).optional()),
  lufsMin: optionalNumber,
  lufsMax: optionalNumber,
  from: optionalDate,
  to: optionalDate,
  sort: z.preprocess(blankIsUnset, z.enum(['date', 'date-asc', 'tempo', 'tempo-desc']).default('date')),
  page: z.preprocess(blankIsUnset, z.coerce.number().int().min(1).default(1)),
  pageSize: z.preprocess(blankIsUnset, z.coerce.number().int().min(1).max(T.maxPageSize).default(T.pageSize)),
});

/** Reads `?q=&bpmMin=&…` (URLSearchParams or a plain object), naming every bad parameter at once. */
export function parseLibraryQuery(params: URLSearchParams | Record<string, string | undefined>): LibraryQuery {
  const raw = params instanceof URLSearchParams ? Object.fromEntries(params) : params;
  const parsed = querySchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`);
    throw new InvalidLibraryQuery(`The library cannot read this search: ${problems.join('; ')}.`);
  }
  return parsed.data as LibraryQuery;
}

export interface LibraryItem extends Omit<LibraryEntry, 'captionText' | 'version'> {}

export interface LibraryPage {
  runs: LibraryItem[];
  total: number;
  page: number;
  pages: number;
  pageSize: number;
  /**
   * Present while a process with no index object to start from is still reading the library run by run: the
   * page is over the `read` runs read so far, of `listed` found. Absent when the answer covers the whole library.
   */
  loading?: LibraryLoading;
}

export interface LibraryLoading {
  /** Runs read so far. */
  read: number;
  /** Runs the listing found; absent while the bucket is still being listed. */
  listed?: number;
}

export interface SimilarRun {
  id: string;
  fileName: string;
  bpm: number | null;
  key: string | null;
  distance: number;
  reason: string;
}

interface IndexedEntry {
  entry: LibraryEntry;
  /** Made on first use (similar songs), not on loading: a fresh process answers its first page sooner. */
  vector?: Float64Array;
  /** File name, summary and captions, lower-cased once, on the first search with words. */
  haystack?: string;
  createdAtMs: number;
}

const vectorOf = (indexed: IndexedEntry) => (indexed.vector ??= descriptorVector(indexed.entry));
const haystackOf = (indexed: IndexedEntry) => (indexed.haystack ??= `${indexed.entry.fileName}\n${indexed.entry.summary}\n${indexed.entry.captionText}`.toLowerCase());

const itemOf = ({ captionText: _captions, version: _version, ...item }: LibraryEntry): LibraryItem => item;

/** An end date without a time means the end of that day (UTC). */
const endOf = (to: string) => (/^\d{4}-\d{2}-\d{2}$/.test(to) ? Date.parse(to) + 86_400_000 - 1 : Date.parse(to));

/** The library in memory: entries with their vectors and search text, answering queries and "similar". */
export class LibraryIndex {
  private readonly entries = new Map<string, IndexedEntry>();

  get size(): number {
    return this.entries.size;
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  get(id: string): LibraryEntry | undefined {
    return this.entries.get(id)?.entry;
  }

  ids(): string[] {
    return [...this.entries.keys()];
  }

  upsert(entry: LibraryEntry): void {
    this.entries.set(entry.id, {
      entry,
      createdAtMs: Date.parse(entry.createdAt) || 0,
    });
  }

  remove(id: string): void {
    this.entries.delete(id);
  }

  /** The runs matching every filter, sorted, one page of them. */
  query(query: LibraryQuery): LibraryPage {
    const words = (query.q ?? '').toLowerCase().split(/\s+/).filter(Boolean);
    const key = query.key && normalizeKey(query.key);
    const fromMs = query.from ? Date.parse(query.from) : -Infinity;
    const toMs = query.to ? endOf(query.to) : Infinity;
    const matches: IndexedEntry[] = [];
    for (const indexed of this.entries.values()) {
      const { entry } = indexed;
      if (query.bpmMin !== undefined && !(entry.bpm !== null && entry.bpm >= query.bpmMin)) continue;
      if (query.bpmMax !== undefined && !(entry.bpm !== null && entry.bpm <= query.bpmMax)) continue;
      if (key && entry.key !== key) continue;
      if (query.meter && entry.meter !== query.meter) continue;
      const lufs = entry.loudnessLufs ?? T.silentLufs;
      if (query.lufsMin !== undefined && lufs < query.lufsMin) continue;
      if (query.lufsMax !== undefined && lufs > query.lufsMax) continue;
      if (indexed.createdAtMs < fromMs || indexed.createdAtMs > toMs) continue;
      if (words.length > 0 && !words.every((word) => haystackOf(indexed).includes(word))) continue;
      matches.push(indexed);
    }
    matches.sort(comparator(query.sort));
    const pages = Math.max(1, Math.ceil(matches.length / query.pageSize));
    const start = (query.page - 1) * query.pageSize;
    return {
      runs: matches.slice(start, start + query.pageSize).map((indexed) => itemOf(indexed.entry)),
      total: matches.length,
      page: query.page,
      pages,
      pageSize: query.pageSize,
    };
  }

  /**
   * The `count` runs nearest to `id` by the descriptor vector, nearest first, each with its reason. A recording run
   * more than once (the same file name and length) is one song: never listed as like itself, and listed once, by its
   * newest run (a song uploaded five times filled five of the eight places).
   */
  similar(id: string, count: number = T.similarCount): SimilarRun[] | undefined {
    const self = this.entries.get(id);
    if (!self) return undefined;
    const recordingOf = (entry: LibraryEntry) => `${entry.fileName}\u0000${entry.durationSec.toFixed(2)}`;
    const itself = recordingOf(self.entry);
    const newest = new Map<string, IndexedEntry>();
    for (const indexed of this.entries.values()) {
      const recording = recordingOf(indexed.entry);
      if (recording === itself) continue;
      const seen = newest.get(recording);
      if (!seen || indexed.createdAtMs > seen.createdAtMs) newest.set(recording, indexed);
    }
    const nearest: { indexed: IndexedEntry; distance: number }[] = [];
    for (const indexed of newest.values()) {
      const d = distance(vectorOf(self), vectorOf(indexed));
      if (nearest.length === count && d >= nearest[count - 1].distance) continue;
      // Insertion into a short sorted list: O(n·k) with k ≈ 8 beats sorting all n.
      let at = nearest.length;
      while (at > 0 && nearest[at - 1].distance > d) at--;
      nearest.splice(at, 0, { indexed, distance: d });
      if (nearest.length > count) nearest.pop();
    }
    return nearest.map(({ indexed, distance: d }) => ({
      id: indexed.entry.id,
      fileName: indexed.entry.fileName,
      bpm: indexed.entry.bpm,
      key: indexed.entry.key,
      distance: round(d, 3),
      reason: similarityReason(self.entry, indexed.entry),
    }));
  }
}

function comparator(sort: LibrarySort): (a: IndexedEntry, b: IndexedEntry) => number {
  const byDate = (a: IndexedEntry, b: IndexedEntry) => b.createdAtMs - a.createdAtMs || a.entry.id.localeCompare(b.entry.id);
  // Runs without a tempo go last whichever way tempo is sorted.
  const tempo = (indexed: IndexedEntry, direction: 1 | -1) => (indexed.entry.bpm === null ? Infinity : direction * indexed.entry.bpm);
  switch (sort) {
    case 'date-asc':
      return (a, b) => -byDate(a, b);
    case 'tempo':
      return (a, b) => tempo(a, 1) - tempo(b, 1) || byDate(a, b);
    case 'tempo-desc':
      return (a, b) => tempo(a, -1) - tempo(b, -1) || byDate(a, b);
    default:
      return byDate;
  }
}

// ——— Reading the library from the store ——————————————————————————————————————————————————————————

/** How many objects one refresh reads at once. */
const READ_CONCURRENCY = 32;

const idOf = (key: string, prefix: string) => key.slice(prefix.length).replace(/\.json$/, '');

/**
 * Brings the index up to date with the store: reads entries it does not hold yet, drops those deleted, and
 * backfills an entry for every succeeded result that has none (runs from before the library). Returns how many
 * entries were read and backfilled.
 */
export async function refreshLibrary(
  store: Pick<BlobStore, 'list' | 'getJson' | 'put'>,
  index: LibraryIndex,
  options: { backfill?: boolean; onProgress?: (loading: LibraryLoading) => void } = {},
): Promise<{ read: number; backfilled: number; removed: number; removedIds: string[] }> {
  const [entryKeys, resultKeys] = await Promise.all([store.list(keys.libraryPrefix), options.backfill === false ? [] : store.list('results/')]);
  const entryIds = new Set(entryKeys.filter((key) => key.endsWith('.json')).map((key) => idOf(key, keys.libraryPrefix)));
  const removedIds: string[] = [];
  let removed = 0;
  for (const id of index.ids()) {
    if (!entryIds.has(id)) {
      index.remove(id);
      removedIds.push(id);
      removed++;
    }
  }

  const toRead = [...entryIds].filter((id) => !index.has(id));
  const toBackfill = resultKeys
    .filter((key) => key.endsWith('.json'))
    .map((key) => idOf(key, 'results/'))
    .filter((id) => !entryIds.has(id));
  let backfilled = 0;
  let done = 0;
  const listed = index.size + toRead.length + toBackfill.length;
  options.onProgress?.({ read: index.size, listed });
  await eachLimited([...toRead.map((id) => ({ id, backfill: false })), ...toBackfill.map((id) => ({ id, backfill: true }))], READ_CONCURRENCY, async ({ id, backfill }) => {
    await readOne(id, backfill);
    if (++done % 64 === 0) options.onProgress?.({ read: index.size, listed });
  });
  return { read: toRead.length, backfilled, removed, removedIds };

  async function readOne(id: string, backfill: boolean): Promise<void> {
    if (!backfill) {
      const entry = await store.getJson<LibraryEntry>(keys.libraryEntry(id));
      if (entry?.version === 1) index.upsert(entry);
      return;
    }
    const result = await store.getJson<RunDocument>(keys.result(id));
    if (result?.status !== 'SUCCEEDED') return;
    index.upsert(await writeLibraryEntry(store, result));
    backfilled++;
  }
}

/** The library in one object (library/index.snapshot): what a fresh process reads first, instead of one object per run. */
export interface LibrarySnapshot {
  version: 1;
  entries: LibraryEntry[];
}

// ——— The index object, kept current by every writer ——————————————————————————————————————————————————

/**
 * What keeps one object current under many writers: S3's conditional writes. `putIfVersion` writes only if the
 * object is still the version that was read (If-Match: its ETag), or, with no version, only if there is still
 * none (If-None-Match: *); it answers false when another writer came first. The embedded S3 honours both too
 * (runtime/s3-semantics.mts).
 */
export interface IndexObjectStore {
  /** The object's text and version (S3's ETag), or undefined when there is none. */
  readVersioned(key: string): Promise<{ text: string; version: string } | undefined>;
  putIfVersion(key: string, body: string, version: string | undefined): Promise<boolean>;
}

/**
 * How often a writer reads and tries again when others keep coming first, and the backoff between tries: "full
 * jitter" (a random wait up to a doubling cap; Brooker, "Exponential Backoff and Jitter", AWS Architecture Blog,
 * 2015), which spreads out writers that collided. 20 Summarize steps finishing at once settle in a few tries.
 */
export const LIBRARY_INDEX_WRITES = { attempts: 16, firstCapMs: 25, maxCapMs: 2000 } as const;

/** Every try to update the index object met another writer's newer version. */
export class LibraryIndexContended extends Error {
  override readonly name = 'LibraryIndexContended';
}

/**
 * Reads the index object, lets `change` add or remove runs, and writes it back only if no one wrote it in
 * between; otherwise reads again and re-applies the change (optimistic concurrency). Concurrent Summarize steps,
 * deletes and the site's refresh each change their own runs and none loses another's. `change` answers whether
 * it changed anything; nothing is written when it did not. Answers the entries as written (or as read).
 */
export async function updateLibraryIndexObject(
  store: IndexObjectStore,
  change: (entries: Map<string, LibraryEntry>) => boolean,
  random: () => number = Math.random,
): Promise<Map<string, LibraryEntry>> {
  for (let attempt = 1; ; attempt++) {
    const current = await store.readVersioned(keys.librarySnapshot);
    const entries = new Map(snapshotEntries(current?.text).map((entry) => [entry.id, entry]));
    if (!change(entries)) return entries;
    const snapshot: LibrarySnapshot = { version: 1, entries: [...entries.values()] };
    if (await store.putIfVersion(keys.librarySnapshot, JSON.stringify(snapshot), current?.version)) return entries;
    if (attempt >= LIBRARY_INDEX_WRITES.attempts) {
      throw new LibraryIndexContended(`The library's index object changed under ${attempt} tries in a row to update it; the next refresh of the site brings it up to date.`);
    }
    const cap = Math.min(LIBRARY_INDEX_WRITES.maxCapMs, LIBRARY_INDEX_WRITES.firstCapMs * 2 ** (attempt - 1));
    await new Promise((resolve) => setTimeout(resolve, random() * cap));
  }
}

/** Summarize's last step: the run's entry (library/{id}.json, just written) into the index object. */
export async function addToLibraryIndex(store: IndexObjectStore, entry: LibraryEntry): Promise<void> {
  await updateLibraryIndexObject(store, (entries) => {
    entries.set(entry.id, entry);
    return true;
  });
}

/** The entries of an index object's text; none from a missing or unreadable one (the site rebuilds it then). */
function snapshotEntries(text: string | undefined): LibraryEntry[] {
  if (text === undefined) return [];
  try {
    const snapshot = JSON.parse(text) as LibrarySnapshot;
    if (snapshot?.version !== 1 || !Array.isArray(snapshot.entries)) return [];
    return snapshot.entries.filter((entry) => entry?.version === 1 && typeof entry.id === 'string');
  } catch {
    return [];
  }
}

async function eachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

// ——— Deleting a run ———————————————————————————————————————————————————————————————————————————

/** The store's one extra ability deleting needs (S3's DeleteObjects, at most 1000 keys a call). */
export interface Remover {
  remove(keys: string[]): Promise<void>;
}

/** Every object a run left: its upload, windows and manifest, captions, result and library entry. */
export async function runObjectKeys(store: Pick<BlobStore, 'list'>, id: string): Promise<string[]> {
  const listed = await Promise.all([store.list(`${keys.uploadPrefix}${id}/`), store.list(keys.chunkPrefix(id)), store.list(keys.captionPrefix(id))]);
  const singles = await Promise.all([keys.result(id), keys.libraryEntry(id)].map(async (key) => ((await store.list(key)).includes(key) ? key : undefined)));
  return [...listed.flat(), ...singles.filter((key): key is string => key !== undefined)];
}

/** Deletes everything the run left; returns the keys deleted (none when there was no such run). */
export async function deleteRun(store: Pick<BlobStore, 'list'> & Remover, id: string): Promise<string[]> {
  const found = await runObjectKeys(store, id);
  const entryKey = keys.libraryEntry(id);
  const rest = found.filter((key) => key !== entryKey);
  for (let i = 0; i < rest.length; i += 1000) await store.remove(rest.slice(i, i + 1000));
  // The library entry last: a run half-deleted by a failure stays in the library, so it can be deleted again.
  if (found.includes(entryKey)) await store.remove([entryKey]);
  const ordered = [...rest, ...found.filter((key) => key === entryKey)];
  return ordered;
}

// ——— Small numeric helpers ————————————————————————————————————————————————————————————————————————

function standardDeviation(values: number[]): number {
  if (values.length < 2) return 0;
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  return Math.sqrt(values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / values.length);
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

// ——— The library a long-lived process keeps (the site, a bench) ———————————————————————————————————

/**
 * Listing 10 000 keys takes seconds, so a loaded library refreshes in the background every 30 s and no request
 * waits for it. The site's own new runs come in sooner: the run page asks for its similar songs, which reads
 * that run's entry at once (LibraryCache.entry), and deletes leave the index at once.
 *
 * A fresh process starts from the index object (one read), which Summarize keeps current. Only a bucket that has
 * none (runs from before it) is read run by run; a request then waits at most `firstWaitMs` (enough for a small library to be read whole) and answers over the
 * runs read so far, saying so (LibraryPage.loading).
 */
export const LIBRARY_CACHE_DEFAULTS = { refreshMs: 30_000, waitMs: 0, firstWaitMs: 100 } as const;

/** Entries the index object holds that no listing shows and that are older than this were deleted, not just added. */
const LISTING_GRACE_MS = 60_000;

export interface LibraryCacheOptions {
  /** How long a refresh's answer stands before the next request asks the store again. */
  refreshMs?: number;
  /** How long a request waits for a refresh before answering from what is in memory (the 200 ms budget). */
  waitMs?: number;
  /** With no index object to start from, how long a request waits for the run-by-run read before answering over part. */
  firstWaitMs?: number;
}

/**
 * The index in memory, kept up to date with the store without making anyone wait long: the first request
 * reads the index object; later ones start a refresh when the last is older than `refreshMs` and wait for it
 * at most `waitMs` (a small library is then always current; a large one answers from memory while listing
 * 10 000 keys finishes in the background). Concurrent requests share one refresh.
 */
export class LibraryCache {
  readonly index = new LibraryIndex();
  private loaded = false;
  private refreshedAt = -Infinity;
  private refreshing?: Promise<void>;
  private snapshotRead?: Promise<void>;
  /** Changed here since the index object was last brought up to date (a delete that could not write it, an entry read on demand). */
  private changedHere = false;
  private progress?: LibraryLoading;
  private readonly refreshMs: number;
  private readonly waitMs: number;
  private readonly firstWaitMs: number;

  constructor(
    private readonly store: Pick<BlobStore, 'list' | 'getJson' | 'put'> & Remover & IndexObjectStore,
    options: LibraryCacheOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.refreshMs = options.refreshMs ?? LIBRARY_CACHE_DEFAULTS.refreshMs;
    this.waitMs = options.waitMs ?? LIBRARY_CACHE_DEFAULTS.waitMs;
    this.firstWaitMs = options.firstWaitMs ?? LIBRARY_CACHE_DEFAULTS.firstWaitMs;
  }

  /** While the library is still being read run by run (no index object yet): how far; undefined once whole. */
  get loading(): LibraryLoading | undefined {
    return this.loaded ? undefined : (this.progress ?? { read: this.index.size });
  }

  /** Resolves once no refresh is under way (a bench or a test waits for the background work to end). */
  async settled(): Promise<void> {
    while (this.refreshing) await this.refreshing.catch(() => undefined);
  }

  /** The index, as current as the budget allows. */
  async current(): Promise<LibraryIndex> {
    // A fresh process answers from the index object (one read) while a refresh catches up in the background.
    this.snapshotRead ??= this.readSnapshot();
    await this.snapshotRead;
    if (this.now() - this.refreshedAt >= this.refreshMs) {
      const refresh = this.refresh();
      // A refresh that fails after the wait is over is retried by the next request; it must not go unhandled.
      refresh.catch(() => undefined);
      const wait = this.loaded ? this.waitMs : this.firstWaitMs;
      if (wait > 0) await Promise.race([refresh, new Promise((resolve) => setTimeout(resolve, wait).unref?.())]);
    }
    return this.index;
  }

  /** One page of the library, saying so when it covers only the runs read so far. */
  async query(query: LibraryQuery): Promise<LibraryPage> {
    const page = (await this.current()).query(query);
    const loading = this.loading;
    return loading ? { ...page, loading } : page;
  }

  /** One run's entry: from memory, else from the store (backfilled from its result when it has none yet). */
  async entry(id: string): Promise<LibraryEntry | undefined> {
    const index = await this.current();
    if (index.has(id)) return index.get(id);
    const stored = await this.store.getJson<LibraryEntry>(keys.libraryEntry(id));
    if (stored?.version === 1) {
      index.upsert(stored);
      this.changedHere = true;
      return stored;
    }
    const result = await this.store.getJson<RunDocument>(keys.result(id));
    if (result?.status !== 'SUCCEEDED') return undefined;
    const entry = await writeLibraryEntry(this.store, result);
    index.upsert(entry);
    this.changedHere = true;
    return entry;
  }

  /** Deletes the run from the store, the index object and memory at once. */
  async delete(id: string): Promise<string[]> {
    const deleted = await deleteRun(this.store, id);
    this.index.remove(id);
    // A failed update of the index object costs a fresh process the deleted run for one refresh, not the delete.
    await updateLibraryIndexObject(this.store, (entries) => entries.delete(id)).catch(() => {
      this.changedHere = true;
    });
    return deleted;
  }

  private async readSnapshot(): Promise<void> {
    const stored = await this.store.readVersioned(keys.librarySnapshot).catch(() => undefined);
    if (!stored) return;
    for (const entry of snapshotEntries(stored.text)) this.index.upsert(entry);
    // Runs older than the library were backfilled before this snapshot was written.
    this.loaded = true;
  }

  private refresh(): Promise<void> {
    const listedFrom = this.now();
    // Runs older than the library are backfilled on the first read; later ones have entries from Summarize.
    this.refreshing ??= refreshLibrary(this.store, this.index, { backfill: !this.loaded, onProgress: (progress) => (this.progress = progress) })
      .then(async (changes) => {
        this.loaded = true;
        this.progress = undefined;
        this.refreshedAt = this.now();
        // The index object is brought up to date only when this process saw a change, so an idle site writes
        // nothing; a failed write costs the next fresh process some runs until its own refresh, not an answer.
        if (changes.read + changes.backfilled + changes.removed > 0 || this.changedHere) {
          this.changedHere = false;
          await updateLibraryIndexObject(this.store, (entries) => this.reconcile(entries, changes.removedIds, listedFrom)).catch(() => {
            this.changedHere = true;
          });
        }
      })
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }

  /**
   * Merges what this process knows into the index object as another writer left it: runs it read are added,
   * runs its listing no longer showed are removed, and runs the object has that this process has not seen are
   * kept (and taken in) when they are newer than its listing — a Summarize that finished meanwhile — and dropped
   * when they are older (deleted by someone else).
   */
  private reconcile(entries: Map<string, LibraryEntry>, removedIds: string[], listedFrom: number): boolean {
    let changed = false;
    for (const id of removedIds) changed = entries.delete(id) || changed;
    for (const id of this.index.ids()) {
      if (entries.has(id)) continue;
      entries.set(id, this.index.get(id)!);
      changed = true;
    }
    for (const [id, entry] of entries) {
      if (this.index.has(id)) continue;
      if (Date.parse(entry.createdAt) >= listedFrom - LISTING_GRACE_MS) this.index.upsert(entry);
      else {
        entries.delete(id);
        changed = true;
      }
    }
    return changed;
  }
}
