import { readFileSync } from 'node:fs';
import { FftSizeError, normalisedAutocorrelation, RealFft } from '../core/descriptors/fft.ts';
import { PFFFT_MODULE_FILE, pffftModuleSource } from '../scripts/embed-pffft.ts';
import { WASM_KERNELS, wasmKernelSource } from '../scripts/embed-wasm-kernels.ts';

/** The textbook O(N²) DFT of x · w, bins 0 … N/2. */
function directDft(x: Float32Array, offset: number, w: Float32Array): Array<[number, number]> {
  const n = w.length;
  const cos = Float64Array.from({ length: n }, (_, j) => Math.cos((2 * Math.PI * j) / n));
  const sin = Float64Array.from({ length: n }, (_, j) => Math.sin((2 * Math.PI * j) / n));
  const bins: Array<[number, number]> = [];
  for (let k = 0; k <= n / 2; k++) {
    let re = 0;
    let im = 0;
    for (let t = 0; t < n; t++) {
      const v = x[offset + t] * w[t];
      const j = (k * t) % n;
      re += v * cos[j];
      im -= v * sin[j];
    }
    bins.push([re, im]);
  }
  return bins;
}

function pseudoRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32 - 0.5;
  };
}

/**
 * PFFFT works in single precision: a bin may be off by a few float32 ulps of the frame's total magnitude
 * Σ|x·w| (the largest any bin can be), growing with log2 N; 1e-6 of it is about ten such ulps.
 */
function singlePrecisionTolerance(x: Float32Array, offset: number, w: Float32Array): number {
  let sum = 0;
  for (let t = 0; t < w.length; t++) sum += Math.abs(x[offset + t] * w[t]);
  return 1e-6 * sum;
}

describe('RealFft', () => {
  it.each([32, 64, 512, 1024, 8192])('matches a direct DFT of a windowed %i-point frame read at an offset', (size) => {
    // Prepare
    const random = pseudoRandom(size);
    const source = Float32Array.from({ length: size + 7 }, random);
    const window = Float32Array.from({ length: size }, random);
    const out = new Float64Array(size + 2);
    // Act
    new RealFft(size).transform(source, 7, window, out);
    // Assess
    const expected = directDft(source, 7, window);
    const tolerance = singlePrecisionTolerance(source, 7, window);
    for (let k = 0; k <= size / 2; k++) {
      expect(Math.abs(out[2 * k] - expected[k][0])).toBeLessThan(tolerance);
      expect(Math.abs(out[2 * k + 1] - expected[k][1])).toBeLessThan(tolerance);
    }
  });

  it('writes only the bins up to lastBin when asked', () => {
    // Prepare
    const size = 64;
    const random = pseudoRandom(3);
    const source = Float32Array.from({ length: size }, random);
    const window = new Float32Array(size).fill(1);
    const out = new Float64Array(size + 2).fill(123);
    // Act
    new RealFft(size).transform(source, 0, window, out, 10);
    // Assess
    const expected = directDft(source, 0, window);
    const tolerance = singlePrecisionTolerance(source, 0, window);
    for (let k = 0; k <= 10; k++) expect(Math.abs(out[2 * k] - expected[k][0])).toBeLessThan(tolerance);
    expect(out[2 * 11]).toBe(123);
    expect(out[size]).toBe(123);
  });

  it.each([32, 512])('gives the power of each bin of a %i-point frame, as |X[k]|² of the direct DFT', (size) => {
    // Prepare
    const random = pseudoRandom(size + 1);
    const source = Float32Array.from({ length: size }, random);
    const window = Float32Array.from({ length: size }, random);
    const power = new Float64Array(size / 2 + 1);
    // Act
    new RealFft(size).power(source, 0, window, power);
    // Assess
    const expected = directDft(source, 0, window);
    // |X|² errs by about 2·|X|·(the bin's error).
    const tolerance = singlePrecisionTolerance(source, 0, window);
    for (let k = 0; k <= size / 2; k++) {
      const magnitude = Math.hypot(expected[k][0], expected[k][1]);
      expect(Math.abs(power[k] - magnitude ** 2)).toBeLessThan(2 * magnitude * tolerance + tolerance ** 2);
    }
  });

  it('sums the power spectrum in bands: each band\'s RMS magnitude, and the magnitude and bin-weighted magnitude sums', () => {
    // Prepare: bands of one, two and an odd number of bins, the last one ending with the Nyquist bin.
    const size = 512;
    const random = pseudoRandom(21);
    const source = Float32Array.from({ length: size + 3 }, random);
    const window = Float32Array.from({ length: size }, random);
    const edges = Int32Array.of(1, 2, 4, 7, 8, 40, 131, 257);
    const fft = new RealFft(size);
    const power = new Float64Array(size / 2 + 1);
    fft.power(source, 3, window, power);
    const magnitudes = new Float32Array(edges.length - 1);
    const sums = new Float64Array(2);
    // Act
    fft.powerBands(source, 3, window, edges, 0.25, magnitudes, sums);
    // Assess
    let magnitudeSum = 0;
    let weightedSum = 0;
    for (let b = 0; b + 1 < edges.length; b++) {
      let bandPower = 0;
      for (let k = edges[b]; k < edges[b + 1]; k++) {
        bandPower += power[k];
        magnitudeSum += Math.sqrt(power[k]);
        weightedSum += Math.sqrt(power[k]) * k;
      }
      expect(magnitudes[b]).toBeCloseTo(Math.fround(Math.sqrt(bandPower) * 0.25), 5);
    }
    expect(sums[0]).toBeCloseTo(magnitudeSum, 8);
    expect(sums[1]).toBeCloseTo(weightedSum, 6);
    expect(() => fft.powerBands(source, 0, window, Int32Array.of(1, 258), 1, magnitudes, sums)).toThrow(RangeError);
  });

  it('sums the same frame\'s power in a second set of bands without transforming it again, as powerBands would', () => {
    // Prepare: the frame of powerBands with coarse bands, then finer ones (one bin, two, an odd count) over it.
    const size = 512;
    const random = pseudoRandom(34);
    const source = Float32Array.from({ length: size }, random);
    const window = Float32Array.from({ length: size }, random);
    const coarse = Int32Array.of(1, 9, 65, 257);
    const fine = Int32Array.of(1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 256);
    const fft = new RealFft(size);
    const sums = new Float64Array(2);
    const expected = new Float32Array(fine.length - 1);
    fft.powerBands(source, 0, window, fine, 0.25, expected, sums);
    const coarseMagnitudes = new Float32Array(coarse.length - 1);
    const magnitudes = new Float32Array(fine.length - 1);
    // Act
    fft.powerBands(source, 0, window, coarse, 0.25, coarseMagnitudes, sums);
    fft.moreBands(fine, 0.25, magnitudes);
    // Assess: the same float32 values, bit for bit, and the edges checked as powerBands checks them
    expect(Array.from(magnitudes)).toEqual(Array.from(expected));
    expect(() => fft.moreBands(Int32Array.of(1, 258), 1, magnitudes)).toThrow(RangeError);
  });

  it('rejects a size that is not a power of two, or below PFFFT\'s 32 points', () => {
    // Act / Assess
    expect(() => new RealFft(48)).toThrow(FftSizeError);
    expect(() => new RealFft(16)).toThrow(FftSizeError);
  });

  it('gives the same spectrum from instances of one size interleaved with others (they share PFFFT\'s buffers)', () => {
    // Prepare
    const random = pseudoRandom(11);
    const source = Float32Array.from({ length: 8192 }, random);
    const window = new Float32Array(8192).fill(1);
    const first = new RealFft(512);
    const alone = new Float64Array(514);
    first.transform(source, 0, window, alone);
    // Act: another instance of the same size and a larger one run between, and a new size grows the heap past
    // its first 16 MiB (which detaches the views onto the old one).
    new RealFft(512).transform(source, 100, window, new Float64Array(514));
    new RealFft(8192).power(source, 0, window, new Float64Array(4097));
    new RealFft(1 << 21);
    const again = new Float64Array(514);
    first.transform(source, 0, window, again);
    // Assess
    expect(Array.from(again)).toEqual(Array.from(alone));
  });
});

