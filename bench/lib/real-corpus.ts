/**
 * The real-music corpus as the bench and its CI test see it: the truth table (bench/real-corpus/truth.json,
 * built with the audio by `npm run corpus:real`), what the product says about each file through its own
 * preprocess path, ffmpeg's ebur128 reference, and the scores the field uses:
 *
 *   tempo   exact: within ±4 % of the truth (MIREX "Accuracy 1"); octave: also ×2 or ×½ (for compound meters the
 *           truth's dotted-quarter rate counts as well, so ×3/×⅓ of the quarter note is right there);
 *           on constant-tempo pieces only. Same rule as mir_eval.tempo.detection with tol = 0.04.
 *   key     exact and weighted as mir_eval.key.weighted_score (exact 1, estimate a fifth above 0.5, relative
 *           0.3, parallel 0.2, else 0; "no key" scores 0), on pieces whose notes fit their key signature.
 *   meter   exact, on pieces with a meter in their truth.
 *   loudness |ours − ebur128| for integrated loudness, loudness range and true peak, on every file.
 *   windows adjacent 10 s windows whose tempo jumps by more than 25 % (either way; one with a tempo and one
 *           without counts as a jump) on constant-tempo pieces; adjacent windows whose key differs (a key and
 *           "no key" differ) on pieces whose truth has no key change.
 *
 * Yardsticks (bench/lib/yardsticks.ts) fill the same Estimate shape with what they measure; a field left
 * undefined means "this tool does not measure that" and prints as n/a.
 */
import { spawn } from 'node:child_process';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { BlobStore } from '../../core/blob-store.ts';
import type { Manifest } from '../../core/contract.ts';
import { preprocessUpload } from '../../core/preprocess.ts';
import { percussionWords } from '../../core/vocabulary.ts';
import { ON_GRID_MIN } from '../../scripts/lib/midi-truth.ts';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const REAL_AUDIO_DIR = path.join(REPO_ROOT, '.corpus', 'real');
export const TRUTH_FILE = path.join(REPO_ROOT, 'bench', 'real-corpus', 'truth.json');

// ---------------------------------------------------------------- the truth

export type MeterName = '2/4' | '3/4' | '4/4' | '6/8' | '12/8';

export interface TempoTruth {
  bpm: number;
  constant: boolean;
  map: Array<{ atSec: number; bpm: number }>;
  /** For 6/8 and 12/8: the dotted-quarter rate. */
  beatBpm?: number;
  /** MIDI pieces: share of the onsets on the written grid (scripts/lib/midi-truth.ts, gridFit). */
  onGrid?: number;
}

export interface KeyTruth {
  tonic: string;
  mode: 'major' | 'minor';
  /** The notes fit the key signature (the signature is a fair truth for the key). */
  fitsNotes: boolean;
}

export interface TruthPiece {
  id: string;
  file: string;
  source?: { package: string; path: string };
  kind: string;
  durationSec: number;
  channels: number;
  tempo: TempoTruth | null;
  meter: MeterName | null;
  key: KeyTruth | null;
  keyChanges: number | unknown[];
  ci: boolean;
  /**
   * From a package no threshold was chosen on (scripts/corpus-real.ts, HELD_OUT): the bench scores these apart
   * and the tuning tools (bench/lib/eval-*.ts) leave them out, so their figures stay out-of-sample.
   */
  heldOut?: boolean;
  /**
   * Which held-out group: A, the first (its figures have been read since 2026-11-28), or B (freedoom,
   * hydrogen-data), added later and printed apart so that its first figures are not read as A's.
   */
  heldOutGroup?: HeldOutGroup;
  /** Share of the notes on General MIDI's drum channel: 0 no drum at all, 1 a drum machine alone; null or absent where the source does not say. */
  drumNoteShare?: number | null;
}

export type HeldOutGroup = 'A' | 'B';

/** A truth piece with its audio file resolved to an absolute path. */
export interface CorpusPiece extends TruthPiece {
  audio: string;
}

export interface LoadedCorpus {
  pieces: CorpusPiece[];
  /** Pieces of the truth table whose audio is not built. */
  missing: TruthPiece[];
  truthFile: string;
}

function resolveAudio(file: string, audioDir: string): string {
  if (path.isAbsolute(file)) return file;
  const underAudio = path.join(audioDir, file);
  if (existsSync(underAudio)) return underAudio;
  const underRepo = path.join(REPO_ROOT, file);
  return existsSync(underRepo) ? underRepo : underAudio;
}

