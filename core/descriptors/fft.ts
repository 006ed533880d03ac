/**
 * A real-input FFT for the frame features: the N real samples are packed as N/2 complex ones, transformed
 * with radix-4 butterflies (one radix-2 stage first when log2(N/2) is odd) over precomputed twiddles, then
 * split into the N/2 + 1 bins of the real spectrum. Roughly half the work of a complex transform of N points,
 * which is what a general-purpose library does for real input; the short frames run ~18,000 of these per
 * 3-minute track, so this is the descriptors' hot loop.
 */
export class FftSizeError extends Error {
  override readonly name = 'FftSizeError';
}

export class RealFft {
  readonly size: number;
  private readonly half: number;
  /** Bit-reversal permutation of the N/2 complex points. */
  private readonly reversed: Int32Array;
  /** Per radix-4 stage with sub-transform length L: for k < L, the twiddles w^k, w^2k, w^3k (re, im) with w = e^(-2πi/4L). */
  private readonly twiddles: Float64Array;
  private readonly firstStageIsRadix2: boolean;
  /** e^(-2πik/N) for k ≤ N/4 … N/2, for the real split. */
  private readonly splitCos: Float64Array;
  private readonly splitSin: Float64Array;
  /** The N/2 complex points being transformed, interleaved re, im. */
  private readonly work: Float64Array;

  constructor(size: number) {
    if (!(size >= 4) || (size & (size - 1)) !== 0) throw new FftSizeError(`FFT size must be a power of two ≥ 4, got ${size}`);
    this.size = size;
    const half = size / 2;
    this.half = half;
    let bits = 0;
    while (1 << bits < half) bits++;
    this.reversed = new Int32Array(half);
    for (let i = 0; i < half; i++) {
      let r = 0;
      for (let b = 0; b < bits; b++) if (i & (1 << b)) r |= 1 << (bits - 1 - b);
      this.reversed[i] = r;
    }
    this.firstStageIsRadix2 = bits % 2 === 1;
    const entries: number[] = [];
    for (let length = this.firstStageIsRadix2 ? 2 : 1; 4 * length <= half; length *= 4) {
      for (let k = 0; k < length; k++) {
        const angle = (-2 * Math.PI * k) / (4 * length);
        entries.push(Math.cos(angle), Math.sin(angle), Math.cos(2 * angle), Math.sin(2 * angle), Math.cos(3 * angle), Math.sin(3 * angle));
      }
    }
    this.twiddles = Float64Array.from(entries);
    this.splitCos = new Float64Array(half + 1);
    this.splitSin = new Float64Array(half + 1);
    for (let k = 0; k <= half; k++) {
      this.splitCos[k] = Math.cos((2 * Math.PI * k) / size);
      this.splitSin[k] = -Math.sin((2 * Math.PI * k) / size);
    }
    this.work = new Float64Array(size);
  }

  /**
   * Writes bins 0 … N/2 of the spectrum of `source[offset … offset + N)` × `window` into `out` as re, im pairs
   * (length N + 2); the frame is windowed as it is read, never copied. With `lastBin`, only bins up to it
   * are written (the chroma frames need the lowest quarter).
   */
  transform(source: Float32Array, offset: number, window: Float32Array, out: Float64Array, lastBin = this.half): void {
    this.transformToWork(source, offset, window);
    this.split(out, lastBin);
  }

  /** As `transform`, but writes the power |X[k]|² of bins 0 … N/2 into `out` (length N/2 + 1). */
  power(source: Float32Array, offset: number, window: Float32Array, out: Float64Array): void {
    this.transformToWork(source, offset, window);
    const half = this.half;
    const z = this.work;
    out[0] = (z[0] + z[1]) ** 2;
    out[half] = (z[0] - z[1]) ** 2;
    const cos = this.splitCos;
    const sin = this.splitSin;
    for (let k = 1; k < half; k++) {
      const ar = z[2 * k];
      const ai = z[2 * k + 1];
      const br = z[2 * (half - k)];
      const bi = -z[2 * (half - k) + 1];
      const er = 0.5 * (ar + br);
      const ei = 0.5 * (ai + bi);
      const or = 0.5 * (ai - bi);
      const oi = -0.5 * (ar - br);
      const wr = cos[k];
      const wi = sin[k];
      const re = er + wr * or - wi * oi;
      const im = ei + wr * oi + wi * or;
      out[k] = re * re + im * im;
    }
  }

