/**
 * Key and mode: one key per track with a confidence, and the key per section.
 *
 * Methods and references:
 * - Key-profile correlation (Krumhansl & Schmuckler; Krumhansl 1990, "Cognitive Foundations of Musical
 *   Pitch"): Pearson correlation of a chroma vector with the 24 rotations of a major and a minor profile. The
 *   profiles published for this are kept below with their sources; the one used is KEY_PROFILE, chosen by
 *   measurement on the real-music corpus (bench/lib/eval-key.ts prints them side by side).
 * - Audio key finding from a summed, per-frame-normalised chroma (Gómez 2006, "Tonal description of music
 *   audio signals", PhD thesis, UPF; §4): each frame's chroma is scaled to unit maximum, so loud passages do
 *   not outvote quiet ones, and frames without tonal content (silence, a drum fill) add nothing.
 * - Key per section as a Viterbi path over the 24 keys plus "no key" (a hidden-Markov key tracker in the
 *   manner of Noland & Sandler 2007, "Signal processing parameters for tonality estimation", and of
 *   Papadopoulos & Peeters 2012, "Local key estimation from an audio signal relying on harmony and metrical
 *   structures"): per block, the profile correlation of the chroma of the surrounding context is the
 *   emission score; changing key costs MODULATION_COST, so a passing chord is not a modulation and a real one
 *   is a section with a start time. Sections shorter than MIN_SECTION_SEC merge into a neighbour.
 * - No key (null) for what has no tonal centre: a chroma too flat (noise, drums, speech: too weak a best
 *   correlation, or too flat a profile) or one dominated by a single pitch class (a held note, a drone).
 */
import type { KeySection } from './types.ts';
import type { ChromaFeatures } from './chroma.ts';
import { PITCH_CLASSES } from './frames.ts';
import { keyName as nameOfKey, PITCH_NAMES } from '../vocabulary.ts';

export interface KeyEstimate {
  key: string | null;
  confidence: number;
  /** 0..11, C = 0; -1 when no key. */
  tonic: number;
  mode: 'major' | 'minor' | null;
}

export interface KeyAnalysis {
  track: KeyEstimate;
  /** Cover [0, durationSec] without gaps or overlaps, in order. */
  sections: KeySection[];
}

/** The note names are core/vocabulary.ts's, so a key found here is spelled as the captions and the site spell it. */
export { PITCH_NAMES };

export interface KeyProfile {
  major: readonly number[];
  minor: readonly number[];
  reference: string;
}

/** Published major/minor key profiles, tonic first (C major / C minor). */
export const KEY_PROFILES = {
  krumhanslKessler: {
    major: [6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88],
    minor: [6.33, 2.68, 3.52, 5.38, 2.6, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17],
    reference: 'Krumhansl & Kessler 1982, probe-tone ratings (Psychological Review 89)',
  },
  temperley: {
    major: [5, 2, 3.5, 2, 4.5, 4, 2, 4.5, 2, 3.5, 1.5, 4],
    minor: [5, 2, 3.5, 4.5, 2, 4, 2, 4.5, 3.5, 2, 1.5, 4],
    reference: 'Temperley 1999, "What\'s key for key? The Krumhansl-Schmuckler key-finding algorithm reconsidered" (Music Perception 17)',
  },
  temperleyKostkaPayne: {
    major: [0.748, 0.06, 0.488, 0.082, 0.67, 0.46, 0.096, 0.715, 0.104, 0.366, 0.057, 0.4],
    minor: [0.712, 0.084, 0.474, 0.618, 0.049, 0.46, 0.105, 0.747, 0.404, 0.067, 0.133, 0.33],
    reference: 'Temperley 2007, "Music and Probability" (MIT Press): pitch-class distributions of the Kostka–Payne corpus',
  },
  aardenEssen: {
    major: [17.7661, 0.145624, 14.9265, 0.160186, 19.8049, 11.3587, 0.291248, 22.062, 0.145624, 8.15494, 0.232998, 4.95122],
    minor: [18.2648, 0.737619, 14.0499, 16.8599, 0.702494, 14.4362, 0.702494, 18.6161, 4.56621, 1.93186, 7.37619, 1.75623],
    reference: 'Aarden 2003, "Dynamic melodic expectancy" (PhD thesis, Ohio State): Essen folksong collection',
  },
  bellmanBudge: {
    major: [16.8, 0.86, 12.95, 1.41, 13.49, 11.93, 1.25, 20.28, 1.8, 8.04, 0.62, 10.57],
    minor: [18.16, 0.69, 12.99, 13.34, 1.07, 11.15, 1.38, 21.07, 7.49, 1.53, 0.92, 10.21],
    reference: 'Bellman 2005, "About the determination of key of a musical excerpt" (CMMR), from Budge 1943 chord statistics',
  },
  shaath: {
    major: [6.6, 2.0, 3.5, 2.3, 4.6, 4.0, 2.5, 5.2, 2.4, 3.7, 2.3, 3.4],
    minor: [6.5, 2.7, 3.5, 5.4, 2.6, 3.5, 2.5, 5.2, 4.0, 2.7, 4.3, 3.2],
    reference: 'Sha\'ath 2011, "Estimation of key in digital music recordings" (MSc thesis, Birkbeck): KK tuned on audio',
  },
} satisfies Record<string, KeyProfile>;

