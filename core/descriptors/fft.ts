/**
 * The descriptors' FFT: PFFFT ("a pretty fast FFT", Julien Pommier, https://bitbucket.org/jpommier/pffft;
 * BSD-3-Clause) compiled to WebAssembly with 128-bit SIMD, from the npm package @echogarden/pffft-wasm. PFFFT is
 * a single-precision mixed-radix FFT in the FFTPACK family (Swarztrauber 1982: "Vectorizing the FFTs", in
 * Parallel Computations, Academic Press), its butterflies vectorised four lanes wide; the real transform is
 * FFTPACK's rfftf/rfftb, and pffft_transform_ordered returns bins in natural order, DC and Nyquist first.
 *
 * Chosen by measurement on the 2-core dev machine (the frames' real call patterns over 3 minutes of 16 kHz audio,
 * best of 15, old and new interleaved in one process; `npx tsx bench/fft.ts` times the current one): 512-point power
 * spectra every 10 ms 77 → 35 ms, the timbre's 512-point frames 7 → 3 ms, the chroma's 8192-point spectra
 * 29 → 10 ms; 113 → 48 ms in all (2.4×) against our own float64 two-for-one radix-2² FFT in JS, which had been
 * the largest single item in preprocess's CPU profile. The tempo and beat autocorrelations (72 blocks of 1000
 * frames) went from 10 ms with fft.js (a radix-4 complex FFT in JS) to 0.9 ms. The work around the transform
 * (windowing the frame, the power of each bin, the short frames' band sums) runs in a small hand-written SIMD module
 * on PFFFT's own memory (spectrum-kernel.wat, embedded by scripts/embed-wasm-kernels.ts), with the same arithmetic
 * as the JavaScript loops it replaced, so the same figures.
 * Single precision is ample here: the inputs are float32 samples, and every consumer takes logs, peaks or sums
 * of the spectrum (the tests hold each bin to 1e-6 of the frame's total magnitude against a direct DFT).
 *
 * The WebAssembly module is embedded as base64 (core/descriptors/pffft-wasm.ts, written by
 * scripts/embed-pffft.ts) and compiled synchronously on first use, so RealFft works wherever the descriptors run
 * (tsx, jest's CommonJS sandbox, the preprocess Lambda's esbuild bundle: test/preprocess-package.test.ts) with no
 * .wasm file to locate and no async start-up; code that only imports the descriptors (the site's server, for
 * key names) never compiles it.
 */
import { PFFFT_EXPORTS, PFFFT_IMPORT_MODULE, PFFFT_IMPORTS, PFFFT_WASM_BASE64 } from './pffft-wasm.ts';
import { SPECTRUM_WASM_BASE64 } from './spectrum-wasm.ts';

export class FftSizeError extends Error {
  override readonly name = 'FftSizeError';
}

/** PFFFT's real transforms need a multiple of 32 points (16 with SIMD off); we use powers of two. */
const MIN_SIZE = 32;
/** pffft_transform_t and pffft_direction_t (pffft.h). */
const PFFFT_REAL = 0;
const PFFFT_FORWARD = 0;
const PFFFT_BACKWARD = 1;

/** The per-frame work around the transform, on PFFFT's memory (spectrum-kernel.wat; addresses in bytes). */
interface SpectrumKernel {
  applyWindow(frame: number, window: number, count: number): void;
  power(spectrum: number, out: number, half: number): void;
  bandSums(power: number, edges: number, bands: number, scale: number, magnitudes: number, sums: number): void;
  bandMagnitudes(power: number, edges: number, bands: number, scale: number, magnitudes: number): void;
}

interface PffftExports {
  memory: WebAssembly.Memory;
  callCtors(): void;
  alignedMalloc(bytes: number): number;
  newSetup(size: number, kind: number): number;
  transformOrdered(setup: number, input: number, output: number, work: number, direction: number): void;
}

/**
 * One size's PFFFT setup and its buffers, as float indices into the heap: input, output and work; the window;
 * the power of each bin (float64: index `power / 2` of the heap as doubles); band edges, band magnitudes and the
 * two band sums of powerBands.
 */