/** The truth table and which of its pieces have audio; undefined when there is no truth table at all. */
export function loadRealCorpus(options: { slice?: boolean; truthFile?: string; audioDir?: string } = {}): LoadedCorpus | undefined {
  // REAL_CORPUS_TRUTH / REAL_CORPUS_AUDIO point the bench and its test at another build of the corpus.
  const truthFile = options.truthFile ?? process.env.REAL_CORPUS_TRUTH ?? TRUTH_FILE;
  if (!existsSync(truthFile)) return undefined;
  const truth = JSON.parse(readFileSync(truthFile, 'utf8')) as { pieces: TruthPiece[] };
  const chosen = truth.pieces.filter((piece) => !options.slice || piece.ci);
  const pieces: CorpusPiece[] = [];
  const missing: TruthPiece[] = [];
  for (const piece of chosen) {
    const audio = resolveAudio(piece.file, options.audioDir ?? process.env.REAL_CORPUS_AUDIO ?? REAL_AUDIO_DIR);
    if (existsSync(audio)) pieces.push({ ...piece, audio });
    else missing.push(piece);
  }
  return { pieces, missing, truthFile };
}

/** The pieces no threshold was chosen on, and the rest. */
export const isHeldOut = (piece: Pick<TruthPiece, 'heldOut'>) => piece.heldOut === true;
/** The held-out group of a piece (a held-out piece without one is from before the groups: A); undefined when tuned. */
export const heldOutGroupOf = (piece: Pick<TruthPiece, 'heldOut' | 'heldOutGroup'>): HeldOutGroup | undefined =>
  piece.heldOut === true ? (piece.heldOutGroup ?? 'A') : undefined;
export const HELD_OUT_GROUPS: HeldOutGroup[] = ['A', 'B'];

/**
 * The pieces a tuning tool (bench/lib/eval-*.ts) looks at: the tuned ones; with --held-out group A alone, with
 * --held-out-b group B alone; and the line to print when it shows held-out figures, which are to look at, never
 * to choose a setting on.
 */
export function tuningToolPieces<T extends Pick<TruthPiece, 'heldOut' | 'heldOutGroup'>>(pieces: T[], args: string[]): { pieces: T[]; note?: string } {
  const group: HeldOutGroup | undefined = args.includes('--held-out-b') ? 'B' : args.includes('--held-out') ? 'A' : undefined;
  const chosen = pieces.filter((p) => heldOutGroupOf(p) === group);
  if (!group) return { pieces: chosen };
  return {
    pieces: chosen,
    note: group === 'A'
      ? 'held-out group A only: figures to look at, not to tune on'
      : 'held-out group B only (freedoom, hydrogen-data): figures to look at, NOT to tune on; a setting chosen after reading them makes these pieces in-sample',
  };
}

export const keyChangeCount = (piece: Pick<TruthPiece, 'keyChanges'>) =>
  Array.isArray(piece.keyChanges) ? piece.keyChanges.length : Number(piece.keyChanges ?? 0) || 0;

// ---------------------------------------------------------------- keys

const LETTER_PC: Record<string, number> = { c: 0, d: 2, e: 4, f: 5, g: 7, a: 9, b: 11 };
/** Pitch-class names mir_eval accepts (it knows no Cb, E#, Fb, B#). */
export const KEY_NAMES = ['C', 'C#', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'Ab', 'A', 'Bb', 'B'];