export type KeyProfileName = keyof typeof KEY_PROFILES;

/**
 * The profile used, chosen by measurement on the real-music corpus (bench/lib/eval-key.ts, 32 pieces whose notes
 * fit their key signature): Temperley–Kostka–Payne 28/32 exact (weighted 0.884), Krumhansl–Kessler 27, Sha'ath
 * 27, Temperley 1999 26, Bellman–Budge 25, Aarden–Essen 23. Across the chroma variants tried on 25 of those
 * pieces (no harmonic summation, 8 harmonics, other peak thresholds and ranges) it was the best or within one
 * piece of the best, except with plain magnitudes instead of energy, where Aarden–Essen led it by two; Aarden–
 * Essen itself swung by 8 pieces from variant to variant.
 */
export const KEY_PROFILE: KeyProfileName = 'temperleyKostkaPayne';

// ---- Thresholds, each with why ----------------------------------------------------------------------------
/** A frame whose chroma total is this far below the track's loudest frames (−40 dB in energy terms ≈ 1e-2 in
 * magnitude sums) is silence or a fade tail: it is left out rather than blown up by per-frame normalisation. */
const SILENT_FRAME_RATIO = 1e-2;
/** Below this best correlation a chroma has no key: a random (noise) chroma reaches about 0.4 with some
 * rotation of some profile, a real piece's summed chroma 0.6–0.9. */
const MIN_CORRELATION = 0.5;
/** Fewer effective pitch classes than this ((Σc)² / Σc², the participation ratio: 1 for one pitch class, 12 for
 * a flat chroma) is a lone pitch: a held note with its partials counts about 1.7, a power chord 2; a triad with a
 * doubled root 3.3; real music 5–9. */
const MIN_PITCH_CLASSES = 2.5;
/** Coefficient of variation of a chroma below which it is flat (noise: under 0.3; chords: 0.8 and more). */
const FLAT_CV = 0.3;
const TONAL_CV = 0.7;
/** Blocks the section tracker works on: 2 s (4 chroma frames at 16 kHz), a chord or two. */
const BLOCK_SEC = 2;
/** Each block is scored on the chroma of ±CONTEXT_SEC around it: a phrase, long enough to imply a key. */
const CONTEXT_SEC = 8;
/** Cost of changing key, in units of correlation per block: leaving a key and coming back costs 2×, which a
 * rival key must make up by out-correlating it by 0.1 over 20 s (10 blocks). Passing chords cannot. */
const MODULATION_COST = 1.0;
/** Bonus per block for the track's own key (its home key, from the whole track's chroma): a piece leaves home
 * only where another key fits clearly better for a while, so an episode that merely leans towards the
 * dominant or the relative key stays in the home key. */
const HOME_KEY_BONUS = 0.05;
/** Emission score of "no key" per block: a block whose best key correlates below this is better left keyless. */
const NO_KEY_SCORE = 0.35;
/** A section shorter than this is an episode, not a modulation: it merges into a neighbour. */
const MIN_SECTION_SEC = 15;
/** A section whose own key confidence is below this merges into a neighbour. */
const MIN_SECTION_CONFIDENCE = 0.15;
/** Confidence: the margin over the runner-up key at which the estimate counts as certain. */
const FULL_MARGIN = 0.1;

const NO_KEY: KeyEstimate = { key: null, confidence: 0, tonic: -1, mode: null };

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.max(0, Math.min(1, x)) : 0;
}

