/**
 * Downbeats and meter from a beat grid.
 *
 * Method: beat-synchronous accent features, and for each bar length M ∈ {2, 3, 4} beats and each phase the
 * contrast between the beats the phase calls downbeats and the others (the "bar position scoring" of
 * Goto 2001, "An Audio-based Real-time Beat Tracking System for Music With or Without Drum-sounds", JNMR 30(2),
 * which places bar lines where chords change; and of Klapuri, Eronen & Astola 2006, IEEE TASLP 14(1), §IV,
 * where the measure level is the period/phase whose accents line up). The features per beat:
 * - the onset strength at the beat (downbeats are attacked harder),
 * - the rise of harmonic energy across the beat (new chords and bass notes come in on the bar line),
 * - minus the high-band accent (a snare backbeat marks the beats that are *not* the downbeat).
 * A bar of 4 and a bar of 2 both fit 4/4 music; 4 wins unless 2 clearly explains the accents better (a
 * strong "3" as strong as the "1"), since 2/4 is far rarer in practice.
 *
 * Compound meter (6/8, 12/8): the beat divides in three. The onset strength at the thirds of each beat
 * is compared with that at the half (Gouyon & Herrera 2003, "Determination of the Meter of Musical Audio
 * Signals: Seeking Recurrences in Beat Segment Descriptors", AES 114th Convention, use beat-segment
 * recurrences the same way); when both thirds win clearly the meter is compound: 2 beats a bar → 6/8,
 * 4 → 12/8. (Not handled: a compound meter whose eighth notes the tracker took for the beat; it reads as a
 * fast 3/4.)
 */
import type { ShortFrameFeatures } from './frames.ts';
import type { Meter } from './types.ts';

export const METER = {
  /** Fewer beats than this: too few bars to tell a meter. */
  MIN_BEATS: 12,
  /**
   * Accent contrast (shares of the mean accent) below which no bar length stands out (then the 4/4 default,
   * with at most UNHEARD_CONFIDENCE). Identical
   * clicks sit near 0, music with any bar structure at 0.1 or more.
   */
  MIN_CONTRAST: 0.06,
  /**
   * … and the contrast must stand this many standard errors above the beat-to-beat spread of the accents.
   * With nine phase hypotheses (2 + 3 + 4) tested, 2.5 keeps the chance that jitter alone passes near 5 %;
   * identical clicks measured 1.9, bar structures of rendered pieces 2.9 to 11.
   */
  MIN_T: 2.5,
  /**
   * 2 beats a bar is chosen over 4 only when its contrast is this much larger. In 4/4 the "3" is often
   * accented nearly as much as the "1", so a bar of 2 often scores as well as a bar of 4 (on rendered
   * General-MIDI pieces in 4/4, s2/s4 reached 1.4); in a true 2/4 every other beat is alike and a bar of 4
   * scores only ⅔ of a bar of 2 (ratio 1.5). Between the two the audio cannot tell, and 4/4 is far commoner.
   */
  TWO_OVER_FOUR: 1.5,
  /** 3 beats a bar is chosen over 2 and 4 only when its contrast is this much larger (4/4 is the common case). */
  THREE_OVER_DUPLE: 1.3,
  /**
   * Both thirds of the beat must carry this many times the onset strength of its half for a compound meter.
   * Swung and shuffled 4/4 (notated 4/4 in General-MIDI files) reached 1.4–1.7: a shuffle is heard as 12/8
   * only when the first third is struck too.
   */
  COMPOUND_RATIO: 1.8,
  /** Weights of the per-beat features in the accent (onset, harmonic rise, minus backbeat). */
  W_ONSET: 1,
  W_HARMONIC: 1,
  W_BACKBEAT: 0.5,
  /** The most confidence a meter gets when no bar structure was heard (the 4/4 default). */
  UNHEARD_CONFIDENCE: 0.2,
  /** Confidence = contrast margin / CONFIDENCE_SPAN. */
  CONFIDENCE_SPAN: 0.6,
} as const;

export interface MeterResult {
  meter: Meter | null;
  confidence: number;
  downbeats: number[];
}