/** "F#", "Eb", "B♭", "Cb" → pitch class; undefined when it is not a note name. */
export function pitchClass(name: string): number | undefined {
  const match = /^([A-Ga-g])((?:#|b|♯|♭|s|-sharp|-flat)*)$/.exec(name.trim());
  if (!match) return undefined;
  let pc = LETTER_PC[match[1].toLowerCase()];
  for (const accidental of match[2].match(/#|♯|-sharp|s|b|♭|-flat/g) ?? []) pc += ['#', '♯', '-sharp', 's'].includes(accidental) ? 1 : -1;
  return ((pc % 12) + 12) % 12;
}

export interface Key { pc: number; mode: 'major' | 'minor' }

/** "F# minor" (the product's and mir_eval's form) → a key; null for no key or anything unreadable. */
export function parseKey(text: string | null | undefined): Key | null {
  if (!text) return null;
  const match = /^\s*(\S+)\s+(major|minor|maj|min)\s*$/i.exec(text);
  if (!match) return null;
  const pc = pitchClass(match[1]);
  if (pc === undefined) return null;
  return { pc, mode: match[2].toLowerCase().startsWith('maj') ? 'major' : 'minor' };
}

export function truthKey(key: KeyTruth): Key | null {
  const pc = pitchClass(key.tonic);
  return pc === undefined ? null : { pc, mode: key.mode };
}

/** mir_eval's spelling of a key ("X" for none). */
export const keyString = (key: Key | null) => (key ? `${KEY_NAMES[key.pc]} ${key.mode}` : 'X');

/**
 * mir_eval.key.weighted_score, the MIREX key score: 1 for the same key, 0.5 when the estimate is a perfect
 * fifth above in the same mode, 0.3 for the relative major/minor, 0.2 for the parallel one, else 0.
 */
export function keyWeightedScore(reference: Key | null, estimate: Key | null): number {
  if (reference === null && estimate === null) return 1;
  if (reference === null || estimate === null) return 0;
  const up = (((estimate.pc - reference.pc) % 12) + 12) % 12;
  if (up === 0 && estimate.mode === reference.mode) return 1;
  if (estimate.mode === reference.mode && up === 7) return 0.5;
  if (reference.mode === 'major' && estimate.mode === 'minor' && up === 9) return 0.3;
  if (reference.mode === 'minor' && estimate.mode === 'major' && up === 3) return 0.3;
  if (estimate.mode !== reference.mode && up === 0) return 0.2;
  return 0;
}

// ---------------------------------------------------------------- tempo

export const TEMPO_TOLERANCE = 0.04;

/** The tempi that count as exactly right: the truth's BPM and, for compound meters, its dotted-quarter rate. */
export function acceptedTempi(tempo: Pick<TempoTruth, 'bpm' | 'beatBpm'>): number[] {
  return tempo.beatBpm && tempo.beatBpm > 0 && Math.abs(tempo.beatBpm - tempo.bpm) > 1e-6 ? [tempo.bpm, tempo.beatBpm] : [tempo.bpm];
}

/** As mir_eval.tempo.detection's hit: |estimate − reference| ≤ tol · reference, for any accepted reference. */
export function tempoScore(measured: number | null | undefined, tempo: Pick<TempoTruth, 'bpm' | 'beatBpm'>): { exact: boolean; octave: boolean } {
  if (measured === null || measured === undefined || !(measured > 0)) return { exact: false, octave: false };
  const hit = (reference: number) => Math.abs(measured - reference) <= TEMPO_TOLERANCE * reference;
  const accepted = acceptedTempi(tempo);
  return {
    exact: accepted.some(hit),
    octave: accepted.some((t) => hit(t) || hit(2 * t) || hit(t / 2)),
  };
}

// ---------------------------------------------------------------- windows

export interface WindowEstimate {
  startSec: number;
  endSec: number;
  bpm?: number | null;
  key?: string | null;
  percussiveRatio?: number | null;
}

export const TEMPO_JUMP_RATIO = 1.25;

/** The percussion words of the windows of one kind of music: how many windows, and how many got each word. */
export interface PercussionWordCount {
  pieces: number;
  windows: number;
  driven: number;
  sustained: number;
}

/**
 * How the percussion words (core/vocabulary.ts, PERCUSSION_WORDS) fall on the 10 s windows of the music whose
 * source says what drums it has: none at all (no note on the MIDI drum channel) and a drum machine alone (a
 * Hydrogen song). Music without a drum should never read "driven by percussion"; a drum machine always should.
 */
export function percussionWordsByDrums(pieces: Array<{ drumNoteShare?: number | null; windows?: WindowEstimate[] }>): { noDrums: PercussionWordCount; drumsAlone: PercussionWordCount } {
  const count = (drums: number): PercussionWordCount => {
    const out = { pieces: 0, windows: 0, driven: 0, sustained: 0 };
    for (const piece of pieces) {
      if (piece.drumNoteShare !== drums || !piece.windows) continue;
      out.pieces++;
      for (const w of piece.windows) {
        if (w.percussiveRatio === null || w.percussiveRatio === undefined) continue;
        const words = percussionWords(w.percussiveRatio);
        out.windows++;
        if (words === 'driven by percussion') out.driven++;
        if (words === 'mostly sustained tones') out.sustained++;
      }
    }
    return out;
  };
  return { noDrums: count(0), drumsAlone: count(1) };
}

/** Adjacent window pairs, and those whose tempo jumps by more than 25 % (or has a tempo on one side only). */
export function adjacentTempoJumps(windows: WindowEstimate[]): { pairs: number; jumps: number } {
  let pairs = 0;
  let jumps = 0;
  for (let i = 1; i < windows.length; i++) {
    const a = windows[i - 1].bpm ?? null;
    const b = windows[i].bpm ?? null;
    if (a === null && b === null) {
      pairs++;
      continue;
    }
    pairs++;
    if (a === null || b === null || !(a > 0) || !(b > 0) || Math.max(a, b) / Math.min(a, b) > TEMPO_JUMP_RATIO) jumps++;
  }
  return { pairs, jumps };
}

/** Adjacent window pairs, and those whose key differs (a key beside "no key" differs). */
export function adjacentKeyChanges(windows: WindowEstimate[]): { pairs: number; changes: number } {
  let changes = 0;
  for (let i = 1; i < windows.length; i++) {
    if (keyString(parseKey(windows[i - 1].key)) !== keyString(parseKey(windows[i].key))) changes++;
  }
  return { pairs: Math.max(0, windows.length - 1), changes };
}

// ---------------------------------------------------------------- what a measurer says about one file

/** What one measurer (the product or a yardstick) says about one file; undefined = it does not measure that. */
export interface Estimate {
  bpm?: number | null;
  meter?: string | null;
  key?: string | null;
  loudnessLufs?: number | null;
  loudnessRangeLu?: number | null;
  truePeakDbtp?: number | null;
  windows?: WindowEstimate[];
  /** Tempo windows and key windows may come from different methods of one tool. */
  keyWindows?: WindowEstimate[];
  seconds?: number;
  error?: string;
}

export interface Ebur128Reference {
  integrated: number;
  range: number;
  truePeak: number;
}

// ---------------------------------------------------------------- ffmpeg

export function runProcess(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<{ stdout: string; stderr: string; code: number | null; seconds: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env, cwd: options.cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ stdout, stderr, code, seconds: (performance.now() - started) / 1000 }));
  });
}

