/**
 * Tempo from the onset envelope: autocorrelation per block of up to 10 s, averaged, then the beat level
 * chosen among the metrical levels the autocorrelation offers (beat, half bar, bar, subdivision) so that a
 * 70 BPM groove with eighth-note hi-hats is 70, not 140, and a 180 BPM one is not 90.
 */
import { normalisedAutocorrelation } from './fft.ts';

export interface TempoEstimate {
  bpm: number | null;
  confidence: number;
}

export interface TempoOptions {
  framesPerSecond: number;
  minBpm?: number;
  maxBpm?: number;
  /**
   * The high bands' pulse (backbeatOf: snare, hats), found once per track whatever envelope the tempo is read
   * from: lets a backbeat settle which metrical level is the beat.
   */
  backbeat?: Backbeat | null;
}

const BLOCK_SECONDS = 10;
/** A slower metrical level gives way to one 2 or 3 times faster when that one is at least this strong. */
const SUBDIVISION_RATIO = 0.65;
/** A high-band pulse counts as a backbeat when it repeats this much more at its period than at a half or third of it … */
const BACKBEAT_CONTRAST = 0.45;
/** … and the mix repeats at half that period at least this strongly (relative to the full period). */
const BACKBEAT_HALFWAY = 0.6;
/** Beat rates outside [FOLD_MIN_BPM, FOLD_MAX_BPM) are folded in by octaves: tapping along, people rarely choose others. */
const FOLD_MIN_BPM = 50;
const FOLD_MAX_BPM = 200;

/**
 * Removes the slowly varying part of envelope[from, to) (its running mean over ±halfWidth frames), keeping the
 * attacks: the half-wave rectified novelty.
 */
export function novelty(envelope: Float32Array, from: number, to: number, halfWidth: number): Float64Array {
  const n = to - from;
  const out = new Float64Array(n);
  let sum = 0;
  let lo = 0;
  let hi = -1;
  for (let i = 0; i < n; i++) {
    const wantLo = Math.max(0, i - halfWidth);
    const wantHi = Math.min(n - 1, i + halfWidth);
    while (hi < wantHi) sum += envelope[from + ++hi];
    while (lo < wantLo) sum -= envelope[from + lo++];
    const value = envelope[from + i] - sum / (hi - lo + 1);
    out[i] = value > 0 ? value : 0;
  }
  return out;
}

/**
 * Keeps only the accents: what rises above half the level of the block's loudest attacks (its 98th
 * percentile), less that half. A snare stays; the quieter hats between snares go.
 */
function keepAccents(signal: Float64Array): void {
  const sorted = Float64Array.from(signal).sort();
  const floor = 0.5 * sorted[Math.min(sorted.length - 1, Math.floor(0.98 * sorted.length))];
  for (let i = 0; i < signal.length; i++) signal[i] = signal[i] > floor ? signal[i] - floor : 0;
}

/** Highest value near `lag` (±3 %, at least ±1 frame), with the lag refined by parabolic interpolation. */
function peakNear(acf: Float64Array, lag: number): { lag: number; value: number } {
  const radius = Math.max(1, Math.round(lag * 0.03));
  const lo = Math.max(1, Math.floor(lag - radius));
  const hi = Math.min(acf.length - 2, Math.ceil(lag + radius));
  let best = -Infinity;
  let bestLag = Math.round(lag);
  for (let l = lo; l <= hi; l++) {
    if (acf[l] > best) {
      best = acf[l];
      bestLag = l;
    }
  }
  if (best === -Infinity) return { lag, value: 0 };
  let refined = bestLag;
  if (bestLag > 0 && bestLag < acf.length - 1) {
    const a = acf[bestLag - 1];
    const b = acf[bestLag];
    const c = acf[bestLag + 1];
    const d = a - 2 * b + c;
    if (d < 0) refined = bestLag + Math.max(-0.5, Math.min(0.5, (0.5 * (a - c)) / d));
  }
  return { lag: refined, value: best };
}