describe('normalisedAutocorrelation', () => {
  /** The definition, term by term. */
  function directAutocorrelation(signal: Float64Array, from: number, to: number, maxLag: number): Float64Array {
    const n = to - from;
    let mean = 0;
    for (let i = from; i < to; i++) mean += signal[i] / n;
    const sums = new Float64Array(maxLag + 1);
    for (let lag = 0; lag <= maxLag; lag++) {
      for (let i = from; i + lag < to; i++) sums[lag] += (signal[i] - mean) * (signal[i + lag] - mean);
    }
    return sums.map((sum, lag) => sum / (n - lag) / (sums[0] / n));
  }

  it.each([[0, 300, 120], [37, 1037, 400], [5, 70, 60]])('matches the direct sum over signal[%i, %i) for lags up to %i', (from, to, maxLag) => {
    // Prepare: a pulse train every 25 frames with noise, over an offset, as an onset envelope looks.
    const random = pseudoRandom(from + to);
    const signal = Float64Array.from({ length: to + 10 }, (_, i) => (i % 25 === 0 ? 1 : 0) + 0.2 * random() + 3);
    // Act
    const acf = normalisedAutocorrelation(signal, from, to, maxLag);
    // Assess
    const expected = directAutocorrelation(signal, from, to, maxLag);
    expect(acf[0]).toBeCloseTo(1, 5);
    for (let lag = 0; lag <= maxLag; lag++) expect(Math.abs(acf[lag] - expected[lag])).toBeLessThan(1e-5 * (to - from) / (to - from - lag));
    expect(acf[25]).toBeGreaterThan(0.5);
  });

  it('is all zero for a flat segment', () => {
    // Act
    const acf = normalisedAutocorrelation(new Float64Array(200).fill(0.7), 0, 200, 50);
    // Assess
    expect(Array.from(acf)).toEqual(new Array(51).fill(0));
  });
});

describe('the embedded PFFFT module', () => {
  it('is the installed @echogarden/pffft-wasm\'s SIMD build (rerun scripts/embed-pffft.ts after an upgrade)', () => {
    // Act / Assess
    expect(readFileSync(PFFFT_MODULE_FILE, 'utf8')).toBe(pffftModuleSource());
  });
});

describe('the embedded spectrum kernel', () => {
  it('is core/descriptors/spectrum-kernel.wat as assembled now (rerun scripts/embed-wasm-kernels.ts after editing it)', async () => {
    // Act / Assess
    expect(readFileSync(WASM_KERNELS.spectrum.module, 'utf8')).toBe(await wasmKernelSource('spectrum'));
  });
});