export const ffmpegPath = () => process.env.FFMPEG_BIN || 'ffmpeg';

/** `ffmpeg -af ebur128=peak=true` on the file: the loudness reference (integrated LUFS, LRA in LU, true peak in dBTP). */
export async function ebur128Reference(file: string, ffmpeg = ffmpegPath()): Promise<Ebur128Reference> {
  const { stderr, code } = await runProcess(ffmpeg, ['-nostats', '-hide_banner', '-i', file, '-af', 'ebur128=peak=true', '-f', 'null', '-']);
  if (code !== 0) throw new Error(`ffmpeg ebur128 failed on ${file}: ${stderr.trim().split('\n').slice(-2).join(' ')}`);
  const summary = stderr.slice(stderr.lastIndexOf('Summary:'));
  const number = (pattern: RegExp) => {
    const text = pattern.exec(summary)?.[1];
    if (text === undefined) return NaN;
    return text === '-inf' ? -Infinity : Number(text);
  };
  return {
    integrated: number(/I:\s+(-?[\d.]+|-inf) LUFS/),
    range: number(/LRA:\s+(-?[\d.]+) LU/),
    truePeak: number(/True peak:\s+Peak:\s+(-?[\d.]+|-inf) dBFS/),
  };
}

// ---------------------------------------------------------------- the product's own path

/**
 * A BlobStore over local files: uploads/{id}/{name} maps to a file on disk (ffmpeg opens its path, as it opens a
 * presigned URL in AWS), the manifest stays in memory, window bodies are dropped.
 */
export class LocalFileStore implements BlobStore {
  readonly bucket = 'local-files';
  private readonly files = new Map<string, string>();
  private readonly documents = new Map<string, string>();