/** The autocorrelation of the novelty, per block of up to BLOCK_SECONDS, averaged over the blocks; null without any attack. */
function averageAutocorrelation(
  envelope: Float32Array, from: number, to: number, fps: number, acfLength: number, accentsOnly = false,
): Float64Array | null {
  const average = new Float64Array(acfLength + 1);
  const frames = to - from;
  const blockFrames = Math.round(BLOCK_SECONDS * fps);
  let weightSum = 0;
  const blocks = Math.max(1, Math.round(frames / blockFrames));
  for (let block = 0; block < blocks; block++) {
    const start = from + Math.floor((block * frames) / blocks);
    const end = from + Math.floor(((block + 1) * frames) / blocks);
    const signal = novelty(envelope, start, end, Math.round(fps * 0.15));
    if (accentsOnly) keepAccents(signal);
    const lags = Math.min(acfLength, signal.length - 2);
    if (lags < 1) continue;
    const acf = normalisedAutocorrelation(signal, 0, signal.length, lags);
    if (acf[0] <= 0) continue;
    for (let l = 0; l <= lags; l++) average[l] += acf[l];
    weightSum++;
  }
  if (weightSum === 0) return null;
  for (let l = 0; l <= acfLength; l++) average[l] /= weightSum;
  return average;
}

/** A snare-like pulse in the high bands: one accent per period, as a snare on 2 and 4 of a 4/4 bar is. */
export interface Backbeat {
  /** Period of the pulse, in frames. */
  period: number;
  /**
   * How much more periodic the pulse is at its own period than at a half or a third of it (hats and other
   * subdivisions repeat at all of these, so they cancel out): 0 for a grid with no accent, 1 for a lone pulse.
   */
  contrast: number;
}

/**
 * The high bands' pulse: the shortest period nearly as strong as the strongest periodicity in [minLag, maxLag]
 * of their accents (the attacks that reach at least half as high as the loudest ones).
 */
export function findBackbeat(high: Float32Array, from: number, to: number, fps: number, minLag: number, maxLag: number): Backbeat | null {
  const acf = averageAutocorrelation(high, from, to, fps, maxLag + 2, true);
  if (!acf) return null;
  const usable = Math.min(maxLag, Math.floor((to - from) / 2));
  const isPeak = (l: number) => acf[l] > acf[l - 1] && acf[l] >= acf[l + 1];
  let strongest = 0;
  for (let l = minLag + 1; l < usable; l++) if (isPeak(l) && acf[l] > strongest) strongest = acf[l];
  if (strongest <= 0) return null;
  let period = -1;
  for (let l = minLag + 1; l < usable && period < 0; l++) if (isPeak(l) && acf[l] >= 0.8 * strongest) period = l;
  const peak = peakNear(acf, period);
  let inBetween = 0;
  for (const fraction of [1 / 2, 1 / 3, 2 / 3]) inBetween = Math.max(inBetween, peakNear(acf, fraction * peak.lag).value);
  return { period: peak.lag, contrast: Math.max(0, 1 - inBetween / peak.value) };
}

/** The high bands' pulse over envelope[from, to), for beats between minBpm and maxBpm (a snare hits every other beat). */
export function backbeatOf(high: Float32Array, from: number, to: number, fps: number, minBpm = 40, maxBpm = 240): Backbeat | null {
  return findBackbeat(high, from, to, fps, Math.round((60 * fps) / (maxBpm / 2)), Math.round((60 * fps) / (minBpm / 2)));
}

