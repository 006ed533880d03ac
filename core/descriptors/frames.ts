/**
 * Frame-level spectral features computed while the audio streams in. Only these compact series are kept
 * (about 8 numbers per 10 ms and 12 per 512 ms), never the samples.
 */
import { RealFft } from './fft.ts';
import { FloatSeries } from './growable.ts';

export const PITCH_CLASSES = 12;

export function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

export function hann(size: number): Float32Array {
  const w = new Float32Array(size);
  for (let i = 0; i < size; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / size);
  return w;
}

/** Band edges (FFT bin indices) spaced geometrically from the first bin to Nyquist, at least one bin wide. */
function bandEdges(firstBin: number, lastBin: number, bands: number): Int32Array {
  const edges: number[] = [firstBin];
  for (let i = 1; i <= bands; i++) {
    const edge = Math.round(firstBin * (lastBin / firstBin) ** (i / bands));
    edges.push(Math.max(edges[edges.length - 1] + 1, edge));
    if (edges[edges.length - 1] >= lastBin) break;
  }
  edges[edges.length - 1] = lastBin;
  return Int32Array.from(edges);
}

/**
 * Band edges (FFT bin indices) `perOctave` to the octave from `minHz`, each band at least one bin wide, up to
 * `lastBin` (exclusive).
 */
function logBandEdges(binHz: number, minHz: number, perOctave: number, lastBin: number): Int32Array {
  const edges: number[] = [Math.max(1, Math.round(minHz / binHz))];
  let hz = minHz;
  while (edges[edges.length - 1] < lastBin) {
    hz *= 2 ** (1 / perOctave);
    edges.push(Math.min(lastBin, Math.max(edges[edges.length - 1] + 1, Math.round(hz / binHz))));
  }
  return Int32Array.from(edges);
}

/**
 * Where stream samples [start, start + size) can be read from the power-of-two ring `history`: their offset in it
 * when the frame lies inside the stream and does not wrap around the ring; otherwise (the stream's edges, a wrap)
 * they are gathered into `scratch`, samples outside [0, end) as 0, and -1 says so.
 */
function frameOffset(history: Float32Array, start: number, end: number, size: number, scratch: Float32Array): number {
  const mask = history.length - 1;
  const offset = start & mask;
  if (!(start >= 0 && start + size <= end && offset + size <= history.length)) {
    if (start >= 0 && start + size <= end) {
      // Inside the stream, wrapping around the ring: two block copies (every other 512-ms chroma frame does).
      const head = history.length - offset;
      scratch.set(history.subarray(offset), 0);
      scratch.set(history.subarray(0, size - head), head);
    } else {
      for (let i = 0; i < size; i++) {
        const index = start + i;
        scratch[i] = index >= 0 && index < end ? history[index & mask] : 0;
      }
    }
    return -1;
  }
  return offset;
}

/** The spectrum of stream samples [start, start + fft.size), windowed; samples outside [0, end) read as 0. */
export function frameSpectrum(
  fft: RealFft, history: Float32Array, start: number, end: number, window: Float32Array, scratch: Float32Array,
  out: Float64Array, lastBin?: number, power = false,
): void {
  const offset = frameOffset(history, start, end, fft.size, scratch);
  const source = offset >= 0 ? history : scratch;
  const from = Math.max(0, offset);
  if (power) fft.power(source, from, window, out);
  else fft.transform(source, from, window, out, lastBin);
}

/** Inserts `value` into the ascending `values[0 … count)`; returns the new count. */
function insertAscending(values: Float32Array, count: number, value: number): number {
  let j = count - 1;
  while (j >= 0 && values[j] > value) {
    values[j + 1] = values[j];
    j--;
  }
  values[j + 1] = value;
  return count + 1;
}

/** Removes one `value` (which must be there) from the ascending `values[0 … count)`; returns the new count. */
function removeAscending(values: Float32Array, count: number, value: number): number {
  let j = 0;
  while (j < count - 1 && values[j] !== value) j++;
  for (; j < count - 1; j++) values[j] = values[j + 1];
  return count - 1;
}

/**
 * Replaces one `old` (which must be there) by `value` in the ascending `values[base … base + count)`: one pass
 * from the old value's place towards the new one's, rather than a removal and an insertion.
 */