  addFile(key: string, file: string): void {
    this.files.set(key, file);
  }
  async head(key: string) {
    const file = this.files.get(key);
    if (file) return { sizeBytes: statSync(file).size };
    const document = this.documents.get(key);
    return document === undefined ? undefined : { sizeBytes: Buffer.byteLength(document) };
  }
  async getStream(key: string) {
    const file = this.files.get(key);
    if (!file) throw new Error(`${key} is not a file of this store`);
    return createReadStream(file);
  }
  async getBytes(key: string) {
    const document = this.documents.get(key);
    if (document === undefined) throw new Error(`${key} was not written`);
    return Buffer.from(document);
  }
  async getJson<T>(key: string) {
    const document = this.documents.get(key);
    return document === undefined ? undefined : (JSON.parse(document) as T);
  }
  async put(key: string, body: Buffer | string) {
    if (typeof body === 'string') this.documents.set(key, body);
  }
  async list(prefix: string) {
    return [...this.files.keys(), ...this.documents.keys()].filter((key) => key.startsWith(prefix));
  }
  async presignGet(key: string) {
    const file = this.files.get(key);
    if (!file) throw new Error(`${key} is not a file of this store`);
    return file;
  }
}

const PRODUCT_LIMITS = { maxUploadBytes: 2_000_000_000, maxDurationSec: 3600, minDurationSec: 0.2 };

/** Runs the product's preprocess on a local file and returns its manifest (windows dropped). */
export async function productManifest(file: string, id: string, ffmpeg = ffmpegPath()): Promise<Manifest> {
  const store = new LocalFileStore();
  const safeId = id.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+/, '').slice(0, 40) || 'piece';
  const key = `uploads/${safeId}/${path.basename(file).replace(/[^\w.-]+/g, '-')}`;
  store.addFile(key, file);
  const result = await preprocessUpload({ id: safeId, key }, { store, ffmpeg, limits: PRODUCT_LIMITS });
  const manifest = await store.getJson<Manifest>(result.manifestKey);
  if (!manifest) throw new Error(`preprocess wrote no manifest for ${file}`);
  return manifest;
}

const numberOrNull = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);

/** What the product says about a file, read off its manifest. */
export function estimateFromManifest(manifest: Manifest): Estimate {
  const tags = manifest.tags as unknown as Record<string, unknown>;
  const windows = manifest.windows.map((w) => ({
    startSec: w.startSec,
    endSec: w.endSec,
    bpm: numberOrNull(w.tags.bpm),
    key: typeof w.tags.key === 'string' ? w.tags.key : null,
    percussiveRatio: numberOrNull(w.tags.percussiveRatio),
  }));
  return {
    bpm: numberOrNull(tags.bpm),
    meter: typeof tags.meter === 'string' ? tags.meter : null,
    key: typeof tags.key === 'string' ? tags.key : null,
    loudnessLufs: numberOrNull(tags.loudnessLufs),
    loudnessRangeLu: numberOrNull(tags.loudnessRangeLu),
    truePeakDbtp: numberOrNull(tags.truePeakDbtp),
    windows,
    keyWindows: windows,
  };
}

/** The product's estimate for one file, timed; an error is kept, not thrown, so one bad file does not stop a bench. */
export async function measureWithProduct(file: string, id: string, ffmpeg = ffmpegPath()): Promise<{ estimate: Estimate; manifest?: Manifest }> {
  const started = performance.now();
  try {
    const manifest = await productManifest(file, id, ffmpeg);
    return { estimate: { ...estimateFromManifest(manifest), seconds: (performance.now() - started) / 1000 }, manifest };
  } catch (error) {
    return { estimate: { error: `${(error as Error).name}: ${(error as Error).message}`, seconds: (performance.now() - started) / 1000 } };
  }
}

/** One piece measured by {@link measureInChild}. */
export interface ChildMeasurement {
  id: string;
  estimate: Estimate;
  reference?: Ebur128Reference;
  referenceError?: string;
}

/**
 * The product's estimates and the ebur128 references of many files, measured in a child Node process (tsx):
 * the product at the speed it runs in production. (Inside jest's module sandbox the analyzer runs several times
 * slower, which would make a test of a few minutes of music take minutes.)
 */
export async function measureInChild(files: Array<{ id: string; audio: string }>, options: { ffmpeg?: string; concurrency?: number } = {}): Promise<ChildMeasurement[]> {
  const request = JSON.stringify({ files, ffmpeg: options.ffmpeg ?? ffmpegPath(), concurrency: options.concurrency ?? 2 });
  const { stdout, stderr, code } = await runProcess(process.execPath, ['--import', 'tsx', __filename, request], {
    env: { ...process.env, REAL_CORPUS_CHILD: '1' },
    cwd: REPO_ROOT, // where --import finds tsx
  });
  if (code !== 0) throw new Error(`measuring in a child process failed (${code}): ${stderr.trim().split('\n').slice(-5).join(' ')}`);
  return JSON.parse(stdout) as ChildMeasurement[];
}