export function estimateTempo(envelope: Float32Array, from: number, to: number, options: TempoOptions): TempoEstimate {
  const fps = options.framesPerSecond;
  const minBpm = options.minBpm ?? 40;
  const maxBpm = options.maxBpm ?? 240;
  const minLag = Math.floor((60 * fps) / maxBpm);
  const maxLag = Math.ceil((60 * fps) / minBpm);
  // The refinement looks at up to four periods; a block must hold at least two of the slowest beat.
  const acfLength = 4 * maxLag;
  const frames = to - from;
  if (frames < 2 * minLag + 2) return { bpm: null, confidence: 0 };

  const average = averageAutocorrelation(envelope, from, to, fps, acfLength);
  if (!average) return { bpm: null, confidence: 0 };

  const usableMaxLag = Math.min(maxLag, Math.floor(frames / 2));
  const at = (l: number) => peakNear(average, l).value;
  // Comb score: a metrical level repeats at its multiples too; a subdivision does not (its odd multiples are weak).
  const comb = (l: number) => {
    let sum = 0;
    let n = 0;
    for (let k = 1; k <= 4 && k * l < acfLength - 1; k++) {
      sum += at(k * l);
      n++;
    }
    return n > 0 ? sum / n : 0;
  };
  let lag = -1;
  let strength = -Infinity;
  for (let l = minLag + 1; l < usableMaxLag; l++) {
    const v = average[l];
    if (!(v > average[l - 1] && v >= average[l + 1])) continue;
    const score = comb(l);
    if (score > strength) {
      strength = score;
      lag = l;
    }
  }
  if (lag < 0 || strength <= 0) return { bpm: null, confidence: 0 };

  // Walk down to faster levels: the beat is the fastest level whose in-between positions (the odd multiples
  // of the faster period) are nearly as periodic as the slower level itself. Hi-hat subdivisions fail that
  // test because they are quieter than the kick and snare that mark the beat.
  for (;;) {
    const slower = (at(lag) + (2 * lag < acfLength - 1 ? at(2 * lag) : at(lag))) / 2;
    let best: { lag: number; ratio: number } | null = null;
    for (const divisor of [2, 3]) {
      const candidate = lag / divisor;
      if (candidate < minLag) continue;
      let sum = 0;
      let n = 0;
      for (let m = 1; m < 2 * divisor; m++) {
        if (m % divisor === 0 || m * candidate >= acfLength - 1) continue;
        sum += at(m * candidate);
        n++;
      }
      const ratio = n > 0 && slower > 0 ? sum / n / slower : 0;
      if (ratio >= SUBDIVISION_RATIO && (!best || ratio > best.ratio)) best = { lag: candidate, ratio };
    }
    if (!best) break;
    lag = best.lag;
  }

  // A backbeat settles the octave: when the high bands carry a clear single pulse (a snare) and the whole
  // mix accents the points halfway between its hits (the kick, the hats), the snare falls on 2 and 4 and the
  // beat is half its period, whatever level the autocorrelation preferred (a syncopated kick on the "and"
  // of 3 makes the eighth-note grid look as periodic as the beat; a sparse bar makes the half bar look so).
  const backbeat = options.backbeat;
  if (backbeat && backbeat.contrast >= BACKBEAT_CONTRAST) {
    const beat = backbeat.period / 2;
    const halfway = peakNear(average, beat).value / Math.max(1e-9, peakNear(average, backbeat.period).value);
    const octaves = Math.round(Math.log2(lag / beat));
    if (halfway >= BACKBEAT_HALFWAY && octaves !== 0 && Math.abs(lag / (beat * 2 ** octaves) - 1) <= 0.04 && beat >= minLag) lag = beat;
  }

  // Refine the period from its multiples, which the autocorrelation measures with finer relative precision.
  const base = peakNear(average, lag);
  let weighted = base.lag;
  let weights = 1;
  for (let k = 2; k <= 4; k++) {
    if (k * base.lag >= acfLength - 1 || k * base.lag >= frames / 2) break;
    const peak = peakNear(average, k * base.lag);
    if (peak.value < 0.5 * base.value) break;
    weighted += peak.lag;
    weights += k;
  }
  const period = weighted / weights;
  let bpm = (60 * fps) / period;
  while (bpm >= FOLD_MAX_BPM) bpm /= 2;
  while (bpm < FOLD_MIN_BPM) bpm *= 2;

  // Confidence: how far the beat's periodicity stands above the autocorrelation's typical level.
  let sum = 0;
  let count = 0;
  for (let l = minLag; l <= usableMaxLag; l++) {
    sum += Math.abs(average[l]);
    count++;
  }
  const baseline = sum / Math.max(1, count);
  const confidence = Math.max(0, Math.min(1, (base.value - baseline) / 0.4));
  return { bpm, confidence };
}