function replaceAscending(values: Float32Array, base: number, count: number, old: number, value: number): void {
  let j = base;
  while (values[j] !== old) j++;
  const end = base + count;
  if (value > old) {
    while (j + 1 < end && values[j + 1] < value) {
      values[j] = values[j + 1];
      j++;
    }
  } else {
    while (j > base && values[j - 1] > value) {
      values[j] = values[j - 1];
      j--;
    }
  }
  values[j] = value;
}

/**
 * Short frames (32 ms at 16 kHz, every 10 ms): spectral centroid sums, a band-wise spectral flux (the
 * accents that settle the metrical level), SuperFlux (the onset envelope the beat tracker follows and onsets are
 * picked from) and a harmonic/percussive split (median filtering in time vs. across bands,
 * Fitzgerald 2010) done with a few frames of delay.
 */
export class ShortFrameFeatures {
  readonly hop: number;
  readonly size: number;
  /**
   * The accents: the rise of the 32 bands' magnitudes, uncompressed, so loud events weigh more and the envelope's
   * shape (all that its autocorrelation and the meter read) is the same at any playback level. With the mild
   * compression log(1 + 3·m) it had before, five of 174 real pieces changed their beat's octave when played 12 dB
   * softer or louder.
   */
  readonly beatFlux = new FloatSeries();
  /**
   * Accents of the bands above HIGH_BAND_HZ (snare, hats; no kick or bass), uncompressed, so that a snare
   * stands well clear of the quieter hats around it.
   */
  readonly highBeatFlux = new FloatSeries();
  /**
   * SuperFlux (Böck & Widmer 2013, "Maximum Filter Vibrato Suppression for Onset Detection", DAFx-13): on a log
   * filterbank of 24 bands per octave, the rise of each band's log magnitude over the largest of it and its two
   * neighbours SUPERFLUX_LAG frames earlier, summed. Every note's onset counts, loud or soft, struck or bowed, while a
   * vibrato or a slide (energy moving into the next band) does not; the 32 wide bands above see a new note in the
   * same band, or a bowed one, hardly at all. The beat tracker follows this envelope (beats.ts).
   */
  readonly superFlux = new FloatSeries();
  readonly magnitudeSum = new FloatSeries();
  readonly weightedFrequencySum = new FloatSeries();
  /**
   * Percussive and harmonic energy per pair of frames (the split is done on pairs): frame f reads pair f >> 1.
   * One value per pair rather than the same value twice halves what a long track keeps of them.
   */
  readonly percussiveEnergy = new FloatSeries();
  readonly harmonicEnergy = new FloatSeries();
  frames = 0;

  private readonly fft: RealFft;
  private readonly window: Float32Array;
  private readonly input: Float32Array;
  /** Σ magnitude and Σ magnitude × bin of the frame (powerBands). */
  private readonly sums = new Float64Array(2);
  private readonly binHz: number;
  private readonly edges: Int32Array;
  private readonly bands: number;
  private readonly bandMagnitude: Float32Array;
  private readonly previousMagnitude: Float32Array;
  private readonly magnitudeScale: number;
  private readonly firstHighBand: number;
  private static readonly HIGH_BAND_HZ = 1500;
  /** SuperFlux's filterbank (Böck & Widmer's 24 bands per octave from 30 Hz, here at least one 31-Hz bin each). */
  private static readonly SUPERFLUX_BANDS_PER_OCTAVE = 24;
  private static readonly SUPERFLUX_MIN_HZ = 30;
  /**
   * Frames back to the frame compared with (μ): 2, 20 ms. Measured on the tuned real corpus with 1 and 3, the tempo
   * was within a piece of it.
   */
  private static readonly SUPERFLUX_LAG = 2;
  /**
   * log(1 + λ·m/P), P the level reference below. Böck & Widmer's λ = 1 is on fixed magnitudes, so the same music
   * played softer falls into the logarithm's linear part: a fugue rendered at −23 LUFS had 0.5 onsets a second and
   * no beat, and 12 dB louder 1.1 a second and a beat; seven of 174 real pieces changed tempo between −12 and +12 dB.
   * Relative to the level reference every level gives the same envelope. On the tuned renders λ = 3, 10 and 30 score
   * the same tempo (10 is about what λ = 128 on the magnitudes was at their typical level).
   */
  private static readonly SUPERFLUX_COMPRESSION = 10;
  /**
   * The level reference P: the loudest band magnitude of the frames so far, falling by this much a second, so a
   * quiet passage after a loud one is heard at its own level within seconds to tens of seconds (adaptive whitening,
   * Stowell & Plumbley 2007, "Adaptive whitening for improved real-time audio onset detection", ICMC, there per bin
   * with a memory of this order; here one reference for the whole frame, so the bands keep their balance).
   */
  private static readonly SUPERFLUX_PEAK_FALL_DB_PER_SEC = 2;
  /** P never falls under this magnitude (−100 dB against a full-scale sine): silence and dither are not lifted. */
  private static readonly SUPERFLUX_PEAK_FLOOR = 1e-5;
  private superFluxPeak = 0;
  private readonly superFluxPeakFall: number;
  private readonly superFluxEdges: Int32Array;
  private readonly superFluxBands: number;
  private readonly superFluxMagnitude: Float32Array;
  /** The band magnitudes of the last SUPERFLUX_LAG + 1 frames, a row per frame (frame f in row f % rows). */
  private readonly superFluxHistory: Float32Array;