async function childMain(requestJson: string): Promise<void> {
  const request = JSON.parse(requestJson) as { files: Array<{ id: string; audio: string }>; ffmpeg: string; concurrency: number };
  const results = await inParallel(request.files, request.concurrency, async ({ id, audio }): Promise<ChildMeasurement> => {
    const [{ estimate }, reference] = await Promise.all([
      measureWithProduct(audio, id, request.ffmpeg),
      ebur128Reference(audio, request.ffmpeg).catch((error: Error) => error),
    ]);
    return reference instanceof Error ? { id, estimate, referenceError: reference.message } : { id, estimate, reference };
  });
  // JSON has no -Infinity: a silent file's reference travels as null and comes back as "not finite".
  process.stdout.write(JSON.stringify(results, (_key, value) => (typeof value === 'number' && !Number.isFinite(value) ? null : value)));
}

if (require.main === module && process.env.REAL_CORPUS_CHILD === '1') {
  childMain(process.argv[2]).catch((error: Error) => {
    process.stderr.write(`${error.stack ?? error.message}\n`);
    process.exit(1);
  });
}

// ---------------------------------------------------------------- scoring a corpus

/** The truth the scores need, for real and synthesized pieces alike. */
export interface ScoredPiece {
  id: string;
  tempo: TempoTruth | null;
  meter: string | null;
  key: KeyTruth | null;
  keyChanges: number;
  reference?: Ebur128Reference;
}

export interface Ratio { hits: number; n: number }
export interface Spread { max: number; median: number; n: number; missing: number }

export interface ScoreRow {
  tempoExact: Ratio | null;
  tempoOctave: Ratio | null;
  meterExact: Ratio | null;
  keyExact: Ratio | null;
  keyWeighted: { sum: number; n: number } | null;
  loudnessDelta: Spread | null;
  rangeDelta: Spread | null;
  truePeakDelta: Spread | null;
  tempoJumps: Ratio | null;
  keyChanges: Ratio | null;
}

export interface PieceScore {
  id: string;
  tempoExact?: boolean;
  tempoOctave?: boolean;
  meterExact?: boolean;
  keyWeighted?: number;
  loudnessDelta?: number | null;
  rangeDelta?: number | null;
  truePeakDelta?: number | null;
  tempoJumps?: { pairs: number; jumps: number };
  keyChanges?: { pairs: number; changes: number };
}

/** Any truth with a tempo (the bench's ScoredPiece, the tuning tools' own truth types). */
type WithTempo = { tempo: { constant: boolean; onGrid?: number } | null };
export const isConstantTempo = (piece: WithTempo) => piece.tempo !== null && piece.tempo.constant;
/**
 * The written tempo is scored as the truth: constant, and (for a MIDI piece) its notes on the written grid, i.e.
 * `onGrid` ≥ ON_GRID_MIN (scripts/lib/midi-truth.ts says why that value). A piece played in live and never
 * quantized keeps its sequencer's tempo in the file while its notes follow the player.
 */
export const scoresTempo = (piece: WithTempo) =>
  isConstantTempo(piece) && (piece.tempo!.onGrid === undefined || piece.tempo!.onGrid >= ON_GRID_MIN);
export const hasFittingKey = (piece: Pick<ScoredPiece, 'key'>) => piece.key !== null && piece.key.fitsNotes && truthKey(piece.key) !== null;

