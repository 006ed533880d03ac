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
 * frames) went from 10 ms with fft.js (a radix-4 complex FFT in JS) to 0.9 ms. About half of what is left per
 * short frame is JS: windowing the frame into the WebAssembly heap and the power of each bin.
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

export class FftSizeError extends Error {
  override readonly name = 'FftSizeError';
}

/** PFFFT's real transforms need a multiple of 32 points (16 with SIMD off); we use powers of two. */
const MIN_SIZE = 32;
/** pffft_transform_t and pffft_direction_t (pffft.h). */
const PFFFT_REAL = 0;
const PFFFT_FORWARD = 0;
const PFFFT_BACKWARD = 1;

interface PffftExports {
  memory: WebAssembly.Memory;
  callCtors(): void;
  alignedMalloc(bytes: number): number;
  newSetup(size: number, kind: number): number;
  transformOrdered(setup: number, input: number, output: number, work: number, direction: number): void;
}

/** One size's PFFFT setup and its input, output and work buffers, as float indices into the heap. */
interface Plan {
  setup: number;
  input: number;
  output: number;
  work: number;
}

/** The instantiated PFFFT module: its heap and one plan per size, shared (every call runs to its end before the next). */
class Pffft {
  private readonly wasm: PffftExports;
  private heapView: Float32Array;
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
    this.heapView = new Float32Array(memory.buffer);
  }

  /** The heap as floats; a new view after the memory grew (growing detaches the old buffer). */
  heap(): Float32Array {
    if (this.heapView.buffer !== this.wasm.memory.buffer) this.heapView = new Float32Array(this.wasm.memory.buffer);
    return this.heapView;
  }

  /** The plan for a real transform of `size` points, made on first use. */
  plan(size: number): Plan {
    let plan = this.plans.get(size);
    if (!plan) {
      const setup = this.wasm.newSetup(size, PFFFT_REAL);
      if (setup === 0) throw new FftSizeError(`PFFFT cannot make a real transform of ${size} points`);
      const buffer = () => this.wasm.alignedMalloc(4 * size) / 4;
      plan = { setup, input: buffer(), output: buffer(), work: buffer() };
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
    const heap = this.run(source, offset, window);
    const { half } = this;
    const spectrum = this.plan.output;
    const dc = heap[spectrum];
    const nyquist = heap[spectrum + 1];
    out[0] = dc * dc;
    out[half] = nyquist * nyquist;
    for (let k = 1; k < half; k++) {
      const re = heap[spectrum + 2 * k];
      const im = heap[spectrum + 2 * k + 1];
      out[k] = re * re + im * im;
    }
  }

  /** Windows the frame into PFFFT's input and transforms it; returns the heap holding the ordered spectrum. */
  private run(source: Float32Array, offset: number, window: Float32Array): Float32Array {
    const engine = pffft();
    const heap = engine.heap();
    const { size, plan } = this;
    const input = plan.input;
    for (let t = 0; t < size; t++) heap[input + t] = source[offset + t] * window[t];
    engine.run(plan, input, plan.output, PFFFT_FORWARD);
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