/** Mean-centred, unit-norm copies of a profile's 12 rotations ([tonic][pitch class]) for fast correlation. */
function normalizedRotations(profile: readonly number[]): Float64Array[] {
  const mean = profile.reduce((a, b) => a + b, 0) / PITCH_CLASSES;
  let norm = 0;
  for (const v of profile) norm += (v - mean) ** 2;
  norm = Math.sqrt(norm);
  const out: Float64Array[] = [];
  for (let tonic = 0; tonic < PITCH_CLASSES; tonic++) {
    const r = new Float64Array(PITCH_CLASSES);
    for (let pc = 0; pc < PITCH_CLASSES; pc++) r[pc] = (profile[(pc - tonic + PITCH_CLASSES) % PITCH_CLASSES] - mean) / norm;
    out.push(r);
  }
  return out;
}

const rotationCache = new Map<KeyProfile, Float64Array[]>();
/** The 24 key templates: index tonic (0..11) for major, 12 + tonic for minor. */
function templates(profile: KeyProfile): Float64Array[] {
  let t = rotationCache.get(profile);
  if (!t) {
    t = [...normalizedRotations(profile.major), ...normalizedRotations(profile.minor)];
    rotationCache.set(profile, t);
  }
  return t;
}

/** Pearson correlations of `chroma` with the 24 keys into `out` (all 0 for a flat or empty chroma). */
function correlations(chroma: ArrayLike<number>, keys: Float64Array[], out: Float64Array): void {
  let mean = 0;
  for (let i = 0; i < PITCH_CLASSES; i++) mean += chroma[i];
  mean /= PITCH_CLASSES;
  let norm = 0;
  for (let i = 0; i < PITCH_CLASSES; i++) norm += (chroma[i] - mean) ** 2;
  norm = Math.sqrt(norm);
  for (let k = 0; k < 24; k++) {
    if (!(norm > 0)) {
      out[k] = 0;
      continue;
    }
    const t = keys[k];
    let dot = 0;
    for (let i = 0; i < PITCH_CLASSES; i++) dot += (chroma[i] - mean) * t[i];
    out[k] = dot / norm;
  }
}

/** Template index (0..11 major, 12..23 minor) → "A minor". */
function keyName(index: number): string {
  return nameOfKey(index % 12, index < 12 ? 'major' : 'minor');
}

/**
 * 0..1: how far the chroma is from flat. Noise and drums spread over all twelve pitch classes (coefficient
 * of variation well under 0.3); chords concentrate on a few (0.8 and more).
 */
export function tonality(chroma: ArrayLike<number>): number {
  let mean = 0;
  for (let i = 0; i < PITCH_CLASSES; i++) mean += chroma[i];
  mean /= PITCH_CLASSES;
  if (!(mean > 0)) return 0;
  let variance = 0;
  for (let i = 0; i < PITCH_CLASSES; i++) variance += (chroma[i] - mean) ** 2;
  const cv = Math.sqrt(variance / PITCH_CLASSES) / mean;
  return clamp01((cv - FLAT_CV) / (TONAL_CV - FLAT_CV));
}

/** Effective number of pitch classes: (Σc)² / Σc² (1 for a lone pitch class, 12 for a flat chroma). */
function pitchClassCount(chroma: ArrayLike<number>): number {
  let total = 0;
  let squares = 0;
  for (let i = 0; i < PITCH_CLASSES; i++) {
    total += chroma[i];
    squares += chroma[i] * chroma[i];
  }
  return squares > 0 ? (total * total) / squares : 0;
}

/** The key of one chroma vector (e.g. a window's or a track's summed chroma), or no key. */
export function estimateKey(chroma: ArrayLike<number>, profile: KeyProfile = KEY_PROFILES[KEY_PROFILE]): KeyEstimate {
  let total = 0;
  for (let i = 0; i < PITCH_CLASSES; i++) total += chroma[i];
  if (!(total > 0)) return NO_KEY;
  const r = new Float64Array(24);
  correlations(chroma, templates(profile), r);
  let best = 0;
  for (let k = 1; k < 24; k++) if (r[k] > r[best]) best = k;
  let second = -Infinity;
  for (let k = 0; k < 24; k++) if (k !== best && r[k] > second) second = r[k];
  const tonal = tonality(chroma);
  // A flat chroma (noise) correlates weakly with everything; a lone pitch class is no key at all.
  if (r[best] < MIN_CORRELATION || tonal === 0 || pitchClassCount(chroma) < MIN_PITCH_CLASSES) return NO_KEY;
  const strength = clamp01((r[best] - MIN_CORRELATION) / (1 - MIN_CORRELATION));
  const margin = clamp01((r[best] - second) / FULL_MARGIN);
  const confidence = clamp01(tonal * (0.5 * strength + 0.5 * margin));
  return { key: keyName(best), confidence, tonic: best % 12, mode: best < 12 ? 'major' : 'minor' };
}