  /** The complex transform of the N/2 packed points of the windowed frame, left in `work`. */
  private transformToWork(source: Float32Array, offset: number, window: Float32Array): void {
    const input = source;
    const half = this.half;
    const z = this.work;
    const reversed = this.reversed;
    if (this.firstStageIsRadix2) {
      for (let i = 0; i < half; i++) {
        const j = reversed[i] << 1;
        z[j] = input[offset + 2 * i] * window[2 * i];
        z[j + 1] = input[offset + 2 * i + 1] * window[2 * i + 1];
      }
    } else {
      // Gather in bit-reversed order and do the first radix-4 stage (all twiddles 1) on the way: the four
      // points of each butterfly are i, i + M/4, i + M/2, i + 3M/4 of the input, in the order a, c, b, d.
      const quarter = half >> 2;
      for (let i = 0; i < quarter; i++) {
        const o = reversed[i] << 1;
        const ar = input[offset + 2 * i] * window[2 * i];
        const ai = input[offset + 2 * i + 1] * window[2 * i + 1];
        const cr = input[offset + 2 * (i + quarter)] * window[2 * (i + quarter)];
        const ci = input[offset + 2 * (i + quarter) + 1] * window[2 * (i + quarter) + 1];
        const br = input[offset + 2 * (i + 2 * quarter)] * window[2 * (i + 2 * quarter)];
        const bi = input[offset + 2 * (i + 2 * quarter) + 1] * window[2 * (i + 2 * quarter) + 1];
        const dr = input[offset + 2 * (i + 3 * quarter)] * window[2 * (i + 3 * quarter)];
        const di = input[offset + 2 * (i + 3 * quarter) + 1] * window[2 * (i + 3 * quarter) + 1];
        const sr = ar + br;
        const si = ai + bi;
        const tr = ar - br;
        const ti = ai - bi;
        const ur = cr + dr;
        const ui = ci + di;
        const vr = cr - dr;
        const vi = ci - di;
        z[o] = sr + ur;
        z[o + 1] = si + ui;
        z[o + 4] = sr - ur;
        z[o + 5] = si - ui;
        z[o + 2] = tr + vi;
        z[o + 3] = ti - vr;
        z[o + 6] = tr - vi;
        z[o + 7] = ti + vr;
      }
    }
    this.complexInPlace();
  }

  private split(out: Float64Array, lastBin: number): void {
    const half = this.half;
    const z = this.work;
    // Split: X[k] = E[k] + e^(-2πik/N) O[k], with E, O the spectra of the even and odd samples,
    // E[k] = (Z[k] + conj Z[M-k]) / 2 and O[k] = (Z[k] - conj Z[M-k]) / 2i.
    out[0] = z[0] + z[1];
    out[1] = 0;
    if (lastBin >= half) {
      out[2 * half] = z[0] - z[1];
      out[2 * half + 1] = 0;
    }
    const cos = this.splitCos;
    const sin = this.splitSin;
    const last = Math.min(half - 1, lastBin);
    for (let k = 1; k <= last; k++) {
      const ar = z[2 * k];
      const ai = z[2 * k + 1];
      const br = z[2 * (half - k)];
      const bi = -z[2 * (half - k) + 1];
      const er = 0.5 * (ar + br);
      const ei = 0.5 * (ai + bi);
      // (a - b) / 2i = (ai - bi)/2 - i (ar - br)/2
      const or = 0.5 * (ai - bi);
      const oi = -0.5 * (ar - br);
      const wr = cos[k];
      const wi = sin[k];
      out[2 * k] = er + wr * or - wi * oi;
      out[2 * k + 1] = ei + wr * oi + wi * or;
    }
  }

  private complexInPlace(): void {
    const z = this.work;
    const n = this.half;
    let length = 1;
    if (this.firstStageIsRadix2) {
      for (let i = 0; i < 2 * n; i += 4) {
        const ar = z[i];
        const ai = z[i + 1];
        const br = z[i + 2];
        const bi = z[i + 3];
        z[i] = ar + br;
        z[i + 1] = ai + bi;
        z[i + 2] = ar - br;
        z[i + 3] = ai - bi;
      }
      length = 2;
    }
    const tw = this.twiddles;
    let twBase = 0;
    if (!this.firstStageIsRadix2) {
      // The stage with length 1 was done while gathering.
      length = 4;
      twBase = 6;
    }
    for (; 4 * length <= n; length *= 4) {
      const span = 4 * length;
      for (let k = 0; k < length; k++) {
        const t = twBase + 6 * k;
        const w1r = tw[t];
        const w1i = tw[t + 1];
        const w2r = tw[t + 2];
        const w2i = tw[t + 3];
        const w3r = tw[t + 4];
        const w3i = tw[t + 5];
        for (let start = k; start < n; start += span) {
          // Four sub-transforms of `length` points in bit-reversed order: a, b (= w² ·), c (= w ·), d (= w³ ·).
          const i0 = 2 * start;
          const i1 = i0 + 2 * length;
          const i2 = i1 + 2 * length;
          const i3 = i2 + 2 * length;
          const ar = z[i0];
          const ai = z[i0 + 1];
          const x1r = z[i1];
          const x1i = z[i1 + 1];
          const br = x1r * w2r - x1i * w2i;
          const bi = x1r * w2i + x1i * w2r;
          const x2r = z[i2];
          const x2i = z[i2 + 1];
          const cr = x2r * w1r - x2i * w1i;
          const ci = x2r * w1i + x2i * w1r;
          const x3r = z[i3];
          const x3i = z[i3 + 1];
          const dr = x3r * w3r - x3i * w3i;
          const di = x3r * w3i + x3i * w3r;
          const sr = ar + br;
          const si = ai + bi;
          const tr = ar - br;
          const ti = ai - bi;
          const ur = cr + dr;
          const ui = ci + di;
          const vr = cr - dr;
          const vi = ci - di;
          z[i0] = sr + ur;
          z[i0 + 1] = si + ui;
          z[i2] = sr - ur;
          z[i2 + 1] = si - ui;
          // ∓ i (c - d): -i (vr + i vi) = vi - i vr
          z[i1] = tr + vi;
          z[i1 + 1] = ti - vr;
          z[i3] = tr - vi;
          z[i3 + 1] = ti + vr;
        }
      }
      twBase += 6 * length;
    }
  }
}