interface Plan {
  setup: number;
  input: number;
  output: number;
  work: number;
  window: number;
  power: number;
  edges: number;
  /** moreBands' band edges, a slot of their own so that neither set is copied in again with every frame. */
  moreEdges: number;
  magnitudes: number;
  sums: number;
  /**
   * The window and band edges now in the heap: an analyser's are made once and never changed, so they are copied
   * in when another array comes, not with every frame (the short frames come every 10 ms).
   */
  loadedWindow?: Float32Array;
  loadedEdges?: Int32Array;
  loadedMoreEdges?: Int32Array;
}

/** The instantiated PFFFT module: its heap and one plan per size, shared (every call runs to its end before the next). */
class Pffft {
  private readonly wasm: PffftExports;
  readonly kernel: SpectrumKernel;
  private heapView: Float32Array;
  private heapDoubles: Float64Array;
  private heapIntegers: Int32Array;
  private readonly plans = new Map<number, Plan>();

  constructor() {
    let memory: WebAssembly.Memory | undefined;
    const bytes = () => new Uint8Array(memory!.buffer);
    const imports = {
      [PFFFT_IMPORT_MODULE]: {
        [PFFFT_IMPORTS.assertFail]: (condition: number, file: number, line: number) => {
          const text = (at: number) => new TextDecoder().decode(bytes().subarray(at, bytes().indexOf(0, at)));
          throw new Error(`PFFFT assertion failed: ${text(condition)} at ${text(file)}:${line}`);
        },
        [PFFFT_IMPORTS.memcpy]: (dest: number, src: number, count: number) => {
          bytes().copyWithin(dest, src, src + count);
        },
        // Emscripten's contract: grow the memory to at least `requested` bytes, answer whether it worked.
        [PFFFT_IMPORTS.resizeHeap]: (requested: number) => {
          const missing = (requested >>> 0) - memory!.buffer.byteLength;
          try {
            memory!.grow(Math.ceil(missing / 65536));
            // Growing detached the old buffer: new views (the memory grows only here, on PFFFT's request).
            this.refreshViews();
            return 1;
          } catch {
            return 0;
          }
        },
      },
    };
    const module = new WebAssembly.Module(Buffer.from(PFFFT_WASM_BASE64, 'base64'));
    const exports = new WebAssembly.Instance(module, imports).exports as Record<string, unknown>;
    const pick = <T>(name: string) => exports[name] as T;
    this.wasm = {
      memory: pick(PFFFT_EXPORTS.memory),
      callCtors: pick(PFFFT_EXPORTS.callCtors),
      alignedMalloc: pick(PFFFT_EXPORTS.alignedMalloc),
      newSetup: pick(PFFFT_EXPORTS.newSetup),
      transformOrdered: pick(PFFFT_EXPORTS.transformOrdered),
    };
    memory = this.wasm.memory;
    this.wasm.callCtors();
    const kernel = new WebAssembly.Module(Buffer.from(SPECTRUM_WASM_BASE64, 'base64'));
    this.kernel = new WebAssembly.Instance(kernel, { pffft: { memory } }).exports as unknown as SpectrumKernel;
    this.heapView = new Float32Array(memory.buffer);
    this.heapDoubles = new Float64Array(memory.buffer);
    this.heapIntegers = new Int32Array(memory.buffer);
  }

  /** The heap as floats. */
  heap(): Float32Array {
    return this.heapView;
  }

  /** The heap as doubles (index = float index / 2). */
  doubles(): Float64Array {
    return this.heapDoubles;
  }

  /** The heap as 32-bit integers (index = float index). */
  integers(): Int32Array {
    return this.heapIntegers;
  }

  private refreshViews(): void {
    const buffer = this.wasm.memory.buffer;
    this.heapView = new Float32Array(buffer);
    this.heapDoubles = new Float64Array(buffer);
    this.heapIntegers = new Int32Array(buffer);
  }

