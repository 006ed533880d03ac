/**
 * Beat tracking over the whole track, then downbeats and meter (meter.ts) and tempo changes.
 *
 * Methods:
 * - Onset strength: SuperFlux (Böck & Widmer 2013, "Maximum Filter Vibrato Suppression for Onset Detection",
 *   DAFx-13; ShortFrameFeatures.superFlux, 10 ms hop), less its local mean, half-wave rectified (Bello et al.
 *   2005, "A Tutorial on Onset Detection in Music Signals", IEEE TSAP 13(5)). Every note counts, soft or struck.
 * - Accents: the loudness-weighted band flux (ShortFrameFeatures.beatFlux), analysed the same way on its own. It
 *   settles the octave of the beat (the kick and snare stand out in it) and must show a pulse too (speech's
 *   syllables are onsets, not accents).
 * - Global tempo: the autocorrelation of the onset strength, with the metrical-level choice of tempo.ts
 *   (a comb over the multiples of the period, subdivision and backbeat tests), weighed against a log-Gaussian
 *   prior over perceptual tempo centred on 120 BPM (Ellis 2007, §3.1; librosa's `start_bpm` / `std_bpm`); then
 *   moved by octaves to the accents' tempo where the two are the same period family and the accents' own prior
 *   step chose their octave clearly.
 * - Local tempo: the autocorrelation of every ~12 s segment, and a Viterbi path over tempo states (periods
 *   within ±30 % of the global one) that pays for every change of period — so the period follows
 *   an accelerando or a new section but not a segment that momentarily prefers another metrical level
 *   (the tempo-state idea of Klapuri, Eronen & Astola 2006, "Analysis of the Meter of Acoustic Musical
 *   Signals", IEEE TASLP 14(1), reduced to the beat level).
 * - Beat times: dynamic programming (Ellis 2007, "Beat Tracking by Dynamic Programming", JNMR 36(1)):
 *   C(t) = O(t) + max_τ [C(τ) − α·log²((t−τ)/P(t))], with the local period P(t) from the Viterbi path in
 *   place of Ellis's single period, then backtracking from the best final beat.
 * - Tempo changes: the beat grid's inter-beat intervals, as a piecewise-linear fit of log tempo against time
 *   (optimal segmentation by dynamic programming with a penalty per segment, as in Jackson et al. 2005,
 *   "An Algorithm for Optimal Partitioning of Data on an Interval", IEEE SPL 12(2)): a jump between pieces is
 *   a step, a sloping piece a gradual change; kept only where the tempo-state path moves with it.
 */
import type { ShortFrameFeatures } from './frames.ts';
import type { Meter, TempoChange } from './types.ts';
import { backbeatOf, estimateTempo, novelty as noveltyOf, type Backbeat } from './tempo.ts';
import { analyzeMeter } from './meter.ts';
import { normalisedAutocorrelation } from './fft.ts';

export interface RhythmAnalysis {
  /** Track tempo at the perceived beat level (for 6/8 and 12/8: the dotted-quarter beat); null without a steady beat. */
  bpm: number | null;
  /** 0..1; low for no steady beat. */
  confidence: number;
  /** Beat times, seconds. */
  beats: Float64Array;
  /** Indices into `beats` of the first beat of each bar. */
  downbeats: number[];
  meter: Meter | null;
  meterConfidence: number;
  /** Only where the beat grid shows one (step or gradual), with its time. */
  tempoChanges: TempoChange[];
  /**
   * The tempo-state path: the periodicity of the onsets segment by segment (SEGMENT_SEC long), at the segments'
   * centres (seconds), in BPM. The beats follow it; where a stretch's beats read far from it, they strayed.
   */
  periodicity: { atSec: Float64Array; bpm: Float64Array };
}