  // Harmonic/percussive split on pairs of frames (20 ms: the split only feeds window-long energy shares, and
  // it is the costliest step after the FFT): a ring of recent pair magnitudes, processed HPSS_DELAY pairs late.
  private static readonly HPSS_DELAY = 4;
  // ±4 bands reaches past a steady tone's window leakage, so a sine reads as harmonic.
  private static readonly BAND_MEDIAN_HALF = 4;
  private readonly ring: Float32Array;
  private readonly ringFrames: number;
  private hpssDone = 0;
  private pairs = 0;
  private readonly pairEnergy: Float32Array;
  private readonly pairMagnitude: Float32Array;
  // Per band, the values of the current time-median window in ascending order (a sliding median).
  private readonly sorted: Float32Array;
  private readonly sortedWidth: number;
  private windowLo = 0;
  private windowHi = -1;
  private windowSize = 0;
  private readonly scratch = new Float32Array(32);

  constructor(sampleRate: number) {
    this.hop = Math.max(1, Math.round(sampleRate / 100));
    this.size = nextPowerOfTwo(Math.round(sampleRate * 0.032));
    this.fft = new RealFft(this.size);
    this.window = hann(this.size);
    this.input = new Float32Array(this.size);
    this.binHz = sampleRate / this.size;
    this.edges = bandEdges(1, this.size / 2 + 1, 32);
    this.bands = this.edges.length - 1;
    this.firstHighBand = this.bands;
    for (let b = 0; b < this.bands; b++) {
      if (this.edges[b] * this.binHz >= ShortFrameFeatures.HIGH_BAND_HZ) {
        this.firstHighBand = b;
        break;
      }
    }
    this.superFluxEdges = logBandEdges(this.binHz, ShortFrameFeatures.SUPERFLUX_MIN_HZ, ShortFrameFeatures.SUPERFLUX_BANDS_PER_OCTAVE, this.size / 2);
    this.superFluxBands = this.superFluxEdges.length - 1;
    this.superFluxMagnitude = new Float32Array(this.superFluxBands);
    this.superFluxHistory = new Float32Array((ShortFrameFeatures.SUPERFLUX_LAG + 1) * this.superFluxBands);
    this.superFluxPeakFall = 10 ** (-ShortFrameFeatures.SUPERFLUX_PEAK_FALL_DB_PER_SEC * (this.hop / sampleRate) / 20);
    this.bandMagnitude = new Float32Array(this.bands);
    this.previousMagnitude = new Float32Array(this.bands);
    // A full-scale sine gives a Hann-windowed peak of size/4: scale so that band magnitudes read as amplitudes.
    this.magnitudeScale = 4 / this.size;
    // One frame more than the median window, so the frame leaving the window is still in the ring.
    this.pairEnergy = new Float32Array(this.bands);
    this.pairMagnitude = new Float32Array(this.bands);
    this.ringFrames = 2 * ShortFrameFeatures.HPSS_DELAY + 2;
    this.ring = new Float32Array(this.ringFrames * this.bands);
    this.sortedWidth = 2 * ShortFrameFeatures.HPSS_DELAY + 1;
    this.sorted = new Float32Array(this.sortedWidth * this.bands);
  }