  /** The plan for a real transform of `size` points, made on first use. */
  plan(size: number): Plan {
    let plan = this.plans.get(size);
    if (!plan) {
      const setup = this.wasm.newSetup(size, PFFFT_REAL);
      if (setup === 0) throw new FftSizeError(`PFFFT cannot make a real transform of ${size} points`);
      const buffer = (floats: number) => this.wasm.alignedMalloc(4 * floats) / 4;
      plan = {
        setup, input: buffer(size), output: buffer(size), work: buffer(size), window: buffer(size), power: buffer(size + 2),
        edges: buffer(size / 2 + 2), moreEdges: buffer(size / 2 + 2), magnitudes: buffer(size / 2 + 1), sums: buffer(4),
      };
      this.plans.set(size, plan);
    }
    return plan;
  }

  /** Ordered real transform of heap[from … from + size) into heap[to …): forward gives DC, Nyquist, then re, im of bins 1 … size/2 − 1. */
  run(plan: Plan, from: number, to: number, direction: number): void {
    this.wasm.transformOrdered(plan.setup, 4 * from, 4 * to, 4 * plan.work, direction);
  }
}

let engine: Pffft | undefined;
function pffft(): Pffft {
  engine ??= new Pffft();
  return engine;
}

function checkSize(size: number): void {
  if (!(size >= MIN_SIZE) || (size & (size - 1)) !== 0) throw new FftSizeError(`FFT size must be a power of two ≥ ${MIN_SIZE}, got ${size}`);
}

export class RealFft {
  readonly size: number;
  private readonly half: number;
  private readonly plan: Plan;

  constructor(size: number) {
    checkSize(size);
    this.size = size;
    this.half = size / 2;
    this.plan = pffft().plan(size);
  }

  /**
   * Writes bins 0 … N/2 of the spectrum of `source[offset … offset + N)` × `window` into `out` as re, im pairs
   * (length N + 2). With `lastBin`, only bins up to it are written (the chroma frames need the lowest quarter).
   */
  transform(source: Float32Array, offset: number, window: Float32Array, out: Float64Array, lastBin = this.half): void {
    const heap = this.run(source, offset, window);
    const { half } = this;
    const spectrum = this.plan.output;
    out[0] = heap[spectrum];
    out[1] = 0;
    const last = Math.min(lastBin, half);
    for (let k = 1; k <= last && k < half; k++) {
      out[2 * k] = heap[spectrum + 2 * k];
      out[2 * k + 1] = heap[spectrum + 2 * k + 1];
    }
    if (last >= half) {
      out[2 * half] = heap[spectrum + 1];
      out[2 * half + 1] = 0;
    }
  }

  /** As `transform`, but writes the power |X[k]|² of bins 0 … N/2 into `out` (length N/2 + 1). */
  power(source: Float32Array, offset: number, window: Float32Array, out: Float64Array): void {
    this.run(source, offset, window);
    const { half, plan } = this;
    pffft().kernel.power(4 * plan.output, 4 * plan.power, half);
    const doubles = pffft().doubles();
    out.set(doubles.subarray(plan.power / 2, plan.power / 2 + half + 1));
  }

  /**
   * The power spectrum summed in bands, for the short frames (frames.ts): band b holds bins edges[b] …
   * edges[b + 1] − 1 (`edges`: bands + 1 bin indices, ascending, within 0 … N/2). Writes sqrt(Σ |X[k]|²)·scale of
   * each band into `magnitudes`, and Σ |X[k]| and Σ |X[k]|·k over the bands' bins into `sums[0]` and `sums[1]`.
   */
  powerBands(
    source: Float32Array, offset: number, window: Float32Array, edges: Int32Array, scale: number, magnitudes: Float32Array,
    sums: Float64Array,
  ): void {
    this.run(source, offset, window);
    const { half, plan } = this;
    const engine = pffft();
    const bands = this.loadEdges(edges, 'edges');
    engine.kernel.power(4 * plan.output, 4 * plan.power, half);
    engine.kernel.bandSums(4 * plan.power, 4 * plan.edges, bands, scale, 4 * plan.magnitudes, 4 * plan.sums);
    magnitudes.set(engine.heap().subarray(plan.magnitudes, plan.magnitudes + bands));
    const doubles = engine.doubles();
    sums[0] = doubles[plan.sums / 2];
    sums[1] = doubles[plan.sums / 2 + 1];
  }

