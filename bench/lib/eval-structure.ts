/**
 * Sections, measured: test pieces with known boundaries and known repeats, made by concatenating excerpts of
 * different real pieces of the real corpus (.corpus/real/) in known orders such as A B A B C A, run through the
 * product's own preprocess, and scored as MIREX's structure segmentation task scores (mir_eval.segment):
 *
 * - boundary hit rate within ±3 s: the share of the true inner boundaries (the start and end of the track left out,
 *   mir_eval's trim=True) matched one-to-one by a found boundary within the window;
 * - spurious boundaries per minute: found inner boundaries that match none;
 * - pairwise label F-measure (Levy & Sandler 2008; mir_eval.segment.pairwise) on 0.1 s frames: pairs of frames
 *   with one true label against pairs with one found label;
 * - repeated excerpts sharing a label: for every pair of occurrences of one excerpt, whether the label that covers
 *   most of the one is the label that covers most of the other.
 *
 * Every occurrence of a letter is the same excerpt (same source, start and length): repeated material, as a
 * chorus that comes back. The excerpts keep their own levels; cuts get 20 ms fades so no click marks them.
 * When mir_eval is installed, bench/lib/eval-structure.py scores the same boundaries and labels to cross-check.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { SongSection } from '../../core/descriptors/types.ts';
import { ffmpegPath, productManifest, runProcess, type CorpusPiece } from './real-corpus.ts';

/** Issue 10's targets. */
export const STRUCTURE_TARGETS = { hitRate: 0.9, spuriousPerMinute: 1, repeatedSharing: 0.9 } as const;
export const HIT_WINDOW_SEC = 3;
const FRAME_SEC = 0.1;

/** The orders the test pieces follow; letters stand for distinct source pieces. */
export const STRUCTURE_PATTERNS = ['ABABCA', 'ABCBA', 'ABCADB', 'ABAC', 'ABCDBA', 'ABACBC'] as const;
/** Excerpt lengths (s) by letter, so boundaries do not fall on a regular grid. */
const EXCERPT_SEC = [24, 18, 28, 16, 21, 26];

export interface StructurePiece {
  id: string;
  file: string;
  pattern: string;
  /** Source piece id per letter. */
  sources: Record<string, string>;
  boundaries: number[];
  labels: string[];
}

export interface StructureScore {
  id: string;
  pattern: string;
  found: string;
  references: number;
  hits: number;
  spurious: number;
  minutes: number;
  pairwiseF: number;
  pairwisePrecision: number;
  pairwiseRecall: number;
  repeatedPairs: number;
  repeatedSharing: number;
  boundaries: number[];
  labels: string[];
}

export interface StructureSummary {
  pieces: number;
  hitRate: number;
  spuriousPerMinute: number;
  pairwiseF: number;
  repeatedSharing: number;
  met: { hitRate: boolean; spuriousPerMinute: boolean; repeatedSharing: boolean };
}

/** Distinct source recordings (the mono / 5.1 / inverted variants of one piece are one source). */
function distinctSources(pieces: CorpusPiece[]): CorpusPiece[] {
  const seen = new Set<string>();
  const out: CorpusPiece[] = [];
  for (const piece of pieces) {
    const source = (piece as unknown as { source?: { path?: string } }).source?.path ?? piece.id;
    if (seen.has(source) || piece.durationSec < 60) continue;
    seen.add(source);
    out.push(piece);
  }
  return out;
}