  /** Analyses the frame of `size` samples starting at stream position `start` (outside [0, end) reads as 0). */
  process(history: Float32Array, start: number, end: number): void {
    const { input, window, sums } = this;
    const bandMagnitude = this.bandMagnitude;
    const bands = this.bands;
    // The power spectrum summed in bands (each band's RMS magnitude, scaled to read as an amplitude), and the
    // magnitude sum and its frequency-weighted sum over every bin: one pass in WebAssembly SIMD (fft.ts).
    const offset = frameOffset(history, start, end, this.size, input);
    this.fft.powerBands(offset >= 0 ? history : input, Math.max(0, offset), window, this.edges, this.magnitudeScale, bandMagnitude, sums);
    this.magnitudeSum.push(sums[0]);
    this.weightedFrequencySum.push(sums[1] * this.binHz);

    // The accents: the rise of the same bands, which keeps loudness in the picture, so the kick and snare that carry
    // the beat outweigh the quieter hi-hat subdivisions.
    let beatFlux = 0;
    let highBeatFlux = 0;
    const previous = this.previousMagnitude;
    if (this.frames > 0) { // nothing before the first frame: the start of a clip is not an attack
      const firstHigh = this.firstHighBand;
      for (let b = 0; b < bands; b++) {
        const m = bandMagnitude[b];
        const before = previous[b];
        const rise = m - before;
        if (rise > 0) {
          beatFlux += rise;
          if (b >= firstHigh) highBeatFlux += rise;
        }
      }
    }
    previous.set(bandMagnitude);
    this.beatFlux.push(beatFlux);
    this.highBeatFlux.push(highBeatFlux);
    this.superFlux.push(this.superFluxOfFrame());

    const pairEnergy = this.pairEnergy;
    if (this.frames % 2 === 0) for (let b = 0; b < this.bands; b++) pairEnergy[b] = bandMagnitude[b] * bandMagnitude[b];
    else for (let b = 0; b < this.bands; b++) pairEnergy[b] += bandMagnitude[b] * bandMagnitude[b];
    this.frames++;
    if (this.frames % 2 === 0) this.closePair(2);
  }

  /** SuperFlux of the frame just transformed (its bins' power is still in the FFT's heap); 0 for the first frames. */
  private superFluxOfFrame(): number {
    const bands = this.superFluxBands;
    const lag = ShortFrameFeatures.SUPERFLUX_LAG;
    const rows = lag + 1;
    const magnitude = this.superFluxMagnitude;
    this.fft.moreBands(this.superFluxEdges, this.magnitudeScale, magnitude);
    const history = this.superFluxHistory;
    const current = (this.frames % rows) * bands;
    history.set(magnitude, current);
    let loudest = 0;
    for (let b = 0; b < bands; b++) if (magnitude[b] > loudest) loudest = magnitude[b];
    this.superFluxPeak = Math.max(loudest, ShortFrameFeatures.SUPERFLUX_PEAK_FLOOR, this.superFluxPeak * this.superFluxPeakFall);
    if (this.frames < lag) return 0;
    const earlier = ((this.frames - lag) % rows) * bands;
    const lambda = ShortFrameFeatures.SUPERFLUX_COMPRESSION / this.superFluxPeak;
    let sum = 0;
    for (let b = 0; b < bands; b++) {
      // The maximum filter across frequency: a partial that moved into the next band is no new note. (On
      // magnitudes: the logarithm keeps their order, so the largest log is the log of the largest.)
      let reference = history[earlier + b];
      if (b > 0 && history[earlier + b - 1] > reference) reference = history[earlier + b - 1];
      if (b + 1 < bands && history[earlier + b + 1] > reference) reference = history[earlier + b + 1];
      const m = magnitude[b];
      // log(1 + λm) − log(1 + λr) as one logarithm, and only where the band rose: most bands do not.
      if (m > reference) sum += Math.log1p((lambda * (m - reference)) / (1 + lambda * reference));
    }
    return sum;
  }

  /** Splits the frames still waiting for their look-ahead, at the end of the stream. */
  flush(): void {
    if (this.frames % 2 === 1) this.closePair(1);
    while (this.hpssDone < this.pairs) this.splitHarmonicPercussive(this.hpssDone++);
  }