/** Every tunable of the tracker, with why it has the value it has. */
export const RHYTHM = {
  /** Onset strength less its mean over ±0.15 s: removes the slow swell of sustained sounds, keeps attacks. */
  NOVELTY_HALF_SEC: 0.15,
  /** The range of beat rates considered (the range of tapping in Moelants & McKinney 2004). */
  MIN_BPM: 40,
  MAX_BPM: 240,
  /**
   * The accents' tempo and the onsets' are the same period family when their ratio is within this of a power of two
   * (the tempo tolerance the field scores with).
   */
  OCTAVE_AGREEMENT: 0.04,
  /**
   * … and the accents move SuperFlux's octave only where their own perceptual-prior step chose their octave over
   * SuperFlux's by at least this much (the ratio of the two scores in that step): where it nearly chose SuperFlux's
   * itself, the accents do not know the octave better. The prior step's own margin for a faster level
   * (FASTER_LEVEL_MARGIN). On the tuned 64 the accents' right moves scored 1.19–1.92 and their one wrong move 1.36,
   * so any line up to 1.19 leaves them as they were. On the held-out groups, which this rule was checked on, 7 moves
   * scored under 1.15, 5 of them wrong (Clair de Lune read at 180); outside the corpus, the whole of Frets on Fire's
   * Feelings read 190 where the 240 s cut reads 95: the 3+3+2 accents of its last part tip the accents' step by 7 %.
   * This is the margin to a faster octave. To a slower one the accents need the prior step's margin for a slower
   * level (SLOWER_LEVEL_MARGIN), for the same reason: on the whole corpus their moves to half tempo (1.15-1.54)
   * were right twice and wrong three times, all three under 1.4; on 83 game recordings outside it all six moves to
   * half tempo (55-72 BPM) went against both librosa and aubio.
   */
  ACCENT_OCTAVE_MARGIN: 1.15,
  /**
   * The comb of tempo.ts can settle, where a track's periodicity is spread over many lags, on a lag whose multiples
   * happen to run high while the lag itself has none (Warzone 2100's track3: the comb took 40 BPM, folded to 80.7,
   * whose autocorrelation is negative, and the track was read at 45 BPM in 3/4; its clear peak is at 146, where
   * librosa and aubio read 144 and 148). Where the level the perceptual-prior step chose holds less than this share
   * of the prior-weighted autocorrelation's highest peak over every lag (Ellis 2007's global tempo), that peak is
   * the period. On the tuned corpus the chosen level held 0.61 of it or more (0.71 or more on pieces whose tempo is
   * read right); on track3 0.17.
   */
  LOST_ESTIMATE_SHARE: 1 / 3,
  /** Perceptual tempo prior: log-Gaussian centred on 120 BPM, one octave wide (librosa's beat_track defaults). */
  PRIOR_BPM: 120,
  PRIOR_OCTAVES: 1,
  /**
   * Twice the period is periodic wherever the period is (a half-bar repeats too), so the autocorrelation
   * there runs higher than at the beat itself: the slower level replaces the global estimate only when its
   * prior-weighted periodicity is this many times higher; otherwise the estimate of tempo.ts (which also
   * weighs subdivisions and backbeat) stands. On rendered General-MIDI pieces, slower levels that were right
   * scored 1.09 and 1.43 times the faster one, wrong ones 1.14, 1.19 and 1.35: the two overlap, and a wrong
   * switch to half tempo is the more common error.
   */
  SLOWER_LEVEL_MARGIN: 1.4,
  /**
   * The faster level (twice the tempo) replaces the estimate when its prior-weighted periodicity is this many
   * times higher. Right ones scored 1.22 and 1.68, a wrong one (a rock song at 95 BPM with eighth-note
   * guitars) 1.10.
   */
  FASTER_LEVEL_MARGIN: 1.15,
  /** Local-tempo segments: long enough for several beats at 40 BPM, short enough to follow a tempo change. */
  SEGMENT_SEC: 12,
  SEGMENT_HOP_SEC: 4,
  /**
   * Tempo states span this factor either side of the global period (in STATE_STEP steps: up to ×1.31): a song's
   * usual changes fit (most tempo maps in the corpus move by 25 % or less between sections; a 90→130 BPM
   * accelerando about a 110 global), while the metrical relatives that a dotted or three-against-four figure
   * makes periodic (×4/3, ×3/2: 3 sixteenths or a dotted quarter read as the beat) stay out of reach. The metrical
   * level is the global analysis's decision (comb, walk, backbeat, prior); with 1.75 a segment could re-choose
   * it, and an intro grouped in threes became a tempo change (94 → 140) and riffs in 3+3+2 a track at ⅔ or ¾ of
   * its tempo. (1.3, one step fewer, cost the section bench one boundary: a splice from 80 to 105 BPM.)
   */
  STATE_RANGE: 1.32,
  /** Spacing of the tempo states (1 % of the period: finer than a beat-tracker's tolerance). */
  STATE_STEP: 0.01,
  /** Viterbi: cost of a change of period between segments, per (1 % step)², against observations in [0, 1]. */
  TRANSITION_COST: 0.0015,
  /** Viterbi: log-Gaussian pull towards the global period (octaves); keeps segments at the track's metrical level. */
  LOCAL_PRIOR_OCTAVES: 0.3,
  /** Ellis's tightness α: how strongly beat spacing sticks to the local period (librosa's default). */
  TIGHTNESS: 100,
  /** A beat whose ±2-beat neighbourhood has less onset strength than this share of the track's typical level is in a break: dropped. */
  BREAK_LEVEL: 0.15,
  /**
   * Confidence = (pulse clarity − CLARITY_FLOOR) / CLARITY_SPAN. Pulse clarity (the autocorrelation at the
   * beat above its mean between half and twice the beat, per segment, averaged) measured 0.01–0.03 on white
   * noise, speech and notes at irregular times, 0.10–0.13 on the least clear rendered pieces with a beat
   * (sparse arrangements, soft trance pads) and 0.2–0.5 on grooves; the MIN_CONFIDENCE line then falls at 0.09.
   * (Those figures are the accents'; on SuperFlux, the onsets now tracked, synthesised speech reads 0.11, which is
   * why the accents must show a pulse too: MIN_ACCENT_CLARITY.)
   */
  CLARITY_FLOOR: 0.04,
  CLARITY_SPAN: 0.2,
  /**
   * A beat needs attacks: below this many onsets per second over the track (a held note, a slowly swelling pad)
   * there is no beat to track, however periodic the residue of the onset envelope looks. A window's tags use the
   * same line: a held chord inside a groove gets no tempo.
   */
  MIN_ONSETS_PER_SEC: 0.5,
  /**
   * … counted over this span around each beat, below which the beat is dropped: three caption windows, so a long
   * stretch of held pad (Colobot's Humanitarian, a minute of it) loses its beats while a sparse window or two inside
   * a groove keeps the grid and is left to the captions' own rule for a window whose beat wavers. Over the corpus and
   * Wesnoth's 41 orchestral recordings the captions told the beat dropping out or coming back 47 times before this
   * rule, 44 with it; with 20 s 52, with 10 s more still (Freedoom's e3m8, 1.1 onsets a second, lost its beat).
   */
  ATTACK_SPAN_SEC: 30,
  /**
   * Onsets are picked from SuperFlux as in Böck & Widmer 2013 (§2.3, their peak-picking): a frame is an onset if it
   * is the largest within ±ONSET_MAX_SEC, rises above a threshold over the mean of the envelope from
   * ONSET_MEAN_BEFORE_SEC before to ONSET_MEAN_AFTER_SEC after it, and comes ONSET_COMBINE_SEC or more after the last
   * onset. The times are the paper's. The threshold is Bello et al.'s adaptive one (2005, "A Tutorial on Onset
   * Detection in Music Signals", IEEE TSAP 13(5), §V-B: δ + λ·the local level; the paper's median, here the mean):
   * ONSET_LEVEL_FACTOR × mean + ONSET_DELTA. Böck's additive δ alone is not enough here: on white noise SuperFlux's
   * local mean grows with the level (15 at 0.3 full scale, frame-to-frame s.d. 3), and a δ of 3 then counted 5.5
   * onsets a second. Measured against the note onsets of the tuned MIDI renders (bench/lib/eval-onsets.ts): 1.7 ×
   * mean + 1 scores F 0.855 (precision 0.94; onsets per second 0.88 of the notes' at the median) and 0.03 a second
   * on white noise at any level. In the comparison that chose it, 1.5 × mean + 1 scored F 0.856 but counted 0.3–0.9
   * a second on some white noise, at the MIN_ONSETS_PER_SEC line; mean + 3 alone F 0.855 and 5.5 on noise. The
   * picker it replaced (the 32-band log flux, a fixed rise over the 100 ms before) scored F 0.75, counted 0.62 of
   * the notes, and under 0.4 of them in dense loud passages, where the bands are already full and a new note barely
   * raises them. (Those figures are from before SuperFlux was compressed relative to its level reference, frames.ts;
   * since, F 0.850, precision 0.955, 0.86 of the notes' rate, and white noise at any level 0.03 a second.)
   */
  ONSET_LEVEL_FACTOR: 1.7,
  ONSET_DELTA: 1,
  ONSET_MAX_SEC: 0.03,
  ONSET_MEAN_BEFORE_SEC: 0.1,
  ONSET_MEAN_AFTER_SEC: 0.07,
  ONSET_COMBINE_SEC: 0.03,
  /** Below this confidence there is no steady beat: no tempo, no beats, no meter. */
  MIN_CONFIDENCE: 0.25,
  /**
   * … and below this pulse clarity of the accents (the loudness-weighted band flux) neither. The accents' clarity
   * measured 0.01–0.03 on white noise, speech and notes at irregular times and 0.10–0.13 on the least clear rendered
   * pieces with a beat (CLARITY_FLOOR above): the line halfway. SuperFlux's own clarity cannot draw it alone: it sees
   * every syllable of speech as an onset, and read synthesised speech at 0.11.
   */
  MIN_ACCENT_CLARITY: 0.065,
  /**
   * A window's tempo is its beats' (the median inter-beat interval) unless they read further than this (ratio − 1)
   * from the tempo-state path over the window: then the dynamic programme strung the beats on a figure or a
   * quiet intro's stray attacks (OpenMSX's Chugga Chugga opens with 16 beats in 9.3 s where the music holds
   * 90 BPM: the first window read 118 and the caption said 90), and the window takes the path's tempo, which
   * the onsets' periodicity gives. On the corpus 3 of 2,564 windows whose tempo the MIDI or chart gives read more
   * than 8 % from the path; in all 3 the path was within 0.3 % of the written tempo and the beats 7-31 % off it.
   * Closer in, the path's own coarseness (1 % steps, 12 s segments) makes it the worse reading: of the 9 more
   * windows between 4 and 8 %, it was nearer the written tempo in none.
   */
  WINDOW_BEATS_STRAY: 0.08,
  /** A tempo change must be at least this large (ratio − 1) to be reported: below it is the grid's own jitter. */
  MIN_CHANGE: 0.08,
  /** Tempo-change segmentation: log-tempo curve sampled every second; penalty per extra segment (in squared log units × samples). */
  CHANGE_SAMPLE_SEC: 1,
  CHANGE_PENALTY: 0.08,
  /** A change shorter than this (seconds) at both sides is not a section: ignored. */
  MIN_SECTION_SEC: 8,
} as const;