/** Makes up to `count` test pieces under `dir` from the corpus pieces, each pattern in turn over rotating sources. */
export async function buildStructurePieces(pieces: CorpusPiece[], dir: string, count: number, ffmpeg = ffmpegPath()): Promise<StructurePiece[]> {
  const sources = distinctSources(pieces);
  const made: StructurePiece[] = [];
  let next = 0;
  for (let n = 0; n < count; n++) {
    const pattern = STRUCTURE_PATTERNS[n % STRUCTURE_PATTERNS.length];
    const letters = [...new Set(pattern)];
    if (sources.length < letters.length) break;
    const chosen: Record<string, CorpusPiece> = {};
    for (const letter of letters) chosen[letter] = sources[next++ % sources.length];
    const inputs: string[] = [];
    const filters: string[] = [];
    const boundaries = [0];
    [...pattern].forEach((letter, i) => {
      const source = chosen[letter];
      const length = Math.min(EXCERPT_SEC[letter.charCodeAt(0) - 65], source.durationSec / 2);
      // From a quarter into the piece: past its intro, in its body.
      const start = Math.min(source.durationSec * 0.25, source.durationSec - length - 1);
      inputs.push('-ss', start.toFixed(3), '-t', length.toFixed(3), '-i', source.audio);
      filters.push(`[${i}:a]aresample=44100,aformat=sample_fmts=fltp:channel_layouts=stereo,afade=t=in:d=0.02,areverse,afade=t=in:d=0.02,areverse[a${i}]`);
      boundaries.push(boundaries[boundaries.length - 1] + length);
    });
    const id = `structure-${n}-${pattern.toLowerCase()}`;
    const file = path.join(dir, `${id}.flac`);
    const graph = `${filters.join(';')};${[...pattern].map((_, i) => `[a${i}]`).join('')}concat=n=${pattern.length}:v=0:a=1[out]`;
    const { code, stderr } = await runProcess(ffmpeg, ['-y', '-v', 'error', ...inputs, '-filter_complex', graph, '-map', '[out]', '-c:a', 'flac', file]);
    if (code !== 0) throw new Error(`ffmpeg could not build ${id}: ${stderr.trim().split('\n').slice(-2).join(' ')}`);
    made.push({
      id, file, pattern, boundaries, labels: [...pattern],
      sources: Object.fromEntries(letters.map((l) => [l, chosen[l].id])),
    });
  }
  return made;
}

/** Label at each 0.1-s frame of [0, end). */
function frameLabels(boundaries: number[], labels: string[], end: number): string[] {
  const out: string[] = [];
  let s = 0;
  for (let t = FRAME_SEC / 2; t < end; t += FRAME_SEC) {
    while (s < labels.length - 1 && t >= boundaries[s + 1]) s++;
    out.push(labels[s]);
  }
  return out;
}

/** Scores found sections against a piece's truth (see the header for each figure). */
export function scoreStructure(piece: Pick<StructurePiece, 'id' | 'pattern' | 'boundaries' | 'labels'>, sections: Pick<SongSection, 'startSec' | 'endSec' | 'label'>[]): StructureScore {
  const end = piece.boundaries[piece.boundaries.length - 1];
  const reference = piece.boundaries.slice(1, -1);
  const found = sections.slice(1).map((s) => s.startSec);
  // One-to-one matching within the window, nearest pairs first (found boundaries are ≥ 8 s apart, so this is the
  // maximum matching mir_eval computes).
  const pairs: Array<[number, number, number]> = [];
  reference.forEach((r, i) => found.forEach((f, j) => { if (Math.abs(r - f) <= HIT_WINDOW_SEC) pairs.push([Math.abs(r - f), i, j]); }));
  pairs.sort((a, b) => a[0] - b[0]);
  const usedR = new Set<number>();
  const usedF = new Set<number>();
  for (const [, i, j] of pairs) {
    if (usedR.has(i) || usedF.has(j)) continue;
    usedR.add(i);
    usedF.add(j);
  }
  const truth = frameLabels(piece.boundaries, piece.labels, end);
  const estimate = frameLabels([0, ...found, end], sections.map((s) => s.label), end);
  // Pairwise: count agreeing pairs through label co-occurrence counts (O(frames), not O(frames²)).
  const joint = new Map<string, number>();
  const byTruth = new Map<string, number>();
  const byEstimate = new Map<string, number>();
  truth.forEach((t, i) => {
    const e = estimate[i];
    joint.set(`${t}\u0000${e}`, (joint.get(`${t}\u0000${e}`) ?? 0) + 1);
    byTruth.set(t, (byTruth.get(t) ?? 0) + 1);
    byEstimate.set(e, (byEstimate.get(e) ?? 0) + 1);
  });
  const pairsOf = (m: Map<string, number>) => [...m.values()].reduce((sum, n) => sum + (n * (n - 1)) / 2, 0);
  const agree = pairsOf(joint);
  const precision = pairsOf(byEstimate) ? agree / pairsOf(byEstimate) : 1;
  const recall = pairsOf(byTruth) ? agree / pairsOf(byTruth) : 1;
  // Repeated excerpts: the label covering most of each occurrence.
  const majority = piece.labels.map((_, k) => {
    const counts = new Map<string, number>();
    truth.forEach((_, i) => {
      const t = (i + 0.5) * FRAME_SEC;
      if (t >= piece.boundaries[k] && t < piece.boundaries[k + 1]) counts.set(estimate[i], (counts.get(estimate[i]) ?? 0) + 1);
    });
    return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
  });
  let repeatedPairs = 0;
  let sharing = 0;
  for (let a = 0; a < piece.labels.length; a++) {
    for (let b = a + 1; b < piece.labels.length; b++) {
      if (piece.labels[a] !== piece.labels[b]) continue;
      repeatedPairs++;
      if (majority[a] === majority[b]) sharing++;
    }
  }
  return {
    id: piece.id, pattern: piece.pattern, found: sections.map((s) => s.label).join(''),
    references: reference.length, hits: usedR.size, spurious: found.length - usedF.size, minutes: end / 60,
    pairwiseF: precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0, pairwisePrecision: precision, pairwiseRecall: recall,
    repeatedPairs, repeatedSharing: sharing, boundaries: [0, ...found, end], labels: sections.map((s) => s.label),
  };
}