/** One measurer's scores on one piece; a score it cannot give (it does not measure that) is left out. */
export function scorePiece(piece: ScoredPiece, estimate: Estimate): PieceScore {
  const score: PieceScore = { id: piece.id };
  if (scoresTempo(piece) && 'bpm' in estimate && !estimate.error) {
    const { exact, octave } = tempoScore(estimate.bpm, piece.tempo as TempoTruth);
    score.tempoExact = exact;
    score.tempoOctave = octave;
  } else if (scoresTempo(piece) && estimate.error) {
    score.tempoExact = false;
    score.tempoOctave = false;
  }
  if (piece.meter && ('meter' in estimate || estimate.error)) score.meterExact = estimate.meter === piece.meter;
  if (hasFittingKey(piece) && ('key' in estimate || estimate.error)) {
    score.keyWeighted = keyWeightedScore(truthKey(piece.key as KeyTruth), parseKey(estimate.key));
  }
  if (piece.reference && ('loudnessLufs' in estimate || estimate.error)) {
    const delta = (ours: number | null | undefined, reference: number) => {
      if (!Number.isFinite(reference)) return ours === null || ours === undefined || ours <= -70 ? 0 : null;
      return ours === null || ours === undefined ? null : Math.abs(ours - reference);
    };
    score.loudnessDelta = delta(estimate.loudnessLufs, piece.reference.integrated);
    score.rangeDelta = delta(estimate.loudnessRangeLu, piece.reference.range);
    score.truePeakDelta = delta(estimate.truePeakDbtp, piece.reference.truePeak);
  }
  if (isConstantTempo(piece) && estimate.windows && estimate.windows.some((w) => 'bpm' in w)) {
    score.tempoJumps = adjacentTempoJumps(estimate.windows);
  }
  const keyWindows = estimate.keyWindows ?? estimate.windows;
  if (piece.keyChanges === 0 && keyWindows && keyWindows.some((w) => 'key' in w)) {
    score.keyChanges = adjacentKeyChanges(keyWindows);
  }
  return score;
}

function median(values: number[]): number {
  const sorted = values.slice().sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The corpus row of one measurer from its piece scores. */
export function summarize(scores: PieceScore[]): ScoreRow {
  const ratio = (pick: (s: PieceScore) => boolean | undefined): Ratio | null => {
    const values = scores.map(pick).filter((v): v is boolean => v !== undefined);
    return values.length ? { hits: values.filter(Boolean).length, n: values.length } : null;
  };
  const spread = (pick: (s: PieceScore) => number | null | undefined): Spread | null => {
    const values = scores.map(pick).filter((v) => v !== undefined);
    if (!values.length) return null;
    const known = values.filter((v): v is number => v !== null);
    return { max: known.length ? Math.max(...known) : NaN, median: known.length ? median(known) : NaN, n: known.length, missing: values.length - known.length };
  };
  const weighted = scores.map((s) => s.keyWeighted).filter((v): v is number => v !== undefined);
  const sumPairs = (pick: (s: PieceScore) => { pairs: number; hits: number } | undefined): Ratio | null => {
    const values = scores.map(pick).filter((v): v is { pairs: number; hits: number } => v !== undefined);
    return values.length ? { hits: values.reduce((a, v) => a + v.hits, 0), n: values.reduce((a, v) => a + v.pairs, 0) } : null;
  };
  return {
    tempoExact: ratio((s) => s.tempoExact),
    tempoOctave: ratio((s) => s.tempoOctave),
    meterExact: ratio((s) => s.meterExact),
    keyExact: weighted.length ? { hits: weighted.filter((w) => w === 1).length, n: weighted.length } : null,
    keyWeighted: weighted.length ? { sum: weighted.reduce((a, b) => a + b, 0), n: weighted.length } : null,
    loudnessDelta: spread((s) => s.loudnessDelta),
    rangeDelta: spread((s) => s.rangeDelta),
    truePeakDelta: spread((s) => s.truePeakDelta),
    tempoJumps: sumPairs((s) => (s.tempoJumps ? { pairs: s.tempoJumps.pairs, hits: s.tempoJumps.jumps } : undefined)),
    keyChanges: sumPairs((s) => (s.keyChanges ? { pairs: s.keyChanges.pairs, hits: s.keyChanges.changes } : undefined)),
  };
}

export function toScoredPiece(piece: TruthPiece, reference?: Ebur128Reference): ScoredPiece {
  return { id: piece.id, tempo: piece.tempo, meter: piece.meter, key: piece.key, keyChanges: keyChangeCount(piece), reference };
}

// ---------------------------------------------------------------- the targets

/** Issue 9's targets on real music. */
export const TARGETS = {
  loudnessLu: 0.5,
  rangeLu: 1,
  truePeakDb: 0.5,
  tempoExactShare: 0.8,
  tempoOctaveShare: 0.95,
  keyExactShare: 0.8,
  tempoJumpShare: 0.03,
  keyChangeShare: 0.2,
} as const;

// ---------------------------------------------------------------- running many things at once

export async function inParallel<T, R>(items: T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i], i);
    }
  }));
  return results;
}