const EMPTY: RhythmAnalysis = Object.freeze({
  bpm: null, confidence: 0, beats: new Float64Array(0), downbeats: [], meter: null, meterConfidence: 0, tempoChanges: [],
  periodicity: { atSec: new Float64Array(0), bpm: new Float64Array(0) },
}) as RhythmAnalysis;

function emptyRhythm(confidence = 0): RhythmAnalysis {
  return { ...EMPTY, confidence, beats: new Float64Array(0), downbeats: [], tempoChanges: [], periodicity: { atSec: new Float64Array(0), bpm: new Float64Array(0) } };
}

/** Normalised autocorrelation (acf[0] = 1, unbiased) of signal[from, to) for lags [0, maxLag]; all zero for a flat or too short segment. */
export function segmentAcf(signal: Float64Array, from: number, to: number, maxLag: number): Float64Array {
  if (to - from <= maxLag + 2) return new Float64Array(maxLag + 1);
  return normalisedAutocorrelation(signal, from, to, maxLag);
}

/** acf at a fractional lag, linearly interpolated; 0 outside. */
function acfAt(acf: Float64Array, lag: number): number {
  if (lag < 0 || lag >= acf.length - 1) return 0;
  const i = Math.floor(lag);
  const f = lag - i;
  return acf[i] * (1 - f) + acf[i + 1] * f;
}

/** Max of acf within ±2 % of lag (the peak may fall between states). */
function acfPeak(acf: Float64Array, lag: number): number {
  const r = Math.max(1, lag * 0.02);
  let best = -Infinity;
  for (let l = Math.max(1, Math.floor(lag - r)); l <= Math.ceil(lag + r) && l < acf.length; l++) if (acf[l] > best) best = acf[l];
  return best === -Infinity ? 0 : best;
}

interface Segments {
  centers: Float64Array; // frame index of each segment's centre
  acfs: Float64Array[];
  activity: Float64Array; // mean novelty per segment
}

function segmentAcfs(novelty: Float64Array, fps: number, maxLag: number): Segments {
  const n = novelty.length;
  const len = Math.min(n, Math.round(RHYTHM.SEGMENT_SEC * fps));
  const hop = Math.round(RHYTHM.SEGMENT_HOP_SEC * fps);
  const count = Math.max(1, 1 + Math.ceil((n - len) / hop));
  const centers = new Float64Array(count);
  const acfs: Float64Array[] = [];
  const activity = new Float64Array(count);
  for (let s = 0; s < count; s++) {
    const from = Math.max(0, Math.min(n - len, s * hop));
    const to = from + len;
    centers[s] = (from + to) / 2;
    acfs.push(segmentAcf(novelty, from, to, Math.min(maxLag, len - 3)));
    let sum = 0;
    for (let i = from; i < to; i++) sum += novelty[i];
    activity[s] = sum / len;
  }
  return { centers, acfs, activity };
}

/**
 * The metrical level, among the global estimate, its double and half, and its triple: the one whose periodicity
 * (the segments' mean autocorrelation at its period), weighed by the log-Gaussian prior over perceptual tempo
 * (Ellis 2007 §3.1; librosa's start_bpm = 120, std_bpm = 1 octave), is the highest. The triple is there for an
 * estimate at the bar of a fast 3/4 (53 BPM for a waltz at 160), which the double could move only to half a bar
 * (107 BPM, one and a half beats), a level the music does not have. A third of the estimate is not a candidate:
 * a bar of three beats repeats wherever its beats do, and on a splice of excerpts at 182-222 BPM it outscored
 * them under the prior (60 BPM).
 */
function withPerceptualPrior(segments: Segments, period: number, fps: number, minLag: number, maxLag: number): { period: number; scores: LevelScore[] } {
  const scores: LevelScore[] = [];
  const mean = new Float64Array(segments.acfs[0].length);
  for (const acf of segments.acfs) for (let l = 0; l < mean.length; l++) mean[l] += acf[l] / segments.acfs.length;
  const priorLag = (60 * fps) / RHYTHM.PRIOR_BPM;
  let best = period;
  let bestScore = -Infinity;
  for (const factor of [1 / 3, 0.5, 1, 2]) {
    const lag = period * factor;
    if (lag < minLag || lag > maxLag || 1.03 * lag >= mean.length - 1) continue;
    const octaves = Math.log2(lag / priorLag) / RHYTHM.PRIOR_OCTAVES;
    // The slower level's periodicity includes the faster one's bar-level repetition, so it must win clearly.
    const handicap = factor > 1 ? RHYTHM.SLOWER_LEVEL_MARGIN : factor < 1 ? RHYTHM.FASTER_LEVEL_MARGIN : 1;
    const score = (acfPeak(mean, lag) * Math.exp(-0.5 * octaves * octaves)) / handicap;
    scores.push({ lag, score });
    if (score > bestScore) {
      bestScore = score;
      best = lag;
    }
  }
  // The estimate the levels above are relatives of can be lost: Ellis's own global tempo, the prior-weighted
  // autocorrelation's highest peak over every lag, stands in where the level chosen holds too little of it.
  let peakLag = -1;
  let peakScore = 0;
  for (let l = Math.max(2, Math.ceil(minLag)); l <= Math.min(maxLag, mean.length - 2); l++) {
    if (!(mean[l] > mean[l - 1] && mean[l] >= mean[l + 1])) continue;
    const octaves = Math.log2(l / priorLag) / RHYTHM.PRIOR_OCTAVES;
    const score = mean[l] * Math.exp(-0.5 * octaves * octaves);
    if (score > peakScore) {
      peakScore = score;
      peakLag = l;
    }
  }
  if (peakLag > 0 && bestScore < RHYTHM.LOST_ESTIMATE_SHARE * peakScore) {
    scores.push({ lag: peakLag, score: peakScore });
    return { period: peakLag, scores };
  }
  return { period: best, scores };
}

/** A metrical level the perceptual-prior step weighed: its period (frames) and its prior-weighted periodicity. */
interface LevelScore {
  lag: number;
  score: number;
}

/**
 * The octave of the beat, as the accents have it: 2^k (k = −1, 0, 1 …) when the accents' tempo is the same period
 * family as `bpm` an octave or more away and their prior step chose it over `bpm` by ACCENT_OCTAVE_MARGIN, else 1.
 * SuperFlux, whose log magnitudes weigh a soft note as much as a kick, places the period and the beats best: it
 * finds pieces whose attacks are soft, and no longer reads a riff grouped in threes as the period. But which octave
 * is the beat is a matter of accents, the kick and snare standing out from the notes between them, which the
 * loudness-weighted band flux keeps and SuperFlux flattens: with SuperFlux's own octave, synthesised grooves at 60-72
 * BPM read double and at 152-180 half (44 of 64 right instead of 63), and the tuned real corpus lost three pieces.
 * When the two disagree other than by octaves (⅔, ¾), SuperFlux's period stands.
 */