export function summarizeStructure(scores: StructureScore[]): StructureSummary {
  const sum = (f: (s: StructureScore) => number) => scores.reduce((total, s) => total + f(s), 0);
  const hitRate = sum((s) => s.references) ? sum((s) => s.hits) / sum((s) => s.references) : 0;
  const spuriousPerMinute = sum((s) => s.minutes) ? sum((s) => s.spurious) / sum((s) => s.minutes) : 0;
  const repeatedSharing = sum((s) => s.repeatedPairs) ? sum((s) => s.repeatedSharing) / sum((s) => s.repeatedPairs) : 0;
  const pairwiseF = scores.length ? sum((s) => s.pairwiseF) / scores.length : 0;
  return {
    pieces: scores.length, hitRate, spuriousPerMinute, pairwiseF, repeatedSharing,
    met: {
      hitRate: hitRate >= STRUCTURE_TARGETS.hitRate,
      spuriousPerMinute: spuriousPerMinute <= STRUCTURE_TARGETS.spuriousPerMinute,
      repeatedSharing: repeatedSharing >= STRUCTURE_TARGETS.repeatedSharing,
    },
  };
}

/** Builds the test pieces, runs each through preprocess, scores the manifest's sections. */
export async function evaluateStructure(pieces: CorpusPiece[], dir: string, count: number, ffmpeg = ffmpegPath()): Promise<{ pieces: StructurePiece[]; scores: StructureScore[]; summary: StructureSummary }> {
  const built = await buildStructurePieces(pieces, dir, count, ffmpeg);
  const scores: StructureScore[] = [];
  for (const piece of built) {
    const manifest = await productManifest(piece.file, piece.id, ffmpeg);
    if (!manifest.sections?.length) throw new Error(`preprocess wrote no sections for ${piece.id}`);
    scores.push(scoreStructure(piece, manifest.sections));
  }
  return { pieces: built, scores, summary: summarizeStructure(scores) };
}

/**
 * mir_eval's own scores of the same boundaries and labels (detection at ±3 s with trim, pairwise F), or null
 * when mir_eval is not installed; for the bench to print beside its own.
 */
export function mirEvalCrossCheck(pieces: StructurePiece[], scores: StructureScore[], python = process.env.PYTHON ?? 'python3'): Array<{ id: string; hitRate: number; pairwiseF: number }> | null {
  const script = path.join(__dirname, 'eval-structure.py');
  if (!existsSync(script)) return null;
  const input = pieces.map((p, i) => ({ id: p.id, reference: { boundaries: p.boundaries, labels: p.labels }, estimate: { boundaries: scores[i].boundaries, labels: scores[i].labels } }));
  const run = spawnSync(python, [script], { input: JSON.stringify(input), encoding: 'utf8' });
  if (run.status !== 0) return null;
  try {
    return JSON.parse(run.stdout) as Array<{ id: string; hitRate: number; pairwiseF: number }>;
  } catch {
    return null;
  }
}