export interface KeyOptions {
  profile: KeyProfile;
  modulationCost: number;
  minSectionSec: number;
  homeKeyBonus: number;
}

/** Per-frame chroma scaled to unit maximum, silent frames zeroed (Gómez 2006's normalisation). */
function normalizedFrames(chroma: ChromaFeatures): { rows: Float64Array; frames: number } {
  const source = chroma.chroma.values();
  const frames = Math.floor(source.length / PITCH_CLASSES);
  const rows = new Float64Array(frames * PITCH_CLASSES);
  const totals = new Float64Array(frames);
  for (let f = 0; f < frames; f++) {
    let s = 0;
    for (let p = 0; p < PITCH_CLASSES; p++) s += source[f * PITCH_CLASSES + p];
    totals[f] = s;
  }
  // The loud reference: the 95th percentile of frame totals, so one outlier frame does not silence the rest.
  const sorted = Float64Array.from(totals).sort();
  const reference = frames > 0 ? sorted[Math.min(frames - 1, Math.floor(0.95 * frames))] : 0;
  for (let f = 0; f < frames; f++) {
    if (!(reference > 0) || totals[f] < SILENT_FRAME_RATIO * reference) continue;
    let peak = 0;
    for (let p = 0; p < PITCH_CLASSES; p++) peak = Math.max(peak, source[f * PITCH_CLASSES + p]);
    for (let p = 0; p < PITCH_CLASSES; p++) rows[f * PITCH_CLASSES + p] = source[f * PITCH_CLASSES + p] / peak;
  }
  return { rows, frames };
}

function sumRows(rows: Float64Array, from: number, to: number): Float64Array {
  const out = new Float64Array(PITCH_CLASSES);
  for (let f = from; f < to; f++) for (let p = 0; p < PITCH_CLASSES; p++) out[p] += rows[f * PITCH_CLASSES + p];
  return out;
}