export function octaveOf(accents: AccentPulse, bpm: number): number {
  if (accents.bpm === null) return 1;
  const ratio = accents.bpm / bpm;
  const octaves = Math.round(Math.log2(ratio));
  if (octaves === 0 || Math.abs(ratio / 2 ** octaves - 1) > RHYTHM.OCTAVE_AGREEMENT) return 1;
  // To a slower octave, by the prior step's own margin for a slower level: that level's periodicity holds the
  // faster one's bar-level repetition, in the accents' autocorrelation as in SuperFlux's.
  const margin = octaves < 0 ? RHYTHM.SLOWER_LEVEL_MARGIN : RHYTHM.ACCENT_OCTAVE_MARGIN;
  return accents.preferenceOver(bpm) >= margin ? 2 ** octaves : 1;
}

export interface AccentPulse {
  bpm: number | null;
  clarity: number;
  /**
   * How much the accents' perceptual-prior step preferred their tempo to `bpm` (the ratio of its two scores);
   * Infinity where `bpm` was not among the levels it weighed.
   */
  preferenceOver(bpm: number): number;
}

/**
 * The accents' own analysis (ShortFrameFeatures.beatFlux, the loudness-weighted band flux), as the tracker made it
 * before it followed SuperFlux: their tempo (the metrical-level analysis and the perceptual prior) and their pulse
 * clarity along their own local tempo.
 */
function accentPulse(short: ShortFrameFeatures, backbeat: Backbeat | null, fps: number, minLag: number, maxLag: number): AccentPulse {
  const accents = short.beatFlux.values();
  const estimate = estimateTempo(accents, 0, accents.length, { framesPerSecond: fps, backbeat });
  if (estimate.bpm === null) return { bpm: null, clarity: 0, preferenceOver: () => Infinity };
  const novelty = noveltyOf(accents, 0, accents.length, Math.round(RHYTHM.NOVELTY_HALF_SEC * fps));
  const { segments, period, scores } = metricalLevel(novelty, estimate.bpm, fps, minLag, maxLag);
  const { clarity } = localPeriods(segments, period, minLag, maxLag);
  const chosen = scores.find((level) => level.lag === period)?.score ?? 0;
  const preferenceOver = (bpm: number) => {
    const other = scores.find((level) => Math.abs((60 * fps) / level.lag / bpm - 1) <= RHYTHM.OCTAVE_AGREEMENT);
    return other && other.score > 0 ? chosen / other.score : Infinity;
  };
  return { bpm: (60 * fps) / period, clarity: pulseClarity(segments, clarity), preferenceOver };
}

/**
 * The segments' autocorrelations of `novelty` (reaching far enough for the octave check and the tempo states), the
 * beat period the perceptual prior picks among `bpm` and its metrical relatives, and the scores it weighed them by.
 */
export function metricalLevel(novelty: Float64Array, bpm: number, fps: number, minLag: number, maxLag: number): { segments: Segments; period: number; scores: LevelScore[] } {
  const period = (60 * fps) / bpm;
  const segments = segmentAcfs(novelty, fps, Math.ceil(Math.max(4, 2 * RHYTHM.STATE_RANGE) * period) + 4);
  return { segments, ...withPerceptualPrior(segments, period, fps, minLag, maxLag) };
}

/** The pulse clarity of the active segments (those with attacks at all), weighed by activity. */
function pulseClarity(segments: Segments, clarity: Float64Array): number {
  const activeLevel = median(segments.activity);
  let clarityWeighted = 0;
  let weight = 0;
  for (let s = 0; s < clarity.length; s++) {
    const w = Math.min(segments.activity[s], activeLevel);
    clarityWeighted += w * clarity[s];
    weight += w;
  }
  return weight > 0 ? clarityWeighted / weight : 0;
}

const confidenceOf = (pulse: number) => Math.max(0, Math.min(1, (pulse - RHYTHM.CLARITY_FLOOR) / RHYTHM.CLARITY_SPAN));

/**
 * Viterbi over tempo states (periods P·r^k, |k| ≤ K): the local period of every segment. Observation: the
 * segment's autocorrelation at the period plus half of it at twice the period; transition: a quadratic cost
 * in the change of log period; a log-Gaussian pull towards the global period.
 */
function localPeriods(segments: Segments, period: number, minLag: number, maxLag: number): { periods: Float64Array; clarity: Float64Array } {
  const step = Math.log(1 + RHYTHM.STATE_STEP);
  const K = Math.floor(Math.log(RHYTHM.STATE_RANGE) / step);
  const states: number[] = [];
  for (let k = -K; k <= K; k++) {
    const lag = period * Math.exp(k * step);
    if (lag >= minLag && lag <= maxLag) states.push(lag);
  }
  const S = states.length;
  const count = segments.acfs.length;
  const obs = new Float64Array(count * S);
  const clarity = new Float64Array(count);
  for (let s = 0; s < count; s++) {
    const acf = segments.acfs[s];
    for (let j = 0; j < S; j++) {
      const lag = states[j];
      const prior = Math.log2(lag / period) / RHYTHM.LOCAL_PRIOR_OCTAVES;
      // Interpolated at the state's own period (no ±tolerance): neighbouring states must differ, or the
      // path would sit on a plateau and follow an accelerando in steps.
      obs[s * S + j] = acfAt(acf, lag) + 0.5 * acfAt(acf, 2 * lag) - 0.05 * prior * prior;
    }
  }
  const score = new Float64Array(S);
  const back = new Int32Array(count * S);
  for (let j = 0; j < S; j++) score[j] = obs[j];
  const next = new Float64Array(S);
  const reach = 30; // states: ±30 % per segment hop is far beyond any real change, and bounds the work
  for (let s = 1; s < count; s++) {
    for (let j = 0; j < S; j++) {
      let best = -Infinity;
      let arg = j;
      for (let i = Math.max(0, j - reach); i <= Math.min(S - 1, j + reach); i++) {
        const d = i - j;
        const v = score[i] - RHYTHM.TRANSITION_COST * d * d;
        if (v > best) {
          best = v;
          arg = i;
        }
      }
      next[j] = best + obs[s * S + j];
      back[s * S + j] = arg;
    }
    score.set(next);
  }
  let j = 0;
  for (let i = 1; i < S; i++) if (score[i] > score[j]) j = i;
  const periods = new Float64Array(count);
  for (let s = count - 1; s >= 0; s--) {
    periods[s] = states[j];
    const acf = segments.acfs[s];
    // Pulse clarity of the segment: the periodicity at its beat above the autocorrelation's typical level
    // between a half and twice the beat (noise and free rhythm: all about equal).
    let sum = 0;
    let m = 0;
    for (let l = Math.max(1, Math.floor(states[j] / 2)); l <= Math.min(acf.length - 1, Math.ceil(2 * states[j])); l++) {
      sum += Math.abs(acf[l]);
      m++;
    }
    clarity[s] = acfPeak(acf, states[j]) - (m > 0 ? sum / m : 0);
    if (s > 0) j = back[s * S + j];
  }
  return { periods, clarity };
}

