import { FftSizeError, RealFft } from '../core/descriptors/fft.ts';

/** The textbook O(N²) DFT of x · w, bins 0 … N/2. */
function directDft(x: Float32Array, offset: number, w: Float32Array): Array<[number, number]> {
  const n = w.length;
  const bins: Array<[number, number]> = [];
  for (let k = 0; k <= n / 2; k++) {
    let re = 0;
    let im = 0;
    for (let t = 0; t < n; t++) {
      const v = x[offset + t] * w[t];
      re += v * Math.cos((2 * Math.PI * k * t) / n);
      im -= v * Math.sin((2 * Math.PI * k * t) / n);
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

describe('RealFft', () => {
  it.each([4, 8, 16, 32, 64, 512, 1024])('matches a direct DFT of a windowed %i-point frame read at an offset', (size) => {
    // Prepare
    const random = pseudoRandom(size);
    const source = Float32Array.from({ length: size + 7 }, random);
    const window = Float32Array.from({ length: size }, random);
    const out = new Float64Array(size + 2);
    // Act
    new RealFft(size).transform(source, 7, window, out);
    // Assess
    const expected = directDft(source, 7, window);
    for (let k = 0; k <= size / 2; k++) {
      expect(out[2 * k]).toBeCloseTo(expected[k][0], 9);
      expect(out[2 * k + 1]).toBeCloseTo(expected[k][1], 9);
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
    for (let k = 0; k <= 10; k++) expect(out[2 * k]).toBeCloseTo(expected[k][0], 9);
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
    for (let k = 0; k <= size / 2; k++) expect(power[k]).toBeCloseTo(expected[k][0] ** 2 + expected[k][1] ** 2, 8);
  });

  it('rejects a size that is not a power of two', () => {
    // Act / Assess
    expect(() => new RealFft(48)).toThrow(FftSizeError);
  });
});
