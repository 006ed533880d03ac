/**
 * Key and mode from a summed chroma vector, by correlation with the 24 rotations of major and minor key
 * profiles (Krumhansl–Kessler probe-tone ratings).
 */
import { PITCH_CLASSES } from './frames.ts';

export interface KeyEstimate {
  key: string | null;
  confidence: number;
  /** 0..11, C = 0; -1 when no key. */
  tonic: number;
  mode: 'major' | 'minor' | null;
}

export const PITCH_NAMES = ['C', 'C#', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'Ab', 'A', 'Bb', 'B'] as const;

const MAJOR_PROFILE = [6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88];
const MINOR_PROFILE = [6.33, 2.68, 3.52, 5.38, 2.6, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17];

function pearson(a: ArrayLike<number>, b: ArrayLike<number>, rotation: number): number {
  let meanA = 0;
  let meanB = 0;
  for (let i = 0; i < PITCH_CLASSES; i++) {
    meanA += a[i];
    meanB += b[i];
  }
  meanA /= PITCH_CLASSES;
  meanB /= PITCH_CLASSES;
  let cov = 0;
  let varA = 0;
  let varB = 0;
  for (let i = 0; i < PITCH_CLASSES; i++) {
    const x = a[(i + rotation) % PITCH_CLASSES] - meanA;
    const y = b[i] - meanB;
    cov += x * y;
    varA += x * x;
    varB += y * y;
  }
  return varA > 0 && varB > 0 ? cov / Math.sqrt(varA * varB) : 0;
}

export function estimateKey(chroma: ArrayLike<number>): KeyEstimate {
  let total = 0;
  let peak = 0;
  for (let i = 0; i < PITCH_CLASSES; i++) {
    total += chroma[i];
    peak = Math.max(peak, chroma[i]);
  }
  if (!(total > 0)) return { key: null, confidence: 0, tonic: -1, mode: null };

  const scores: Array<{ tonic: number; mode: 'major' | 'minor'; r: number }> = [];
  for (let tonic = 0; tonic < PITCH_CLASSES; tonic++) {
    scores.push({ tonic, mode: 'major', r: pearson(chroma, MAJOR_PROFILE, tonic) });
    scores.push({ tonic, mode: 'minor', r: pearson(chroma, MINOR_PROFILE, tonic) });
  }
  scores.sort((a, b) => b.r - a.r);
  const [best, second] = scores;
  // A flat chroma (noise) correlates weakly with everything; a single pitch correlates equally with several
  // keys. Both give a small margin, hence a low confidence.
  const margin = best.r - second.r;
  const tonal = tonality(chroma);
  const confidence = Math.max(0, Math.min(1, (margin / 0.1) * Math.max(0, best.r) * tonal));
  if (best.r <= 0.2 || tonal === 0) return { key: null, confidence: 0, tonic: -1, mode: null };
  return { key: `${PITCH_NAMES[best.tonic]} ${best.mode}`, confidence, tonic: best.tonic, mode: best.mode };
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
  return Math.max(0, Math.min(1, (cv - 0.3) / 0.4));
}