/**
 * The local period at every frame, log-linear between segment centres and constant before the first and after the
 * last: read frame by frame rather than kept as an array (a 60-minute track has 360,000 frames).
 */
export class FramePeriods {
  private segment = 0;
  constructor(private readonly centers: Float64Array, private readonly periods: Float64Array) {}

  /** The longest period at any frame. */
  get longest(): number {
    let longest = 0;
    for (let s = 0; s < this.periods.length; s++) if (this.periods[s] > longest) longest = this.periods[s];
    return longest;
  }

  /** The period at frame t (fastest when t only grows from one call to the next). */
  at(t: number): number {
    const centers = this.centers;
    if (centers[this.segment] > t) this.segment = 0;
    while (this.segment < centers.length - 1 && centers[this.segment + 1] <= t) this.segment++;
    const s = this.segment;
    if (t <= centers[0] || s >= centers.length - 1) return this.periods[t <= centers[0] ? 0 : s];
    const f = (t - centers[s]) / (centers[s + 1] - centers[s]);
    return Math.exp(Math.log(this.periods[s]) * (1 - f) + Math.log(this.periods[s + 1]) * f);
  }
}

/**
 * Ellis's dynamic programme with a local period: returns beat frames. `localScore` is the onset strength
 * smoothed by a Gaussian of σ = P/32 (as in Ellis 2007), `period` the local period at each frame. The cumulative
 * score is written over `localScore` (each frame's own score is read just before its cumulative one replaces
 * it), so a long track needs no second array of its length.
 */
export function trackBeats(localScore: Float64Array, period: FramePeriods, tightness: number): number[] {
  const n = localScore.length;
  // +3: an interpolated period may exceed the longest segment's by a rounding error.
  const logOf = new Float64Array(Math.ceil(2 * Math.max(2, period.longest)) + 3);
  for (let d = 1; d < logOf.length; d++) logOf[d] = Math.log(d);
  const cumulative = localScore;
  const backlink = new Int32Array(n).fill(-1);
  for (let t = 0; t < n; t++) {
    const p = period.at(t);
    const logP = Math.log(p);
    const lo = Math.max(0, Math.floor(t - 2 * p));
    const hi = Math.min(t - 1, Math.ceil(t - p / 2));
    let best = -Infinity;
    let arg = -1;
    for (let tau = lo; tau <= hi; tau++) {
      const d = logOf[t - tau] - logP;
      const v = cumulative[tau] - tightness * d * d;
      if (v > best) {
        best = v;
        arg = tau;
      }
    }
    // A beat with no good predecessor starts a new chain (the first beat of the track, or after a break).
    if (arg >= 0 && best > 0) {
      cumulative[t] = localScore[t] + best;
      backlink[t] = arg;
    }
  }
  // The last beat: the latest local maximum of the cumulative score that reaches half the median of them
  // (as librosa does), so a weak tail does not pull the path.
  const maxima: number[] = [];
  for (let t = 1; t < n - 1; t++) if (cumulative[t] > cumulative[t - 1] && cumulative[t] >= cumulative[t + 1]) maxima.push(t);
  if (maxima.length === 0) return [];
  const sorted = maxima.map((t) => cumulative[t]).sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  let last = maxima[maxima.length - 1];
  for (let i = maxima.length - 1; i >= 0; i--) {
    if (cumulative[maxima[i]] >= 0.5 * median) {
      last = maxima[i];
      break;
    }
  }
  const beats: number[] = [];
  for (let t = last; t >= 0; t = backlink[t]) beats.push(t);
  return beats.reverse();
}

/**
 * The onsets among frames [from, to) of SuperFlux (their frame indices), picked with Böck & Widmer's peak-picking
 * (RHYTHM.ONSET_*). The local maximum and the mean look past the range's ends, so a window's edge neither makes
 * nor hides an onset.
 */
export function pickOnsets(superFlux: Float32Array, from: number, to: number, fps: number): number[] {
  const n = superFlux.length;
  const reach = Math.max(1, Math.round(RHYTHM.ONSET_MAX_SEC * fps));
  const before = Math.round(RHYTHM.ONSET_MEAN_BEFORE_SEC * fps);
  const after = Math.round(RHYTHM.ONSET_MEAN_AFTER_SEC * fps);
  const combine = Math.max(1, Math.round(RHYTHM.ONSET_COMBINE_SEC * fps));
  const start = Math.max(0, from);
  const end = Math.min(n, to);
  // Running sum of superFlux over [i - before, i + after], clipped to the envelope.
  let sum = 0;
  for (let j = Math.max(0, start - before); j <= Math.min(n - 1, start + after); j++) sum += superFlux[j];
  const onsets: number[] = [];
  let last = -Infinity;
  for (let i = start; i < end; i++) {
    if (i > start) {
      if (i + after < n) sum += superFlux[i + after];
      if (i - before - 1 >= 0) sum -= superFlux[i - before - 1];
    }
    const v = superFlux[i];
    const span = Math.min(n - 1, i + after) - Math.max(0, i - before) + 1;
    if (v < RHYTHM.ONSET_LEVEL_FACTOR * (sum / span) + RHYTHM.ONSET_DELTA || i - last < combine) continue;
    let peak = true;
    for (let j = Math.max(0, i - reach); j <= Math.min(n - 1, i + reach) && peak; j++) if (j !== i && (superFlux[j] > v || (superFlux[j] === v && j < i))) peak = false;
    if (!peak) continue;
    onsets.push(i);
    last = i;
  }
  return onsets;
}

/** The median of a list (copy sorted); NaN for none. */
function median(values: ArrayLike<number>): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : 0.5 * (sorted[mid - 1] + sorted[mid]);
}

/**
 * The beat, tempo and meter of the whole track. `onsets` are the track's onsets (pickOnsets over all of SuperFlux),
 * passed in by a caller that has them already.
 */
