/**
 * The frame features' FFT: fft.js (MIT) does the transform; this wraps it with what the frames need — the
 * window applied while the frame is read into a reused input, and either the complex bins 0 … N/2 or their
 * power, without allocating per frame.
 */
import FFT from 'fft.js';

export class FftSizeError extends Error {
  override readonly name = 'FftSizeError';
}

export class RealFft {
  readonly size: number;
  private readonly half: number;
  private readonly fft: FFT;
  private readonly input: Float64Array;
  /** fft.js's output: interleaved re, im; realTransform fills bins 0 … N/2. */
  private readonly spectrum: number[];

  constructor(size: number) {
    if (!(size >= 4) || (size & (size - 1)) !== 0) throw new FftSizeError(`FFT size must be a power of two ≥ 4, got ${size}`);
    this.size = size;
    this.half = size / 2;
    this.fft = new FFT(size);
    this.input = new Float64Array(size);
    this.spectrum = this.fft.createComplexArray() as number[];
  }

  /**
   * Writes bins 0 … N/2 of the spectrum of `source[offset … offset + N)` × `window` into `out` as re, im pairs
   * (length N + 2). With `lastBin`, only bins up to it are written (the chroma frames need the lowest quarter).
   */
  transform(source: Float32Array, offset: number, window: Float32Array, out: Float64Array, lastBin = this.half): void {
    this.run(source, offset, window);
    const spectrum = this.spectrum;
    for (let i = 0, end = 2 * lastBin + 1; i <= end; i++) out[i] = spectrum[i];
  }

  /** As `transform`, but writes the power |X[k]|² of bins 0 … N/2 into `out` (length N/2 + 1). */
  power(source: Float32Array, offset: number, window: Float32Array, out: Float64Array): void {
    this.run(source, offset, window);
    const spectrum = this.spectrum;
    for (let k = 0; k <= this.half; k++) {
      const re = spectrum[2 * k];
      const im = spectrum[2 * k + 1];
      out[k] = re * re + im * im;
    }
  }

  private run(source: Float32Array, offset: number, window: Float32Array): void {
    const input = this.input;
    for (let i = 0; i < this.size; i++) input[i] = source[offset + i] * window[i];
    this.fft.realTransform(this.spectrum, input as unknown as number[]);
  }
}