  /** Stores the RMS band magnitudes of the pair just completed (`frames` frames) and splits what has its look-ahead. */
  private closePair(frames: number): void {
    for (let b = 0; b < this.bands; b++) this.pairMagnitude[b] = Math.sqrt(this.pairEnergy[b] / frames);
    this.ring.set(this.pairMagnitude, (this.pairs % this.ringFrames) * this.bands);
    this.pairs++;
    while (this.hpssDone + ShortFrameFeatures.HPSS_DELAY < this.pairs) this.splitHarmonicPercussive(this.hpssDone++);
  }

  /** Splits `pair` and records its energies. */
  private splitHarmonicPercussive(pair: number): void {
    const delay = ShortFrameFeatures.HPSS_DELAY;
    const bands = this.bands;
    const width = this.sortedWidth;
    // Slide the per-band sorted windows to pairs [pair - delay, pair + delay] (clipped to the stream). The pair
    // leaving goes out before the one entering comes in, so a band's window never holds more than its `width`
    // slots (inserting first put a tenth value into the next band's slots and corrupted every band's median after
    // the first).
    const wantLo = Math.max(0, pair - delay);
    const wantHi = Math.min(this.pairs - 1, pair + delay);
    // Once the window is full, one pair leaves as one enters: each band's value is replaced in one pass (the
    // same sorted values as removing, then inserting).
    while (this.windowLo < wantLo && this.windowHi < wantHi) {
      const leaving = (this.windowLo++ % this.ringFrames) * bands;
      const entering = (++this.windowHi % this.ringFrames) * bands;
      for (let b = 0; b < bands; b++) replaceAscending(this.sorted, b * width, this.windowSize, this.ring[leaving + b], this.ring[entering + b]);
    }
    while (this.windowLo < wantLo) {
      const row = (this.windowLo++ % this.ringFrames) * bands;
      for (let b = 0; b < bands; b++) this.removeSorted(b * width, this.ring[row + b]);
      this.windowSize--;
    }
    while (this.windowHi < wantHi) {
      const row = (++this.windowHi % this.ringFrames) * bands;
      for (let b = 0; b < bands; b++) this.insertSorted(b * width, this.ring[row + b]);
      this.windowSize++;
    }
    const n = this.windowSize;
    const row = (pair % this.ringFrames) * bands;
    const ring = this.ring;
    const sorted = this.sorted;
    const halfWidth = ShortFrameFeatures.BAND_MEDIAN_HALF;
    // The across-band median slides with b too: `across` holds the pair's values in bands [b - halfWidth,
    // b + halfWidth] (clipped) in ascending order; each step adds one band above and drops one below.
    const across = this.scratch;
    let m = 0;
    for (let c = 0; c <= halfWidth && c < bands; c++) m = insertAscending(across, m, ring[row + c]);
    let percussive = 0;
    let harmonic = 0;
    for (let b = 0; b < bands; b++) {
      const base = b * width;
      const h = n % 2 === 1 ? sorted[base + ((n - 1) >> 1)] : 0.5 * (sorted[base + n / 2 - 1] + sorted[base + n / 2]);
      const p = m % 2 === 1 ? across[(m - 1) >> 1] : 0.5 * (across[m / 2 - 1] + across[m / 2]);
      const x = ring[row + b];
      const energy = x * x;
      const h2 = h * h;
      const p2 = p * p;
      if (h2 + p2 > 0) {
        percussive += (energy * p2) / (h2 + p2);
        harmonic += (energy * h2) / (h2 + p2);
      }
      const entering = b + 1 + halfWidth < bands;
      const leaving = b - halfWidth >= 0;
      if (entering && leaving) replaceAscending(across, 0, m, ring[row + b - halfWidth], ring[row + b + 1 + halfWidth]);
      else if (entering) m = insertAscending(across, m, ring[row + b + 1 + halfWidth]);
      else if (leaving) m = removeAscending(across, m, ring[row + b - halfWidth]);
    }
    this.percussiveEnergy.push(percussive);
    this.harmonicEnergy.push(harmonic);
  }

  private insertSorted(base: number, value: number): void {
    const sorted = this.sorted;
    let j = base + this.windowSize - 1;
    while (j >= base && sorted[j] > value) {
      sorted[j + 1] = sorted[j];
      j--;
    }
    sorted[j + 1] = value;
  }

  private removeSorted(base: number, value: number): void {
    const sorted = this.sorted;
    const end = base + this.windowSize;
    let j = base;
    while (j < end - 1 && sorted[j] !== value) j++;
    for (; j < end - 1; j++) sorted[j] = sorted[j + 1];
  }
}