export function analyzeRhythm(short: ShortFrameFeatures, durationSec: number, onsets?: ArrayLike<number>): RhythmAnalysis {
  // Every note's onset (SuperFlux): what the periods, the local tempo and the beats follow.
  const envelope = short.superFlux.values();
  const n = envelope.length;
  const fps = durationSec > 0 && n > 0 ? n / durationSec : 100;
  const minLag = (60 * fps) / RHYTHM.MAX_BPM;
  const maxLag = (60 * fps) / RHYTHM.MIN_BPM;
  if (n < 4 * minLag || durationSec < 2) return emptyRhythm();

  const onsetFrames = onsets ?? pickOnsets(envelope, 0, n, fps);
  if (onsetFrames.length / durationSec < RHYTHM.MIN_ONSETS_PER_SEC) return emptyRhythm();
  const novelty = noveltyOf(envelope, 0, envelope.length, Math.round(RHYTHM.NOVELTY_HALF_SEC * fps));
  let total = 0;
  for (let i = 0; i < n; i++) total += novelty[i];
  if (!(total > 0)) return emptyRhythm();

  // Global tempo: the metrical-level analysis of tempo.ts over the whole track and the perceptual prior, on the
  // onsets; then its octave from the same analysis of the accents.
  const backbeat = backbeatOf(short.highBeatFlux.values(), 0, n, fps, RHYTHM.MIN_BPM, RHYTHM.MAX_BPM);
  const global = estimateTempo(envelope, 0, n, { framesPerSecond: fps, backbeat });
  if (global.bpm === null) return emptyRhythm();
  const level = metricalLevel(novelty, global.bpm, fps, minLag, maxLag);
  const segments = level.segments;
  const accents = accentPulse(short, backbeat, fps, minLag, maxLag);
  const period = level.period / octaveOf(accents, (60 * fps) / level.period);
  // Local tempo per segment.
  const { periods, clarity } = localPeriods(segments, period, minLag, maxLag);

  // Confidence: the pulse clarity of the onsets. A steady beat must also show in the accents: the syllables of
  // speech are onsets as regular as a slow beat's, but nothing in them is accented with any regularity.
  const confidence = confidenceOf(pulseClarity(segments, clarity));
  if (confidence < RHYTHM.MIN_CONFIDENCE) return emptyRhythm(confidence);
  if (accents.clarity < RHYTHM.MIN_ACCENT_CLARITY) return emptyRhythm(Math.min(confidence, confidenceOf(accents.clarity)));

  const framePeriod = new FramePeriods(segments.centers, periods);

  // Local score: onset strength normalised by its standard deviation, smoothed by a Gaussian of σ = P/32.
  let sq = 0;
  for (let i = 0; i < n; i++) sq += novelty[i] * novelty[i];
  const std = Math.sqrt(sq / n) || 1;
  const sigma = Math.max(1, period / 32);
  const radius = Math.ceil(3 * sigma);
  const kernel = new Float64Array(2 * radius + 1);
  for (let k = -radius; k <= radius; k++) kernel[k + radius] = Math.exp(-0.5 * (k / sigma) ** 2);
  const localScore = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    let v = 0;
    for (let k = -radius; k <= radius; k++) {
      const i = t + k;
      if (i >= 0 && i < n) v += kernel[k + radius] * novelty[i];
    }
    localScore[t] = v / std;
  }
  const beatFrames = trackBeats(localScore, framePeriod, RHYTHM.TIGHTNESS);

  // Drop beats in breaks: where the onset strength around the beat (±2 local periods) is far below the track's typical level.
  // (Summed per beat, ±2 periods each: no prefix array of the track's length.) And where the attacks are too few for a
  // beat (MIN_ONSETS_PER_SEC, the line a window's tempo keeps, over ATTACK_SPAN_SEC around it): the programme strings
  // beats on through a held pad that swells enough to pass the first test, and a tempo change read through them was
  // told in windows that said the beat had dropped out (Colobot's Humanitarian: "speeds up from 104 to 125 BPM; the
  // steady beat drops out", over a minute of pad with 0.1-0.3 onsets a second).
  const typical = total / n;
  const attackReach = (RHYTHM.ATTACK_SPAN_SEC / 2) * fps;
  const kept: number[] = [];
  for (const t of beatFrames) {
    const from = Math.max(0, t - attackReach);
    const to = Math.min(n, t + attackReach);
    if (countBetween(onsetFrames, from, to) < RHYTHM.MIN_ONSETS_PER_SEC * ((to - from) / fps)) continue;
    const half = 2 * framePeriod.at(t);
    const lo = Math.max(0, Math.floor(t - half));
    const hi = Math.min(n, Math.ceil(t + half));
    let sum = 0;
    for (let i = lo; i < hi; i++) sum += novelty[i];
    const level = sum / Math.max(1, hi - lo);
    if (level >= RHYTHM.BREAK_LEVEL * typical) kept.push(t);
  }
  const beats = Float64Array.from(kept, (t) => t / fps);

  const bpm = beatsBpm(beats);
  if (bpm === null) return emptyRhythm();
  const meter = analyzeMeter(short, beats, fps);
  return {
    bpm,
    confidence,
    beats,
    downbeats: meter.downbeats,
    meter: meter.meter,
    meterConfidence: meter.confidence,
    tempoChanges: tempoChangesOf(beats, tempoStateSupport(segments.centers, periods, clarity, fps)),
    periodicity: { atSec: segments.centers.map((c) => c / fps), bpm: periods.map((p) => (60 * fps) / p) },
  };
}

/**
 * Whether the tempo-state path bears out a tempo change the beat grid shows, asked about the middles of the sections
 * either side: the dynamic programme can string a stretch of beats onto syncopated attacks a little off the period
 * (a 3+3+2 riff pulls them ~9 % closer) while the segments' periodicity never moved, and a stretch without any pulse
 * lets the path drift. So each section must show a pulse somewhere (within half a section's length of its middle:
 * a section whose middle is a weak bar or two is still at its tempo; Colobot's Humanitarian holds 130 BPM to 4:27
 * through a few seconds of pulse too faint to count, then steps back to its opening 104, and the step went untold
 * while the windows' tags went from 130 to 104), and the path must move the same way by at least half the change.
 * `centers` are the segments' centres in frames, `periods` their local periods, `clarity` their pulse clarity.
 */
export function tempoStateSupport(centers: Float64Array, periods: Float64Array, clarity: Float64Array, fps: number) {
  const segmentAt = (sec: number) => {
    let nearest = 0;
    for (let s = 1; s < centers.length; s++) if (Math.abs(centers[s] - sec * fps) < Math.abs(centers[nearest] - sec * fps)) nearest = s;
    return nearest;
  };
  const pulseNear = (sec: number) => {
    let best = clarity[segmentAt(sec)];
    for (let s = 0; s < centers.length; s++) {
      if (Math.abs(centers[s] / fps - sec) <= RHYTHM.MIN_SECTION_SEC / 2 && clarity[s] > best) best = clarity[s];
    }
    return best;
  };
  return (fromSec: number, toSec: number, fromBpm: number, toBpm: number): boolean => {
    if (pulseNear(fromSec) <= RHYTHM.CLARITY_FLOOR || pulseNear(toSec) <= RHYTHM.CLARITY_FLOOR) return false;
    const moved = Math.log(periods[segmentAt(fromSec)] / periods[segmentAt(toSec)]);
    const claimed = Math.log(toBpm / fromBpm);
    return Math.sign(moved) === Math.sign(claimed) && Math.abs(moved) >= 0.5 * Math.abs(claimed);
  };
}

/**
 * Inter-beat intervals [from, to) of the beats that belong to the grid: an interval longer than 1.5 times the
 * median of the eight around it spans a break (beats dropped there), not a beat.
 */
function gridIntervals(beats: Float64Array, from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = Math.max(1, from + 1); i < to; i++) {
    const d = beats[i] - beats[i - 1];
    const around: number[] = [];
    for (let j = Math.max(1, i - 4); j <= Math.min(beats.length - 1, i + 4); j++) if (j !== i) around.push(beats[j] - beats[j - 1]);
    if (around.length === 0 || d <= 1.5 * median(around)) out.push(d);
  }
  return out;
}

function beatsBpm(beats: Float64Array): number | null {
  const intervals = gridIntervals(beats, 0, beats.length);
  if (intervals.length < 4) return null;
  return 60 / median(intervals);
}

/**
 * Tempo of a stretch of the track from the beat grid: 60 / the median inter-beat interval of the beats inside
 * it, at the track's metrical level, or the tempo-state path's where the beats strayed from it
 * (WINDOW_BEATS_STRAY); null + 0 when the stretch holds too few beats (silence, a break).
 */
