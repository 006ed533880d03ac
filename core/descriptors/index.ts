/**
 * Streaming music descriptors: push 16 kHz mono audio in chunks, then ask for the track's tags and any
 * number of (possibly overlapping) windows. Only frame-level features are kept, so a 60-minute file costs a
 * few MB: per 100 ms the energy, K-weighted energy and peak; per 10 ms the onset envelopes (SuperFlux among them), centroid sums and
 * the harmonic/percussive energies; per 512 ms a 12-value chroma.
 */
import type { SongSection, TrackAnalysis, TrackTags, WindowTags } from './types.ts';
import { ChromaFeatures } from './chroma.ts';
import { ShortFrameFeatures } from './frames.ts';
import { FloatSeries } from './growable.ts';
import { analyzeRhythm, countBetween, pickOnsets, RHYTHM, tempoBetween, type RhythmAnalysis } from './beats.ts';
import { analyzeKey, keyBetween, type KeyAnalysis } from './key.ts';
import { findLoop, findSections } from './sections.ts';
import { TimbreFeatures } from './timbre.ts';
import { kWeightingFilters, loudnessCurve, loudnessFromSegments, windowLoudness, type FileLoudness } from './loudness.ts';

export type { TrackTags, WindowTags } from './types.ts';
export type { FileLoudness } from './loudness.ts';

export interface FinishOptions {
  /**
   * BS.1770-4 loudness of the file's own channels at its own rate (measured in the decode pass). Without it,
   * loudness is measured on the 16 kHz mono signal pushed here, and true peak is its sample peak.
   */
  fileLoudness?: FileLoudness | null;
}

/** The whole-track analyses every window reads from. */
interface WholeTrack {
  /** The track's onsets (short-frame indices, ascending), picked once; a window counts those inside it. */
  onsets: number[];
  rhythm: RhythmAnalysis;
  keys: KeyAnalysis;
  loudness: FileLoudness;
}

export interface TimeRange {
  startSec: number;
  endSec: number;
}

const FLOOR_DB = -100;
/** A 100-ms segment quieter than this counts as silence. */
const SILENCE_DBFS = -60;
/** Below this confidence a key is not reported at all: a lone note or noise has no tonal centre to name. */
const MIN_KEY_CONFIDENCE = 0.05;
/** Below this confidence a tempo is not reported at all. */
const MIN_TEMPO_CONFIDENCE = 0.25;

export class DescriptorError extends Error {
  override readonly name = 'DescriptorError';
}

function toDb(amplitude: number): number {
  return amplitude > 0 ? Math.max(FLOOR_DB, 20 * Math.log10(amplitude)) : FLOOR_DB;
}