/** The track's key and its key sections, from the streamed chroma frames. */
export function analyzeKey(chroma: ChromaFeatures, durationSec: number, options: Partial<KeyOptions> = {}): KeyAnalysis {
  const profile = options.profile ?? KEY_PROFILES[KEY_PROFILE];
  const modulationCost = options.modulationCost ?? MODULATION_COST;
  const minSectionSec = options.minSectionSec ?? MIN_SECTION_SEC;
  const homeKeyBonus = options.homeKeyBonus ?? HOME_KEY_BONUS;
  const duration = Math.max(0, Number.isFinite(durationSec) ? durationSec : 0);
  const { rows, frames } = normalizedFrames(chroma);
  const track = estimateKey(sumRows(rows, 0, frames), profile);
  if (track.key === null || frames === 0 || duration === 0) {
    return { track, sections: [{ startSec: 0, endSec: duration, key: null, confidence: 0 }] };
  }
  const frameSec = chroma.hop / chroma.sampleRate;
  const blockFrames = Math.max(1, Math.round(BLOCK_SEC / frameSec));
  const contextFrames = Math.max(blockFrames, Math.round(CONTEXT_SEC / frameSec));
  const blocks = Math.ceil(frames / blockFrames);
  const keys = templates(profile);
  const STATES = 25; // 24 keys, then "no key"
  const home = track.tonic + (track.mode === 'minor' ? 12 : 0);
  // Viterbi over blocks: score[s] the best path score ending in state s; back pointers per block.
  const back = new Uint8Array(blocks * STATES);
  let score = new Float64Array(STATES);
  let next = new Float64Array(STATES);
  const r = new Float64Array(24);
  for (let b = 0; b < blocks; b++) {
    const centre = b * blockFrames + blockFrames / 2;
    const from = Math.max(0, Math.floor(centre - contextFrames));
    const to = Math.min(frames, Math.ceil(centre + contextFrames));
    const context = sumRows(rows, from, to);
    const tonal = tonality(context);
    correlations(context, keys, r);
    // A lone pitch class or a flat context gives no evidence for any key.
    const lone = pitchClassCount(context) < MIN_PITCH_CLASSES;
    for (let s = 0; s < STATES; s++) {
      const emission = s === 24 ? NO_KEY_SCORE : lone ? 0 : r[s] * tonal + (s === home ? homeKeyBonus : 0);
      if (b === 0) {
        next[s] = emission;
        continue;
      }
      let bestPrev = s;
      let bestScore = score[s];
      for (let q = 0; q < STATES; q++) {
        if (q === s) continue;
        const v = score[q] - modulationCost;
        if (v > bestScore) {
          bestScore = v;
          bestPrev = q;
        }
      }
      next[s] = bestScore + emission;
      back[b * STATES + s] = bestPrev;
    }
    [score, next] = [next, score];
  }
  const path = new Uint8Array(blocks);
  let state = 0;
  for (let s = 1; s < STATES; s++) if (score[s] > score[state]) state = s;
  for (let b = blocks - 1; b >= 0; b--) {
    path[b] = state;
    if (b > 0) state = back[b * STATES + state];
  }

  // Runs of one state become sections (in blocks), then short or unsure sections merge into a neighbour.
  interface Run { from: number; to: number; state: number }
  let runs: Run[] = [];
  for (let b = 0; b < blocks; b++) {
    const last = runs[runs.length - 1];
    if (last && last.state === path[b]) last.to = b + 1;
    else runs.push({ from: b, to: b + 1, state: path[b] });
  }
  const blockSec = blockFrames * frameSec;
  const estimateOf = (run: Run) => estimateKey(sumRows(rows, run.from * blockFrames, Math.min(frames, run.to * blockFrames)), profile);
  for (;;) {
    if (runs.length <= 1) break;
    // The weakest run that must go: shortest first, then least confident.
    let victim = -1;
    let victimLength = Infinity;
    for (let i = 0; i < runs.length; i++) {
      const length = (runs[i].to - runs[i].from) * blockSec;
      const estimate = estimateOf(runs[i]);
      const unsure = runs[i].state !== 24 && (estimate.key === null || estimate.confidence < MIN_SECTION_CONFIDENCE);
      if ((length < minSectionSec || unsure) && length < victimLength) {
        victim = i;
        victimLength = length;
      }
    }
    if (victim < 0) break;
    const before = runs[victim - 1];
    const after = runs[victim + 1];
    // Merge into the neighbour whose key fits the victim's chroma better (the longer one when tied).
    let into: Run;
    if (!before) into = after;
    else if (!after) into = before;
    else {
      const chromaVictim = sumRows(rows, runs[victim].from * blockFrames, Math.min(frames, runs[victim].to * blockFrames));
      correlations(chromaVictim, keys, r);
      const fit = (run: Run) => (run.state === 24 ? NO_KEY_SCORE : r[run.state]);
      const fb = fit(before);
      const fa = fit(after);
      into = fb > fa || (fb === fa && before.to - before.from >= after.to - after.from) ? before : after;
    }
    into.from = Math.min(into.from, runs[victim].from);
    into.to = Math.max(into.to, runs[victim].to);
    runs.splice(victim, 1);
    // Neighbours that now share a state join.
    const joined: Run[] = [];
    for (const run of runs) {
      const last = joined[joined.length - 1];
      if (last && last.state === run.state) last.to = run.to;
      else joined.push(run);
    }
    runs = joined;
  }

  const sections: KeySection[] = [];
  for (const run of runs) {
    const startSec = sections.length === 0 ? 0 : Math.min(duration, run.from * blockSec);
    const endSec = run === runs[runs.length - 1] ? duration : Math.min(duration, run.to * blockSec);
    let key: string | null = null;
    let confidence = 0;
    if (runs.length === 1) {
      key = track.key;
      confidence = track.confidence;
    } else if (run.state !== 24) {
      const estimate = estimateOf(run);
      key = keyName(run.state);
      confidence = estimate.key === key ? estimate.confidence : estimate.confidence * 0.5;
    }
    const last = sections[sections.length - 1];
    if (last && last.key === key) {
      last.endSec = endSec;
      last.confidence = Math.max(last.confidence, confidence);
    } else if (endSec > startSec || sections.length === 0) {
      if (last) last.endSec = startSec;
      sections.push({ startSec, endSec, key, confidence: Math.round(confidence * 1000) / 1000 });
    }
  }
  sections[sections.length - 1].endSec = duration;
  return { track, sections };
}

/** The key of the section covering most of [startSec, endSec] (a window inherits its section's key). */
export function keyBetween(analysis: KeyAnalysis, startSec: number, endSec: number): { key: string | null; confidence: number } {
  let best: KeySection | null = null;
  let bestOverlap = -Infinity;
  for (const section of analysis.sections) {
    const overlap = Math.min(endSec, section.endSec) - Math.max(startSec, section.startSec);
    if (overlap > bestOverlap) {
      bestOverlap = overlap;
      best = section;
    }
  }
  return best ? { key: best.key, confidence: best.confidence } : { key: null, confidence: 0 };
}
