/**
 * Timbre per long frame, for the section finder: an MFCC-like vector (mel-frequency cepstral coefficients,
 * Davis & Mermelstein 1980; for music, Logan 2000, "Mel frequency cepstral coefficients for music modeling").
 *
 * Method, once per chroma frame (512 ms at 16 kHz, back to back), so it rides on the frame the chroma already
 * waits for and adds no event to the streaming loop:
 * - SUBFRAMES short Hann frames (32 ms) spread evenly over the long frame, their power spectra summed: the
 *   spectral envelope of the half second, sampled rather than covered (a section's timbre is an average over
 *   seconds, and sampling keeps the cost at a fraction of the 10-ms onset frames').
 * - MEL_BANDS triangular bands on the mel scale (O'Shaughnessy 1987: mel = 2595·log10(1 + f/700)) between
 *   MIN_HZ and MAX_HZ, the log of each band's energy (with a floor, so silence is finite), then a DCT-II keeps the
 *   first COEFFICIENTS (c0 is the level, c1… the shape of the envelope), as in the standard MFCC.
 *
 * Kept: COEFFICIENTS floats per 512 ms (~0.4 MB per hour).
 */
import { RealFft } from './fft.ts';
import { frameSpectrum, hann } from './frames.ts';
import { FloatSeries } from './growable.ts';

export const TIMBRE = {
  /** Short frames per long frame. 4 × 32 ms per 512 ms: a quarter of the half second, under a tenth of the onset frames' FFT work (8 vs 100 per second). */
  SUBFRAMES: 4,
  /** 32 ms at 16 kHz, the onset frames' size: enough resolution for 20 mel bands above 60 Hz. */
  FRAME_SEC: 0.032,
  MEL_BANDS: 20,
  MIN_HZ: 60,
  MAX_HZ: 7600,
  /** c0 … c12, the usual MFCC count. */
  COEFFICIENTS: 13,
  /** Band energy floor (power of a full-scale-normalised spectrum): about −100 dB, so silence reads as a low constant. */
  ENERGY_FLOOR: 1e-10,
} as const;

const mel = (hz: number) => 2595 * Math.log10(1 + hz / 700);
const hzOfMel = (m: number) => 700 * (10 ** (m / 2595) - 1);

export class TimbreFeatures {
  /** COEFFICIENTS values per long frame. */
  readonly coefficients = new FloatSeries();
  frames = 0;
  readonly dimensions = TIMBRE.COEFFICIENTS;

  private readonly fft: RealFft;
  private readonly window: Float32Array;
  private readonly scratch: Float32Array;
  private readonly power: Float64Array;
  private readonly summed: Float64Array;
  private readonly bands = new Float64Array(TIMBRE.MEL_BANDS);
  private readonly row = new Float32Array(TIMBRE.COEFFICIENTS);
  /** Per FFT bin: the lower band it feeds (−1: none) and its weight there; the rest goes to the band above. */
  private readonly binBand: Int32Array;
  private readonly binWeight: Float32Array;
  private readonly dct: Float64Array;
  private readonly scale: number;

  constructor(sampleRate: number, private readonly longFrameSize: number) {
    let size = 1;
    while (size < sampleRate * TIMBRE.FRAME_SEC) size *= 2;
    this.fft = new RealFft(size);
    this.window = hann(size);
    this.scratch = new Float32Array(size);
    this.power = new Float64Array(size / 2 + 1);
    this.summed = new Float64Array(size / 2 + 1);
    // A full-scale sine's Hann-windowed peak is size/4: normalise power so that it reads about 1.
    this.scale = (4 / size) ** 2 / TIMBRE.SUBFRAMES;
    const bins = size / 2 + 1;
    const binHz = sampleRate / size;
    const low = mel(TIMBRE.MIN_HZ);
    const high = mel(Math.min(TIMBRE.MAX_HZ, sampleRate / 2));
    const centres: number[] = [];
    for (let b = 0; b <= TIMBRE.MEL_BANDS + 1; b++) centres.push(hzOfMel(low + ((high - low) * b) / (TIMBRE.MEL_BANDS + 1)));
    // Triangles overlapping by half: bin k between centres[b+1] and centres[b+2] feeds band b (falling) and b+1 (rising).
    this.binBand = new Int32Array(bins).fill(-2);
    this.binWeight = new Float32Array(bins);
    for (let k = 0; k < bins; k++) {
      const hz = k * binHz;
      if (hz < centres[0] || hz >= centres[TIMBRE.MEL_BANDS + 1]) continue;
      let c = 0;
      while (hz >= centres[c + 1]) c++;
      // Between centres[c] and centres[c+1]: falling edge of band c−1, rising edge of band c.
      const rise = (hz - centres[c]) / (centres[c + 1] - centres[c]);
      this.binBand[k] = c - 1;
      this.binWeight[k] = 1 - rise;
    }
    this.dct = new Float64Array(TIMBRE.COEFFICIENTS * TIMBRE.MEL_BANDS);
    for (let n = 0; n < TIMBRE.COEFFICIENTS; n++) {
      for (let b = 0; b < TIMBRE.MEL_BANDS; b++) {
        this.dct[n * TIMBRE.MEL_BANDS + b] = Math.cos((Math.PI * n * (b + 0.5)) / TIMBRE.MEL_BANDS) * Math.sqrt((n === 0 ? 1 : 2) / TIMBRE.MEL_BANDS);
      }
    }
  }

  /** Analyses the long frame of stream samples [start, start + longFrameSize) in the ring `history` (outside [0, end) reads as 0). */
  process(history: Float32Array, start: number, end: number): void {
    const { summed, power, bands, binBand, binWeight } = this;
    summed.fill(0);
    const spacing = this.longFrameSize / TIMBRE.SUBFRAMES;
    const offset = (spacing - this.fft.size) / 2;
    for (let s = 0; s < TIMBRE.SUBFRAMES; s++) {
      frameSpectrum(this.fft, history, start + Math.round(s * spacing + offset), end, this.window, this.scratch, power, undefined, true);
      for (let k = 0; k < summed.length; k++) summed[k] += power[k];
    }
    bands.fill(0);
    const last = TIMBRE.MEL_BANDS - 1;
    for (let k = 0; k < summed.length; k++) {
      const band = binBand[k];
      if (band === -2) continue;
      const p = summed[k] * this.scale;
      const w = binWeight[k];
      if (band >= 0) bands[band] += w * p;
      if (band + 1 <= last) bands[band + 1] += (1 - w) * p;
    }
    for (let b = 0; b < TIMBRE.MEL_BANDS; b++) bands[b] = Math.log10(bands[b] + TIMBRE.ENERGY_FLOOR);
    const row = this.row;
    for (let n = 0; n < TIMBRE.COEFFICIENTS; n++) {
      let sum = 0;
      const base = n * TIMBRE.MEL_BANDS;
      for (let b = 0; b < TIMBRE.MEL_BANDS; b++) sum += this.dct[base + b] * bands[b];
      row[n] = sum;
    }
    this.coefficients.pushRow(row);
    this.frames++;
  }
}