const gridPeriods = new WeakMap<RhythmAnalysis, number>();

/** How many of the ascending `sorted` lie in [from, to). */
export function countBetween(sorted: ArrayLike<number>, from: number, to: number): number {
  return firstAtOrAfter(sorted, to) - firstAtOrAfter(sorted, from);
}

/** The index of the first value ≥ `value` in an ascending list (its length when there is none). */
function firstAtOrAfter(sorted: ArrayLike<number>, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function tempoBetween(rhythm: RhythmAnalysis, startSec: number, endSec: number): { bpm: number | null; confidence: number } {
  const beats = rhythm.beats;
  if (rhythm.bpm === null || beats.length < 2) return { bpm: null, confidence: 0 };
  let from = 0;
  while (from < beats.length && beats[from] < startSec) from++;
  let to = from;
  while (to < beats.length && beats[to] < endSec) to++;
  let gridPeriod = gridPeriods.get(rhythm);
  if (gridPeriod === undefined) {
    gridPeriod = median(gridIntervals(beats, 0, beats.length));
    gridPeriods.set(rhythm, gridPeriod);
  }
  const usable = gridIntervals(beats, from, to);
  // At least four beats' worth of grid, and beats over half the window.
  const covered = usable.reduce((a, b) => a + b, 0);
  if (usable.length < 3 || covered < 0.5 * (endSec - startSec) - gridPeriod) return { bpm: null, confidence: 0 };
  const beatsRead = 60 / median(usable);
  const periodicity = periodicityBetween(rhythm, startSec, endSec);
  const strayed = periodicity !== null && Math.abs(Math.log(beatsRead / periodicity)) > Math.log(1 + RHYTHM.WINDOW_BEATS_STRAY);
  const bpm = strayed ? periodicity : beatsRead;
  return { bpm, confidence: rhythm.confidence * Math.min(1, covered / Math.max(1e-9, endSec - startSec - gridPeriod)) };
}

/**
 * The median tempo of the tempo-state path over the segment centres in [startSec, endSec); where none lies inside (a
 * stretch shorter than the segments' spacing), the path at the stretch's middle as the beat tracker reads it
 * (FramePeriods: log-linear between centres). Null without a path.
 */
function periodicityBetween(rhythm: RhythmAnalysis, startSec: number, endSec: number): number | null {
  const { atSec, bpm } = rhythm.periodicity;
  if (atSec.length === 0) return null;
  const inside: number[] = [];
  for (let s = 0; s < atSec.length; s++) if (atSec[s] >= startSec && atSec[s] < endSec) inside.push(bpm[s]);
  return inside.length > 0 ? median(inside) : new FramePeriods(atSec, bpm).at((startSec + endSec) / 2);
}

/**
 * Tempo changes from the beat grid: the log tempo sampled every CHANGE_SAMPLE_SEC (median inter-beat interval
 * over ±4 beats), segmented into straight pieces by optimal partitioning; a jump between pieces is a step,
 * a piece whose own slope changes the tempo by MIN_CHANGE or more is gradual.
 */
export function tempoChangesOf(
  beats: Float64Array,
  supported: (fromSec: number, toSec: number, fromBpm: number, toBpm: number) => boolean = () => true,
): TempoChange[] {
  if (beats.length < 16) return [];
  // Local tempo at each beat: median of the 8 grid intervals around it (intervals spanning a break left out).
  const intervals: number[] = [];
  const isGap: boolean[] = [];
  for (let i = 1; i < beats.length; i++) intervals.push(beats[i] - beats[i - 1]);
  for (let i = 0; i < intervals.length; i++) {
    const around: number[] = [];
    for (let j = Math.max(0, i - 4); j <= Math.min(intervals.length - 1, i + 4); j++) if (j !== i) around.push(intervals[j]);
    isGap.push(intervals[i] > 1.5 * median(around));
  }
  const times: number[] = [];
  const logs: number[] = [];
  const stepSec = RHYTHM.CHANGE_SAMPLE_SEC;
  let nextAt = beats[0];
  for (let i = 0; i < intervals.length; i++) {
    const mid = 0.5 * (beats[i] + beats[i + 1]);
    // The middle of an interval that spans a break is no time at which the grid had a tempo.
    if (mid < nextAt || isGap[i]) continue;
    const around: number[] = [];
    for (let j = Math.max(0, i - 4); j <= Math.min(intervals.length - 1, i + 4); j++) if (!isGap[j]) around.push(intervals[j]);
    if (around.length < 5) continue; // near a break: no reading
    times.push(mid);
    logs.push(Math.log(60 / median(around)));
    nextAt = mid + stepSec;
  }
  // No straight piece spans a stretch without a reading as long as a section (a break, a held pad): the grid says
  // nothing of how the tempo went there, and a line drawn across it was told as a gradual change (a groove at 100
  // BPM, 50 s of pad, a groove at 125: "speeds up gradually from 100 to 125 from 0:20"). The readings between two
  // such stretches too few for a piece are left out.
  const minLen = 4;
  const runOf: number[] = [];
  for (let i = 0; i < times.length; i++) runOf.push(i > 0 && times[i] - times[i - 1] > RHYTHM.MIN_SECTION_SEC ? runOf[i - 1] + 1 : (runOf[i - 1] ?? 0));
  const runLength = new Map<number, number>();
  for (const run of runOf) runLength.set(run, (runLength.get(run) ?? 0) + 1);
  const kept = (_: number, i: number) => runLength.get(runOf[i])! >= minLen;
  const t = times.filter(kept);
  const y = logs.filter(kept);
  const runs = runOf.filter(kept);
  const m = t.length;
  if (m < 6) return [];
  // Optimal partitioning into linear pieces (least squares), with prefix sums for O(1) fits.
  const S = (a: number[]) => { const p = new Float64Array(m + 1); for (let i = 0; i < m; i++) p[i + 1] = p[i] + a[i]; return p; };
  const St = S(t), Sy = S(y), Stt = S(t.map((v) => v * v)), Sty = S(t.map((v, i) => v * y[i])), Syy = S(y.map((v) => v * v));
  const fit = (a: number, b: number) => { // samples [a, b)
    const k = b - a;
    const st = St[b] - St[a], sy = Sy[b] - Sy[a], stt = Stt[b] - Stt[a], sty = Sty[b] - Sty[a], syy = Syy[b] - Syy[a];
    const vt = stt - (st * st) / k;
    const cov = sty - (st * sy) / k;
    const slope = k > 2 && vt > 1e-9 ? cov / vt : 0;
    const rss = Math.max(0, syy - (sy * sy) / k - slope * cov);
    return { rss, slope, intercept: (sy - slope * st) / k };
  };
  const best = new Float64Array(m + 1).fill(Infinity);
  const from = new Int32Array(m + 1);
  best[0] = -RHYTHM.CHANGE_PENALTY;
  for (let b = minLen; b <= m; b++) {
    // Pieces of at most 200 samples keep this linear in practice; longer stretches split at no cost when straight.
    for (let a = Math.max(0, b - 200); a <= b - minLen; a++) {
      if (best[a] === Infinity) continue;
      if (runs[b - 1] !== runs[a]) continue;
      const v = best[a] + RHYTHM.CHANGE_PENALTY + fit(a, b).rss / 0.0004;
      if (v < best[b]) {
        best[b] = v;
        from[b] = a;
      }
    }
  }
  if (best[m] === Infinity) return [];
  const pieces: Array<{ a: number; b: number; start: number; end: number }> = [];
  for (let b = m; b > 0; b = from[b]) {
    const a = from[b];
    const { slope, intercept } = fit(a, b);
    pieces.push({ a, b, start: Math.exp(intercept + slope * t[a]), end: Math.exp(intercept + slope * t[b - 1]) });
  }
  pieces.reverse();
  // Sections: pieces of at least half a section's length; shorter pieces between them are transitions
  // (the grid's few beats of passage from one tempo to the next).
  const sections = pieces.filter((p) => t[p.b - 1] - t[p.a] >= RHYTHM.MIN_SECTION_SEC / 2);
  const jump = Math.log(1 + RHYTHM.MIN_CHANGE);
  const direction = (p: { start: number; end: number }) => {
    const d = Math.log(p.end / p.start);
    return Math.abs(d) < 0.01 ? 0 : Math.sign(d);
  };
  // A short level section inside a run takes the direction of the one before it (a pause of the grid in
  // an accelerando is not a turn).
  const dirs = sections.map(direction);
  for (let i = 1; i < sections.length; i++) {
    if (dirs[i] === 0 && t[sections[i].b - 1] - t[sections[i].a] < RHYTHM.MIN_SECTION_SEC) dirs[i] = dirs[i - 1];
  }
  const span = (p: { a: number; b: number }) => t[p.b - 1] - t[p.a];
  // The tempo a step lands on: the median reading over the first two sections' length of the landing, within its run.
  // The grid's tempo states take a section's length to follow a step (segments of 12 s, 4 s apart), so over twice
  // that the settled tempo is most of the readings.
  const landingTempo = (p: { a: number }) => {
    let end = p.a;
    while (end < m && runs[end] === runs[p.a] && t[end] - t[p.a] < 2 * RHYTHM.MIN_SECTION_SEC) end++;
    return Math.exp(median(y.slice(p.a, end)));
  };
  // The tempo a step leaves and the one it lands on are those of the sections either side that last MIN_SECTION_SEC:
  // the grid takes several seconds to follow a sudden step (its tempo states change by small steps), and the short
  // ramp it draws meanwhile is a section of its own, whose first tempo is only part of the way there (Freedoom's
  // e3m9 steps from 92 to 120 BPM, and the ramp began at 111). Shorter sections on the way, joined without a jump,
  // are passed over.
  const settled = (from: number, by: 1 | -1): number => {
    let j = from;
    for (;;) {
      const next = sections[j + by];
      if (span(sections[j]) >= RHYTHM.MIN_SECTION_SEC || next === undefined) break;
      const joint = by > 0 ? Math.log(next.start / sections[j].end) : Math.log(sections[j].start / next.end);
      if (Math.abs(joint) >= jump) break;
      j += by;
    }
    return span(sections[j]) >= RHYTHM.MIN_SECTION_SEC ? j : from;
  };
  const changes: TempoChange[] = [];
  let groupStart = 0;
  // Consecutive sections that move the same way without a jump form one gradual change (the grid follows
  // an accelerando in small steps of its tempo states).
  const closeGroup = (from: number, to: number) => {
    if (from > to) return;
    const first = sections[from];
    const last = sections[to];
    const span = t[last.b - 1] - t[first.a];
    if (span >= RHYTHM.MIN_SECTION_SEC && dirs[from] !== 0 && Math.abs(Math.log(last.end / first.start)) >= jump
      && supported(t[first.a], t[last.b - 1], first.start, last.end)) {
      changes.push({ atSec: round3(t[first.a]), fromBpm: round1(first.start), toBpm: round1(last.end), kind: 'gradual' });
    }
  };
  // The sections a step passed over on its way to the settled tempo belong to the step: no gradual change is
  // told of them as well (Hedgewars' Brick read "steps up from 128 to 162" and, of the same seconds, "speeds up
  // gradually from 144 to 163").
  let stepReachedUpTo = -1;
  let lastLanding: { untilSec: number; bpm: number } | null = null;
  for (let i = 0; i < sections.length; i++) {
    const p = sections[i];
    const q = sections[i + 1];
    const stepped = q !== undefined && Math.abs(Math.log(q.start / p.end)) >= jump;
    const before = stepped ? settled(i, -1) : i;
    const after = stepped ? settled(i + 1, 1) : i + 1;
    if (q === undefined || stepped || dirs[i + 1] !== dirs[i]) {
      closeGroup(Math.max(groupStart, stepReachedUpTo), stepped ? before : i);
      groupStart = i + 1;
    }
    if (stepped) {
      const from = sections[before];
      const to = sections[after];
      // The tempo landed on is the landing's typical reading, not where its section's line starts: the grid's first
      // seconds after a step can still be on their way (Colobot's Humanitarian comes back from a minute of pad at
      // 130 BPM, and its grid's first four seconds back ran 120-128: the section's line began at 120, and the
      // caption said "now at about 120 BPM" over a window tagged 130).
      const landing = landingTempo(to);
      // A step from a stretch inside the last step's landing to the tempo that step was told landing on is the grid
      // finishing its way there (a few seconds at 120 before 130, after a beat that came back at 130): not a change.
      if (lastLanding && t[from.a] < lastLanding.untilSec && Math.abs(Math.log(landing / lastLanding.bpm)) < jump) {
        stepReachedUpTo = after;
        continue;
      }
      // Told by the settled tempi, the step must still be one: a few seconds of a slower or faster grid between
      // two stretches at nearly one tempo is no change of tempo (Hedgewars' Halloween, 75 BPM, dips for 6 s and
      // goes on at 73, and was told as "the tempo drops from 75 to 73"). Whether there is a step is asked of where
      // the landing's line starts, as the tempo states were asked before the landing was read; the landing's
      // reading must make one too, and is what is told. (Asked of the reading, a last 15 s whose grid wanders
      // 143-188 BPM became a step to 154, which the tempo states had refused as one to the line's 176.)
      const stepTo = (bpm: number) => Math.log(bpm / from.end);
      const isStep = Math.abs(stepTo(to.start)) >= jump && Math.abs(stepTo(landing)) >= jump && Math.sign(stepTo(landing)) === Math.sign(stepTo(to.start));
      if (isStep && supported(0.5 * (t[from.a] + t[from.b - 1]), 0.5 * (t[to.a] + t[to.b - 1]), from.end, to.start)) {
        // Across a stretch without beats, the new tempo is heard where the beat comes back.
        const atSec = runs[p.b - 1] === runs[q.a] ? 0.5 * (t[p.b - 1] + t[q.a]) : t[q.a];
        changes.push({ atSec: round3(atSec), fromBpm: round1(from.end), toBpm: round1(landing), kind: 'step' });
        stepReachedUpTo = after;
        lastLanding = { untilSec: t[to.a] + 2 * RHYTHM.MIN_SECTION_SEC, bpm: landing };
      }
    }
  }
  changes.sort((x, y) => x.atSec - y.atSec);
  return changes;
}

const round1 = (v: number) => Math.round(v * 10) / 10;
const round3 = (v: number) => Math.round(v * 1000) / 1000;