/**
 * A feature relative to its mean (v / mean − 1), so that contrasts are in shares of the typical value: beats
 * that are all alike (a click track) give no contrast at all, where a z-score would blow their jitter up.
 */
function relative(values: Float64Array): Float64Array {
  let mean = 0;
  for (const v of values) mean += v;
  mean /= values.length || 1;
  return values.map((v) => (mean > 1e-12 ? v / mean - 1 : 0));
}

/** Largest sum of two adjacent frames within [t - r, t + r] (clipped): an attack split across two frames counts whole. */
function pairPeakAround(series: Float32Array, t: number, r: number): number {
  let best = 0;
  for (let i = Math.max(0, Math.round(t - r)); i <= Math.min(series.length - 2, Math.round(t + r)); i++) {
    const v = series[i] + series[i + 1];
    if (v > best) best = v;
  }
  return best;
}

/** Max of series within [t - r, t + r] frames (clipped). */
function peakAround(series: Float32Array, t: number, r: number): number {
  let best = 0;
  for (let i = Math.max(0, Math.round(t - r)); i <= Math.min(series.length - 1, Math.round(t + r)); i++) if (series[i] > best) best = series[i];
  return best;
}

/** Mean over frames [from, to) (clipped to `frames`) of a series kept per pair of frames (frame i reads pair i >> 1). */
function meanOverPairs(pairs: Float32Array, frames: number, from: number, to: number): number {
  const a = Math.max(0, Math.floor(from));
  const b = Math.min(frames, Math.ceil(to));
  if (b <= a) return 0;
  let s = 0;
  for (let i = a; i < b; i++) s += pairs[i >> 1];
  return s / (b - a);
}

/** Per-beat accent: the weighted sum of the mean-relative features. */
export function beatAccents(short: ShortFrameFeatures, beatFrames: Float64Array): Float64Array {
  const flux = short.beatFlux.values();
  const high = short.highBeatFlux.values();
  const harmonic = short.harmonicEnergy.values();
  const k = beatFrames.length;
  const onset = new Float64Array(k);
  const change = new Float64Array(k);
  const backbeat = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    const t = beatFrames[i];
    const prev = i > 0 ? beatFrames[i - 1] : t - (beatFrames[1] - beatFrames[0]);
    const next = i + 1 < k ? beatFrames[i + 1] : t + (t - prev);
    const r = Math.max(2, (next - prev) / 16);
    onset[i] = pairPeakAround(flux, t, r);
    backbeat[i] = pairPeakAround(high, t, r);
    const before = meanOverPairs(harmonic, short.frames, prev, t);
    const after = meanOverPairs(harmonic, short.frames, t, next);
    // Half-wave rectified, as in an onset detection function (Bello et al. 2005, "A Tutorial on Onset
    // Detection in Music Signals", IEEE Trans. Speech and Audio Processing 13(5)): notes coming in mark a change
    // of chord or bass note, while held notes fading across a beat happen inside the bar as much as on its line.
    // (The symmetric |after − before| counted those fades too; it only seemed to serve the meter while the
    // harmonic/percussive split's time median read corrupted windows: with true medians it added nothing on the
    // real corpus, and the rise reads the same meters with either split.)
    // Bounded in [0, 1] and left unnormalised: beats whose harmonic energy barely moves (clicks, a drum
    // solo) give no contrast, rather than their jitter scaled up.
    change[i] = after + before > 1e-12 ? Math.max(0, after - before) / (after + before) : 0;
  }
  const a = relative(onset);
  let meanChange = 0;
  for (const v of change) meanChange += v / k;
  const c = change.map((v) => v - meanChange);
  const b = relative(backbeat);
  return a.map((v, i) => METER.W_ONSET * v + METER.W_HARMONIC * c[i] - METER.W_BACKBEAT * b[i]);
}

/**
 * For bar length M: the best phase, its contrast (mean accent on the phase − mean elsewhere) and that
 * contrast in standard errors (Welch-style, from the accents' spread), so that the beat-to-beat jitter of
 * identical beats is not taken for a bar.
 */