function clamp01(value: number): number {
  return Number.isFinite(value) ? Math.max(0, Math.min(1, value)) : 0;
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

export class TrackAnalyzer {
  readonly sampleRate: number;
  private readonly segmentSamples: number;
  private readonly history: Float32Array;
  private readonly historyMask: number;
  private written = 0;
  private finished = false;
  /** The 16 kHz mono K-weighting runs (the fallback loudness) unless the caller said the file's own comes. */
  private kWeighting = true;

  // K-weighting state: two biquads, direct form I.
  private readonly filters: ReturnType<typeof kWeightingFilters>;
  private s1x1 = 0; private s1x2 = 0; private s1y1 = 0; private s1y2 = 0;
  private s2y1 = 0; private s2y2 = 0;

  // The 100-ms segment being filled, and the finished ones.
  private segmentSum = 0;
  private segmentWeighted = 0;
  private segmentPeak = 0;
  private segmentCount = 0;
  private readonly segmentEnergy = new FloatSeries();
  private readonly segmentWeightedEnergy = new FloatSeries();
  private readonly segmentPeaks = new FloatSeries();
  private readonly segmentCounts = new FloatSeries();

  private readonly short: ShortFrameFeatures;
  private readonly long: ChromaFeatures;
  /** MFCC-like timbre on the chroma's frames (for the sections). */
  private readonly timbre: TimbreFeatures;
  private nextShortEnd: number;
  private nextLongEnd: number;

  constructor(sampleRate = 16_000) {
    if (!(sampleRate > 0) || !Number.isFinite(sampleRate)) throw new DescriptorError(`invalid sample rate ${sampleRate}`);
    this.sampleRate = sampleRate;
    this.segmentSamples = Math.max(1, Math.round(sampleRate / 10));
    this.filters = kWeightingFilters(sampleRate);
    this.short = new ShortFrameFeatures(sampleRate);
    this.long = new ChromaFeatures(sampleRate);
    this.timbre = new TimbreFeatures(sampleRate, this.long.size);
    let size = 1;
    while (size < 2 * Math.max(this.short.size, this.long.size)) size *= 2;
    this.history = new Float32Array(size);
    this.historyMask = size - 1;
    // Frame n is centred on sample n·hop, so it is complete once n·hop + size/2 samples have arrived.
    this.nextShortEnd = this.short.size / 2;
    this.nextLongEnd = this.long.size / 2;
  }

  /**
   * The caller measures the file's own loudness and will hand it to `finish` (FinishOptions.fileLoudness), so the
   * fallback, BS.1770 on the 16 kHz mono signal, is not computed: its two biquads per sample are a third of `push`.
   * Only before the first sample (the fallback needs them all); returns whether it took effect.
   */
  withoutMonoLoudness(): boolean {
    if (this.written > 0 || this.finished) return false;
    this.kWeighting = false;
    return true;
  }

  push(samples: Float32Array): void {
    if (this.finished) throw new DescriptorError('push after finish');
    const length = samples.length;
    let i = 0;
    while (i < length) {
      // Run up to the next event (a segment closes, a frame completes) with no checks inside the loop.
      const written = this.written;
      const until = Math.min(length, i + (this.segmentSamples - this.segmentCount), i + (this.nextShortEnd - written), i + (this.nextLongEnd - written));
      if (this.kWeighting) this.runKWeighted(samples, i, until);
      else this.runPlain(samples, i, until);
      i = until;
      if (this.segmentCount === this.segmentSamples) this.closeSegment();
      this.completeFramesAt(this.written);
    }
  }

  /**
   * samples[from, until) into the segment being filled and the history, with BS.1770's K-weighting (the hot path:
   * the segment and the filter states live in locals for the run).
   */
  private runKWeighted(samples: Float32Array, from: number, until: number): void {
    const [shelf, highPass] = this.filters;
    const { b0, b1, b2 } = shelf;
    const a1 = shelf.a1;
    const a2 = shelf.a2;
    const h1 = highPass.a1;
    const h2 = highPass.a2;
    const history = this.history;
    const mask = this.historyMask;
    const offset = this.written - from;
    let { s1x1, s1x2, s1y1, s1y2, s2y1, s2y2 } = this;
    let sum = this.segmentSum;
    let weightedSum = this.segmentWeighted;
    let peak = this.segmentPeak;
    for (let i = from; i < until; i++) {
      let x = samples[i];
      if (!(x === x)) x = 0; // NaN guard: keep every number finite
      // K-weighting: high shelf, then high-pass (its input is the shelf output).
      const y1 = b0 * x + b1 * s1x1 + b2 * s1x2 - a1 * s1y1 - a2 * s1y2;
      const y2 = y1 - 2 * s1y1 + s1y2 - h1 * s2y1 - h2 * s2y2;
      s1x2 = s1x1; s1x1 = x; s2y2 = s2y1; s2y1 = y2; s1y2 = s1y1; s1y1 = y1;
      sum += x * x;
      weightedSum += y2 * y2;
      const magnitude = x < 0 ? -x : x;
      if (magnitude > peak) peak = magnitude;
      history[(offset + i) & mask] = x;
    }
    this.segmentSum = sum; this.segmentWeighted = weightedSum; this.segmentPeak = peak;
    this.segmentCount += until - from;
    this.written += until - from;
    Object.assign(this, { s1x1, s1x2, s1y1, s1y2, s2y1, s2y2 });
  }

  /** As runKWeighted less the K-weighting (withoutMonoLoudness): the same energy, peak and history, sample for sample. */
  private runPlain(samples: Float32Array, from: number, until: number): void {
    const history = this.history;
    const mask = this.historyMask;
    const offset = this.written - from;
    let sum = this.segmentSum;
    let peak = this.segmentPeak;
    for (let i = from; i < until; i++) {
      let x = samples[i];
      if (!(x === x)) x = 0; // NaN guard: keep every number finite
      sum += x * x;
      const magnitude = x < 0 ? -x : x;
      if (magnitude > peak) peak = magnitude;
      history[(offset + i) & mask] = x;
    }
    this.segmentSum = sum; this.segmentPeak = peak;
    this.segmentCount += until - from;
    this.written += until - from;
  }

  /** Runs the short and long frames that end at sample `written` (push stops each run exactly there). */
  private completeFramesAt(written: number): void {
    if (written === this.nextShortEnd) {
      this.short.process(this.history, written - this.short.size, written);
      this.nextShortEnd += this.short.hop;
    }
    if (written === this.nextLongEnd) {
      this.long.process(this.history, written - this.long.size, written);
      this.timbre.process(this.history, written - this.long.size, written);
      this.nextLongEnd += this.long.hop;
    }
  }

  finish(windows: TimeRange[], options: FinishOptions = {}): { track: TrackTags; windows: WindowTags[]; analysis: TrackAnalysis; sections: SongSection[] } {
    if (!this.finished) {
      this.finished = true;
      if (this.segmentCount > 0) this.closeSegment();
      // Frames centred inside the audio but reaching past its end are completed with zeros.
      const total = this.written;
      while (this.nextShortEnd - this.short.size / 2 < total) {
        this.short.process(this.history, this.nextShortEnd - this.short.size, total);
        this.nextShortEnd += this.short.hop;
      }
      while (this.nextLongEnd - this.long.size / 2 < total) {
        this.long.process(this.history, this.nextLongEnd - this.long.size, total);
        this.timbre.process(this.history, this.nextLongEnd - this.long.size, total);
        this.nextLongEnd += this.long.hop;
      }
      this.short.flush();
    }
    const duration = this.written / this.sampleRate;
    const loudness = options.fileLoudness ?? this.monoLoudness();
    // The whole track first: one beat grid and one key path, which every window then reads (a window's own
    // 10 s would flip between metrical levels and relative keys).
    const superFlux = this.short.superFlux.values();
    const onsets = pickOnsets(superFlux, 0, superFlux.length, this.sampleRate / this.short.hop);
    const rhythm = analyzeRhythm(this.short, duration, onsets);
    const keys = analyzeKey(this.long, duration);
    const whole: WholeTrack = { onsets, rhythm, keys, loudness };
    const trackTags = this.measure({ startSec: 0, endSec: duration }, whole, true);
    const steady = trackTags.bpm !== null;
    const track: TrackTags = {
      ...trackTags,
      loudnessLufs: loudness.integratedLufs === null ? null : round(loudness.integratedLufs, 2),
      loudnessRangeLu: round(loudness.rangeLu, 1),
      truePeakDbtp: round(loudness.truePeakDbtp, 2),
      meter: steady && rhythm.meter ? rhythm.meter : null,
      meterConfidence: steady && rhythm.meter ? round(clamp01(rhythm.meterConfidence), 3) : 0,
    };
    const analysis: TrackAnalysis = {
      beats: steady ? Array.from(rhythm.beats, (t) => round(t, 3)) : [],
      downbeats: steady && rhythm.meter ? rhythm.downbeats : [],
      tempoChanges: steady ? rhythm.tempoChanges.map((c) => ({ ...c, atSec: round(c.atSec, 1), fromBpm: round(c.fromBpm, 1), toBpm: round(c.toBpm, 1) })) : [],
      keySections: keys.sections.map((k) => ({ ...k, startSec: round(k.startSec, 2), endSec: round(k.endSec, 2), confidence: round(clamp01(k.confidence), 3) })),
      loudnessCurve: loudnessCurve(loudness),
    };
    const sectionInput = {
      durationSec: duration, beats: analysis.beats, chroma: this.long.chroma.values(), timbre: this.timbre.coefficients.values(),
      timbreDimensions: this.timbre.dimensions, hopSec: this.long.hop / this.sampleRate,
    };
    const sections = findSections(sectionInput, (range) => this.measure(range, whole, false));
    const loop = findLoop(sectionInput);
    if (loop) analysis.loop = loop;
    return { track, windows: windows.map((w) => this.measure(w, whole, false)), analysis, sections };
  }

  /** BS.1770 on the 16 kHz mono signal: the fallback when the file's own loudness was not measured. */
  private monoLoudness(): FileLoudness {
    if (!this.kWeighting) throw new DescriptorError('finish without the file loudness that withoutMonoLoudness() promised');
    const peaks = this.segmentPeaks.values();
    let peak = 0;
    for (let s = 0; s < peaks.length; s++) if (peaks[s] > peak) peak = peaks[s];
    return loudnessFromSegments(this.segmentWeightedEnergy.values(), this.segmentCounts.values(), peak);
  }

  /** The frame-level series kept so far (10-ms onset/spectral frames, chroma frames): the input of the track-wide analyses. */
  get frames(): { short: ShortFrameFeatures; chroma: ChromaFeatures } {
    return { short: this.short, chroma: this.long };
  }

  /** Duration of the audio pushed so far, in seconds. */
  get durationSec(): number {
    return this.written / this.sampleRate;
  }

  private closeSegment(): void {
    this.segmentEnergy.push(this.segmentSum);
    this.segmentWeightedEnergy.push(this.segmentWeighted);
    this.segmentPeaks.push(this.segmentPeak);
    this.segmentCounts.push(this.segmentCount);
    this.segmentSum = 0;
    this.segmentWeighted = 0;
    this.segmentPeak = 0;
    this.segmentCount = 0;
  }

  /** Index range [from, to) of frames centred at multiples of `hopSec` that fall inside the range; never empty when there are frames. */
  private frameRange(range: TimeRange, hopSec: number, count: number): [number, number] {
    if (count === 0) return [0, 0];
    const start = Math.max(0, Number.isFinite(range.startSec) ? range.startSec : 0);
    const end = Number.isFinite(range.endSec) ? range.endSec : this.durationSec;
    let from = Math.min(count - 1, Math.ceil(start / hopSec - 1e-6));
    let to = Math.min(count, Math.ceil(end / hopSec - 1e-6));
    if (to <= from) {
      from = Math.min(count - 1, Math.round(start / hopSec));
      to = from + 1;
    }
    return [from, to];
  }

  private measure(range: TimeRange, whole: WholeTrack, isTrack: boolean): WindowTags {
    const fileLoudness = whole.loudness;
    const segmentSec = this.segmentSamples / this.sampleRate;
    const [s0, s1] = this.frameRange(range, segmentSec, this.segmentCounts.length);
    const energy = this.segmentEnergy.values();
    const peaks = this.segmentPeaks.values();
    const counts = this.segmentCounts.values();
    let sum = 0;
    let n = 0;
    let peak = 0;
    let silent = 0;
    const silenceMeanSquare = 10 ** (SILENCE_DBFS / 10);
    for (let s = s0; s < s1; s++) {
      sum += energy[s];
      n += counts[s];
      if (peaks[s] > peak) peak = peaks[s];
      if (counts[s] > 0 && energy[s] / counts[s] < silenceMeanSquare) silent++;
    }
    const rms = n > 0 ? Math.sqrt(sum / n) : 0;
    const rmsDbfs = Math.min(0, toDb(rms));
    const peakDbfs = Math.min(0, toDb(peak));
    const loudness = windowLoudness(fileLoudness, Math.max(0, range.startSec), Math.min(range.endSec, this.durationSec));

    const shortHopSec = this.short.hop / this.sampleRate;
    const [f0, f1] = this.frameRange(range, shortHopSec, this.short.frames);
    const magnitudeSum = this.short.magnitudeSum.values();
    const weighted = this.short.weightedFrequencySum.values();
    const percussive = this.short.percussiveEnergy.values();
    const harmonic = this.short.harmonicEnergy.values();
    let magnitudeTotal = 0;
    let weightedTotal = 0;
    let percussiveTotal = 0;
    let harmonicTotal = 0;
    for (let f = f0; f < f1; f++) {
      magnitudeTotal += magnitudeSum[f];
      weightedTotal += weighted[f];
      percussiveTotal += percussive[f >> 1]; // one value per pair of frames
      harmonicTotal += harmonic[f >> 1];
    }
    const centroid = magnitudeTotal > 0 ? weightedTotal / magnitudeTotal : 0;
    const seconds = Math.max(1e-9, (f1 - f0) * shortHopSec);
    const onsets = countBetween(whole.onsets, f0, f1);
    const tempo = isTrack
      ? { bpm: whole.rhythm.bpm, confidence: whole.rhythm.confidence }
      : tempoBetween(whole.rhythm, range.startSec, range.endSec);
    const key = isTrack
      ? { key: whole.keys.track.key, confidence: whole.keys.track.confidence }
      : keyBetween(whole.keys, range.startSec, range.endSec);

    const silent100 = s1 > s0 ? silent / (s1 - s0) : 1;
    const confidentKey = silent100 < 1 && key.key !== null && key.confidence >= MIN_KEY_CONFIDENCE;
    const confidentTempo = tempo.bpm !== null && tempo.confidence >= MIN_TEMPO_CONFIDENCE && silent100 < 1
      && onsets / seconds >= RHYTHM.MIN_ONSETS_PER_SEC;
    return {
      bpm: confidentTempo ? round(tempo.bpm!, 1) : null,
      bpmConfidence: confidentTempo ? round(clamp01(tempo.confidence), 3) : 0,
      key: confidentKey ? key.key : null,
      keyConfidence: confidentKey ? round(clamp01(key.confidence), 3) : 0,
      loudnessLufs: loudness.loudnessLufs === null ? null : round(loudness.loudnessLufs, 2),
      shortTermMaxLufs: loudness.shortTermMaxLufs === null ? null : round(loudness.shortTermMaxLufs, 2),
      rmsDbfs: round(rmsDbfs, 2),
      peakDbfs: round(peakDbfs, 2),
      crestDb: round(Math.max(0, peakDbfs - rmsDbfs), 2),
      spectralCentroidHz: round(Math.min(this.sampleRate / 2, Math.max(0, centroid)), 1),
      onsetsPerSec: round(onsets / seconds, 2),
      silenceRatio: round(clamp01(silent100), 3),
      percussiveRatio: round(percussiveTotal + harmonicTotal > 0 ? clamp01(percussiveTotal / (percussiveTotal + harmonicTotal)) : 0, 3),
    };
  }
}

/** Measures one buffer as a single window. */
export function analyzeWindow(samples: Float32Array, sampleRate = 16_000): WindowTags {
  const analyzer = new TrackAnalyzer(sampleRate);
  analyzer.push(samples);
  return analyzer.finish([{ startSec: 0, endSec: samples.length / sampleRate }]).windows[0];
}