  /**
   * The power of the frame that `powerBands` (or `power`) last transformed, summed in another set of bands: writes
   * sqrt(Σ |X[k]|²)·scale of each band of `edges` (as in powerBands) into `magnitudes`. No second transform: the
   * bins' power is still in the heap.
   */
  moreBands(edges: Int32Array, scale: number, magnitudes: Float32Array): void {
    const { plan } = this;
    const engine = pffft();
    const bands = this.loadEdges(edges, 'moreEdges');
    engine.kernel.bandMagnitudes(4 * plan.power, 4 * plan.moreEdges, bands, scale, 4 * plan.magnitudes);
    magnitudes.set(engine.heap().subarray(plan.magnitudes, plan.magnitudes + bands));
  }

  /** Checks `edges` (bands + 1 bin indices within 0 … N/2 + 1), copies them into the plan's `slot` when another array comes, and returns the band count. */
  private loadEdges(edges: Int32Array, slot: 'edges' | 'moreEdges'): number {
    const { half, plan } = this;
    const bands = edges.length - 1;
    if (!(bands >= 1 && bands <= half && edges[0] >= 0 && edges[bands] <= half + 1)) throw new RangeError(`band edges outside 0 … ${half + 1}`);
    const loaded = slot === 'edges' ? 'loadedEdges' : 'loadedMoreEdges';
    if (plan[loaded] !== edges) {
      pffft().integers().set(edges, plan[slot]);
      plan[loaded] = edges;
    }
    return bands;
  }

  /**
   * Copies the frame (and the window, when it is not there yet) into PFFFT's heap, windows it there and transforms
   * it; returns the heap holding the ordered spectrum.
   */
  private run(source: Float32Array, offset: number, window: Float32Array): Float32Array {
    const engine = pffft();
    const heap = engine.heap();
    const { size, plan } = this;
    heap.set(source.subarray(offset, offset + size), plan.input);
    if (plan.loadedWindow !== window) {
      heap.set(window.subarray(0, size), plan.window);
      plan.loadedWindow = window;
    }
    engine.kernel.applyWindow(4 * plan.input, 4 * plan.window, size);
    engine.run(plan, plan.input, plan.output, PFFFT_FORWARD);
    return heap;
  }
}

/**
 * The unbiased autocorrelation of signal[from, to) less its mean, for lags 0 … maxLag, normalised to 1 at lag 0
 * (all zero for a flat segment): r[l] = Σ x[i]·x[i+l] / (n − l) / (Σ x[i]² / n). Computed through the power
 * spectrum (Wiener–Khinchin) of the segment zero-padded to a power of two ≥ n + maxLag + 1, so that the circular
 * correlation equals the linear one at those lags: O(n log n) rather than O(n · maxLag).
 */
export function normalisedAutocorrelation(signal: Float64Array, from: number, to: number, maxLag: number): Float64Array {
  const n = to - from;
  const out = new Float64Array(maxLag + 1);
  let mean = 0;
  for (let i = from; i < to; i++) mean += signal[i];
  mean /= n;
  let size = MIN_SIZE;
  while (size < n + maxLag + 1) size *= 2;
  const engine = pffft();
  const plan = engine.plan(size);
  const heap = engine.heap();
  const { input, output } = plan;
  for (let i = 0; i < n; i++) heap[input + i] = signal[from + i] - mean;
  heap.fill(0, input + n, input + size);
  engine.run(plan, input, output, PFFFT_FORWARD);
  // |X[k]|² in the same ordered layout (DC and Nyquist first, both real); its inverse is size × the correlation.
  heap[output] *= heap[output];
  heap[output + 1] *= heap[output + 1];
  for (let k = 1; k < size / 2; k++) {
    const re = heap[output + 2 * k];
    const im = heap[output + 2 * k + 1];
    heap[output + 2 * k] = re * re + im * im;
    heap[output + 2 * k + 1] = 0;
  }
  engine.run(plan, output, input, PFFFT_BACKWARD);
  const zero = heap[input] / n;
  if (!(zero > 1e-12 * size)) return out;
  for (let lag = 0; lag <= maxLag; lag++) out[lag] = heap[input + lag] / (n - lag) / zero;
  return out;
}