function barScore(accent: Float64Array, M: number): { phase: number; contrast: number; t: number } {
  const sums = new Float64Array(M);
  const counts = new Float64Array(M);
  let total = 0;
  for (let i = 0; i < accent.length; i++) {
    sums[i % M] += accent[i];
    counts[i % M]++;
    total += accent[i];
  }
  const mean = total / accent.length;
  let sq = 0;
  for (const v of accent) sq += (v - mean) ** 2;
  const std = Math.sqrt(sq / Math.max(1, accent.length - 1));
  let best = { phase: 0, contrast: -Infinity, t: 0 };
  for (let p = 0; p < M; p++) {
    const on = sums[p] / counts[p];
    const off = (total - sums[p]) / (accent.length - counts[p]);
    const error = std * Math.sqrt(1 / counts[p] + 1 / (accent.length - counts[p]));
    if (on - off > best.contrast) best = { phase: p, contrast: on - off, t: error > 0 ? (on - off) / error : 0 };
  }
  return best;
}

/**
 * The beat's onset profile: the onset strength averaged over all beats at twelve equally spaced positions
 * within the beat (each the peak within ±1/24 beat), so that the halves, thirds and quarters of the beat can
 * be compared.
 */
export function beatProfile(flux: Float32Array, beatFrames: Float64Array): Float64Array {
  const profile = new Float64Array(12);
  let count = 0;
  for (let i = 0; i + 1 < beatFrames.length; i++) {
    const a = beatFrames[i];
    const d = beatFrames[i + 1] - a;
    const r = Math.max(1, d / 24);
    for (let k = 0; k < 12; k++) profile[k] += peakAround(flux, a + (k * d) / 12, r);
    count++;
  }
  return profile.map((v) => v / Math.max(1, count));
}

/**
 * Onset strength at the thirds of the beat over that at its half: > 1 for a beat divided in three. Both
 * thirds must be there (the smaller of the two counts): a swung beat (long–short) has only the second.
 */
export function tripleRatio(flux: Float32Array, beatFrames: Float64Array): number {
  const p = beatProfile(flux, beatFrames);
  const thirds = Math.min(p[4], p[8]);
  const half = p[6];
  return half > 0 ? thirds / half : thirds > 0 ? Infinity : 1;
}

export function analyzeMeter(short: ShortFrameFeatures, beats: Float64Array, fps: number): MeterResult {
  const none: MeterResult = { meter: null, confidence: 0, downbeats: [] };
  if (beats.length < METER.MIN_BEATS) return none;
  const frames = beats.map((t) => t * fps);
  const accent = beatAccents(short, frames);
  const s2 = barScore(accent, 2);
  const s3 = barScore(accent, 3);
  const s4 = barScore(accent, 4);
  let M = 4;
  let chosen = s4;
  if (s2.contrast > METER.TWO_OVER_FOUR * s4.contrast) {
    M = 2;
    chosen = s2;
  }
  if (s3.contrast > METER.THREE_OVER_DUPLE * Math.max(s2.contrast, s4.contrast)) {
    M = 3;
    chosen = s3;
  }
  const ratio = tripleRatio(short.beatFlux.values(), frames);
  // Without a bar structure that stands out (identical clicks, an even drone of beats) the meter is the
  // common 4/4 with a confidence that says it was not heard.
  const heard = chosen.contrast >= METER.MIN_CONTRAST && chosen.t >= METER.MIN_T;
  if (!heard) {
    M = 4;
    chosen = s4;
  }
  const others = [s2, s3, s4].filter((s) => s !== chosen).map((s) => s.contrast);
  const margin = chosen.contrast - Math.max(...others) * (M === 4 ? 0.5 : 1);
  const confidence = heard ? Math.max(0, Math.min(1, margin / METER.CONFIDENCE_SPAN)) : Math.min(METER.UNHEARD_CONFIDENCE, Math.max(0, margin / METER.CONFIDENCE_SPAN));
  let meter: Meter;
  if (ratio >= METER.COMPOUND_RATIO && M !== 3) meter = M === 2 ? '6/8' : '12/8';
  else meter = M === 2 ? '2/4' : M === 3 ? '3/4' : '4/4';
  const downbeats: number[] = [];
  for (let i = chosen.phase; i < beats.length; i += M) downbeats.push(i);
  return { meter, confidence, downbeats };
}
