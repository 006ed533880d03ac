/**
 * ITU-R BS.1770-4 loudness (K-weighting, 400-ms gated blocks), EBU Tech 3342 loudness range and BS.1770-4
 * Annex 2 true peak, computed from K-weighted energy kept per 100-ms segment (the gating step), so a stream never
 * needs its samples twice.
 *
 * The file's own loudness (FileLoudnessMeter) is measured on its channels at its own rate, from a second output
 * of the ffmpeg process that decodes the 16 kHz mono windows (core/ffmpeg.ts); it agrees with ffmpeg's
 * `ebur128=peak=true` within a few hundredths of an LU and about 0.1 dB of true peak (test/file-loudness.test.ts).
 * Windows and the level curve read its 100-ms momentary and short-term series (windowLoudness, loudnessCurve).
 * A stereo file's K-weighting, and the oversampling of the blocks the true-peak screen keeps, run in WebAssembly SIMD
 * (loudness-kernel.wat), both channels in one vector: the same arithmetic as the scalar loops of the other layouts,
 * so the same figures, at about three times their speed.
 */

import { LOUDNESS_WASM_BASE64 } from './loudness-wasm.ts';

/** One biquad section: y = b0 x + b1 x1 + b2 x2 - a1 y1 - a2 y2. */
export interface Biquad {
  b0: number; b1: number; b2: number; a1: number; a2: number;
}

/**
 * The two K-weighting stages, designed for any sample rate from their analogue prototypes (bilinear
 * transform with pre-warping) — BS.1770 only tabulates the 48 kHz coefficients, and the pipeline runs at 16 kHz.
 */
export function kWeightingFilters(sampleRate: number): [Biquad, Biquad] {
  // Stage 1: the head's acoustic effect, a +4 dB high shelf around 1.68 kHz.
  const shelfHz = 1681.974450955533;
  const shelfGainDb = 3.999843853973347;
  const shelfQ = 0.7071752369554196;
  let k = Math.tan((Math.PI * shelfHz) / sampleRate);
  const vh = 10 ** (shelfGainDb / 20);
  const vb = vh ** 0.4996667741545416;
  let a0 = 1 + k / shelfQ + k * k;
  const shelf: Biquad = {
    b0: (vh + (vb * k) / shelfQ + k * k) / a0,
    b1: (2 * (k * k - vh)) / a0,
    b2: (vh - (vb * k) / shelfQ + k * k) / a0,
    a1: (2 * (k * k - 1)) / a0,
    a2: (1 - k / shelfQ + k * k) / a0,
  };
  // Stage 2: the RLB high-pass around 38 Hz.
  const highPassHz = 38.13547087602444;
  const highPassQ = 0.5003270373238773;
  k = Math.tan((Math.PI * highPassHz) / sampleRate);
  a0 = 1 + k / highPassQ + k * k;
  const highPass: Biquad = {
    b0: 1,
    b1: -2,
    b2: 1,
    a1: (2 * (k * k - 1)) / a0,
    a2: (1 - k / highPassQ + k * k) / a0,
  };
  return [shelf, highPass];
}

const ABSOLUTE_GATE_LUFS = -70;
const RELATIVE_GATE_LU = -10;
const LRA_RELATIVE_GATE_LU = -20;

/** Mean square of K-weighted samples → LUFS (mono: channel weight 1). */
export function meanSquareToLufs(meanSquare: number): number {
  return -0.691 + 10 * Math.log10(meanSquare);
}

/**
 * Integrated loudness of segments [from, to): 400-ms blocks (4 segments) every 100 ms, absolute gate at
 * -70 LUFS, relative gate 10 LU below the ungated mean. A range shorter than one block is measured as one
 * block. Returns null when nothing passes the absolute gate.
 */
export function integratedLoudness(
  energy: Float32Array, counts: Float32Array, from: number, to: number, segmentsPerBlock = 4,
): number | null {
  const blocks: number[] = [];
  if (to - from < segmentsPerBlock) {
    const meanSquare = rangeMeanSquare(energy, counts, from, to);
    if (meanSquare > 0) blocks.push(meanSquare);
  } else {
    for (let start = from; start + segmentsPerBlock <= to; start++) {
      blocks.push(rangeMeanSquare(energy, counts, start, start + segmentsPerBlock));
    }
  }
  const absoluteGate = lufsToMeanSquare(ABSOLUTE_GATE_LUFS);
  const aboveAbsolute = blocks.filter((z) => z > absoluteGate);
  if (aboveAbsolute.length === 0) return null;
  const relativeGate = mean(aboveAbsolute) * 10 ** (RELATIVE_GATE_LU / 10);
  const gated = aboveAbsolute.filter((z) => z > relativeGate);
  return meanSquareToLufs(mean(gated));
}

/**
 * EBU R128 loudness range: short-term (3 s) loudness every 100 ms, absolute gate -70 LUFS, relative gate
 * 20 LU below their mean, then the spread between the 10th and 95th percentiles. 0 when shorter than 3 s.
 */
export function loudnessRange(energy: Float32Array, counts: Float32Array, from: number, to: number): number {
  const shortTermSegments = 30;
  const blocks: number[] = [];
  for (let start = from; start + shortTermSegments <= to; start++) blocks.push(rangeMeanSquare(energy, counts, start, start + shortTermSegments));
  return rangeOfShortTerm(blocks);
}

function rangeMeanSquare(energy: Float32Array, counts: Float32Array, from: number, to: number): number {
  let sum = 0;
  let n = 0;
  for (let i = from; i < to; i++) {
    sum += energy[i];
    n += counts[i];
  }
  return n > 0 ? sum / n : 0;
}

function lufsToMeanSquare(lufs: number): number {
  return 10 ** ((lufs + 0.691) / 10);
}

function mean(values: number[]): number {
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

// ─── The file's loudness: its own channels at its own rate ───────────────────────────────────────────────

/**
 * BS.1770-4 measured on the file itself: integrated loudness, loudness range (EBU Tech 3342), true peak, and the
 * momentary / short-term series that windows and the level curve are read from.
 *
 * Series: index i is the 100-ms step ending at (i+1)·0.1 s (the last one ends at the file's end), as ffmpeg's
 * ebur128 reports them. Momentary = the 400 ms ending there, short-term = the 3 s ending there; before 0.4 s / 3 s
 * they cover the audio from the start (ebur128 pads with silence instead, which only makes its first values lower).
 * Values are LUFS with a floor of -120 (digital silence).
 */
export interface FileLoudness {
  /** Gated integrated loudness of the whole file; null when nothing passes the absolute gate (-70 LUFS). */
  integratedLufs: number | null;
  /** EBU Tech 3342 loudness range, LU; 0 for files shorter than 3 s or without gated blocks. */
  rangeLu: number;
  /** Highest true peak over the channels (4× oversampled), dBTP, floor -100. */
  truePeakDbtp: number;
  momentaryLufs: Float32Array;
  shortTermLufs: Float32Array;
}

const SERIES_FLOOR_LUFS = -120;
const TRUE_PEAK_FLOOR_DB = -100;
/** The surround weight of BS.1770-4 Table 3 (+1.5 dB). */
const SURROUND = 1.41;

/**
 * BS.1770 channel weights in ffmpeg's channel order for a layout as ffmpeg names it ("stereo", "5.1(side)"):
 * 1 for front channels, 1.41 for surround/back, 0 for LFE. An unknown layout weighs every channel 1.
 */
export function channelWeights(layout: string, channels: number): number[] {
  const S = SURROUND;
  const table: Record<string, number[]> = {
    mono: [1], stereo: [1, 1], '2.1': [1, 1, 0], '3.0': [1, 1, 1], '3.0(back)': [1, 1, S], '4.0': [1, 1, 1, S],
    quad: [1, 1, S, S], 'quad(side)': [1, 1, S, S], '3.1': [1, 1, 1, 0], '5.0': [1, 1, 1, S, S], '5.0(side)': [1, 1, 1, S, S],
    '4.1': [1, 1, 1, 0, S], '5.1': [1, 1, 1, 0, S, S], '5.1(side)': [1, 1, 1, 0, S, S], '6.0': [1, 1, 1, S, S, S],
    '6.0(front)': [1, 1, S, S, 1, 1], hexagonal: [1, 1, 1, S, S, S], '6.1': [1, 1, 1, 0, S, S, S], '6.1(back)': [1, 1, 1, 0, S, S, S],
    '6.1(front)': [1, 1, 0, S, S, 1, 1], '7.0': [1, 1, 1, S, S, S, S], '7.0(front)': [1, 1, 1, 1, 1, S, S],
    '7.1': [1, 1, 1, 0, S, S, S, S], '7.1(wide)': [1, 1, 1, 0, S, S, 1, 1], '7.1(wide-side)': [1, 1, 1, 0, 1, 1, S, S],
    octagonal: [1, 1, 1, S, S, S, S, S],
  };
  const known = table[layout.trim()];
  return known && known.length === channels ? known : Array.from({ length: channels }, () => 1);
}

/**
 * The 4× interpolating filter of BS.1770-4 Annex 2 (48 taps, 12 per phase). Phases 3 and 0, 2 and 1 are each
 * other reversed, so each pair is computed from the folded sums x[k] ± x[11-k].
 */
const TRUE_PEAK_PHASE_0 = [
  0.001708984375, 0.010986328125, -0.0196533203125, 0.033203125, -0.0594482421875, 0.1373291015625,
  0.97216796875, -0.102294921875, 0.047607421875, -0.026611328125, 0.014892578125, -0.00830078125,
];
const TRUE_PEAK_PHASE_1 = [
  -0.0291748046875, 0.029296875, -0.0517578125, 0.089111328125, -0.166503906250, 0.465087890625,
  0.77978515625, -0.2003173828125, 0.1015625, -0.0582275390625, 0.0330810546875, -0.0189208984375,
];
const foldEven = (h: number[]) => Array.from({ length: 6 }, (_, k) => (h[k] + h[11 - k]) / 2);
const foldOdd = (h: number[]) => Array.from({ length: 6 }, (_, k) => (h[k] - h[11 - k]) / 2);
const [S00, S01, S02, S03, S04, S05] = foldEven(TRUE_PEAK_PHASE_0);
const [D00, D01, D02, D03, D04, D05] = foldOdd(TRUE_PEAK_PHASE_0);
const [S10, S11, S12, S13, S14, S15] = foldEven(TRUE_PEAK_PHASE_1);
const [D10, D11, D12, D13, D14, D15] = foldOdd(TRUE_PEAK_PHASE_1);
/** No interpolated value exceeds this many times the largest input sample it is made from. */
const TRUE_PEAK_GAIN = Math.max(...[TRUE_PEAK_PHASE_0, TRUE_PEAK_PHASE_1].map((h) => h.reduce((sum, v) => sum + Math.abs(v), 0)));

/** Samples per true-peak screening block: a block is oversampled only if it could raise the running true peak. */
const SCREEN_BLOCK = 16;
/** Filter history carried from one run of samples to the next (the interpolator's 12 taps need 11 before). */
const HISTORY = 11;

/** Byte offsets in the stereo K-weighting kernel's memory (core/descriptors/loudness-kernel.wat). */
const KERNEL_STATE = 0;
const KERNEL_ENERGY = 64;
const KERNEL_RUN_MAX = 80;
const KERNEL_COEFFICIENTS = 96;
const KERNEL_TRUE_PEAK = 160;
const KERNEL_BLOCKS = 352;

interface KernelExports {
  memory: WebAssembly.Memory;
  pairInt16(input: number, frames: number, stride: number): void;
  pairFloat32(input: number, frames: number, stride: number): void;
  truePeak(input: number, frames: number, stride: number, float: number): number;
}

/**
 * The stereo K-weighting and true-peak oversampling in WebAssembly SIMD (both channels in the lanes of one f64x2
 * vector), compiled
 * synchronously on first use from the bytes embedded in loudness-wasm.ts (scripts/embed-wasm-kernels.ts says
 * why they are embedded). One instance serves every meter: each call runs to its end before the next, and a meter
 * hands it its own state and coefficients with each run.
 */
class StereoKernel {
  readonly exports: KernelExports;
  /** The memory as doubles: state, energies, run maxima, coefficients, true-peak coefficients, block maxima (see KERNEL_*). */
  f64: Float64Array;
  private i16: Int16Array;
  private f32: Float32Array;

  constructor() {
    const module = new WebAssembly.Module(Buffer.from(LOUDNESS_WASM_BASE64, 'base64'));
    this.exports = new WebAssembly.Instance(module, {}).exports as unknown as KernelExports;
    [this.f64, this.i16, this.f32] = this.views();
    this.f64.set([S00, S01, S02, S03, S04, S05, D00, D01, D02, D03, D04, D05, S10, S11, S12, S13, S14, S15, D10, D11, D12, D13, D14, D15], KERNEL_TRUE_PEAK / 8);
  }

  /**
   * Copies the samples into the memory from byte `at` (after the block maxima of the caller's longest run),
   * growing it as needed; returns `at`.
   */
  load(samples: Int16Array | Float32Array, at: number): number {
    const needed = at + samples.byteLength;
    const memory = this.exports.memory;
    if (memory.buffer.byteLength < needed) {
      memory.grow(Math.ceil((needed - memory.buffer.byteLength) / 65536));
      [this.f64, this.i16, this.f32] = this.views();
    }
    if (samples instanceof Int16Array) this.i16.set(samples, at / 2);
    else this.f32.set(samples, at / 4);
    return at;
  }

  private views(): [Float64Array, Int16Array, Float32Array] {
    const buffer = this.exports.memory.buffer;
    return [new Float64Array(buffer), new Int16Array(buffer), new Float32Array(buffer)];
  }
}

let stereoKernel: StereoKernel | undefined;

/**
 * Streams interleaved float samples of the file's channels in and measures them by BS.1770-4: K-weighting
 * designed for the file's rate, per-100-ms weighted energy (a 60-minute file keeps 36,000 numbers), and the true
 * peak per channel. A block of 16 samples whose neighbourhood stays below (running true peak ÷ the filter's
 * gain) cannot raise the true peak and is not oversampled: on music most of it, once the loud parts have begun.
 */
export class FileLoudnessMeter {
  readonly sampleRate: number;
  readonly channels: number;
  private readonly weights: Float64Array;
  private readonly filters: [Biquad, Biquad];
  /** Per channel: the K-weighting state (6 values). */
  private readonly state: Float64Array;
  /** Per channel: the last 11 samples, then the current run de-interleaved (stereo: the last 11 samples only). */
  private readonly scratch: Float64Array[];
  /** A stereo block to oversample and the 11 samples before it. */
  private readonly gathered = new Float64Array(HISTORY + SCREEN_BLOCK);
  /**
   * Per channel: the largest |sample| of each screening block of the current run, the last block before it first
   * (stereo: that last block only; the kernel keeps the run's blocks in its memory).
   */
  private readonly blockMax: Float64Array[];
  private readonly channelEnergy: Float64Array;
  private frames = 0;
  private segmentStart = 0;
  private segmentIndex = 0;
  private nextBoundary: number;
  private segmentEnergy = new Float64Array(1024);
  private segmentFrames = new Float64Array(1024);
  private segments = 0;
  private peak = 0;
  private pending: Float32Array | Int16Array | undefined;
  /** Stereo: the coefficients as the kernel reads them (b0, b1, b2, a1, a2 of the shelf, a1, a2 of the high-pass). */
  private readonly coefficients: Float64Array;
  /** Stereo: where this meter's samples go in the kernel's memory (after the block maxima of its longest run). */
  private readonly kernelInput: number;

  constructor(sampleRate: number, channels: number, weights?: number[]) {
    if (!(sampleRate > 0) || !(channels >= 1)) throw new RangeError(`cannot measure ${channels} channels at ${sampleRate} Hz`);
    this.sampleRate = sampleRate;
    this.channels = channels;
    this.weights = Float64Array.from(weights ?? channelWeights('', channels));
    this.filters = kWeightingFilters(sampleRate);
    this.state = new Float64Array(6 * channels);
    this.channelEnergy = new Float64Array(channels);
    this.nextBoundary = this.boundary(0);
    const longestRun = Math.ceil(sampleRate / 10) + 1;
    this.scratch = Array.from({ length: channels }, () => new Float64Array(HISTORY + longestRun));
    this.blockMax = Array.from({ length: channels }, () => new Float64Array(2 + Math.ceil(longestRun / SCREEN_BLOCK)));
    const [shelf, highPass] = this.filters;
    this.coefficients = Float64Array.of(shelf.b0, shelf.b1, shelf.b2, shelf.a1, shelf.a2, highPass.a1, highPass.a2);
    this.kernelInput = KERNEL_BLOCKS + 16 * (2 + Math.ceil(longestRun / SCREEN_BLOCK));
  }

  /**
   * Interleaved samples, any number of frames; a trailing partial frame waits for the next call. Integer samples
   * are multiplied by `scale` (e.g. 1/32768 for 16-bit full scale).
   */
  push(interleaved: Float32Array | Int16Array, scale = 1): void {
    let input = interleaved;
    if (this.pending) {
      const joined = input instanceof Int16Array ? new Int16Array(this.pending.length + input.length) : new Float32Array(this.pending.length + input.length);
      joined.set(this.pending);
      joined.set(input, this.pending.length);
      input = joined;
      this.pending = undefined;
    }
    // The stereo loop has no NaN guard of its own (16-bit input cannot hold one): a float input that does is
    // measured as a copy with zeros in their place.
    if (!(input instanceof Int16Array) && this.channels === 2 && hasNaN(input)) input = input.map((v) => (v === v ? v : 0));
    const channels = this.channels;
    const frames = Math.floor(input.length / channels);
    if (frames * channels < input.length) this.pending = input.slice(frames * channels);
    // Stereo samples are K-weighted by the kernel, from its own memory: one copy of each push.
    const kernelAt = channels === 2 && frames > 0 ? (stereoKernel ??= new StereoKernel()).load(input.subarray(0, 2 * frames), this.kernelInput) : 0;
    let f = 0;
    while (f < frames) {
      const run = Math.min(frames - f, this.nextBoundary - this.frames);
      this.measureRun(input, f, run, scale, kernelAt);
      f += run;
      this.frames += run;
      if (this.frames === this.nextBoundary) this.closeSegment();
    }
  }

  finish(): FileLoudness {
    if (this.frames > this.segmentStart) this.closeSegment();
    return summarize(this.segmentEnergy.subarray(0, this.segments), this.segmentFrames.subarray(0, this.segments), this.peak);
  }

  private boundary(segment: number): number {
    return Math.round(((segment + 1) * this.sampleRate) / 10);
  }

  private closeSegment(): void {
    let energy = 0;
    for (let c = 0; c < this.channels; c++) {
      energy += this.weights[c] * this.channelEnergy[c];
      this.channelEnergy[c] = 0;
    }
    if (this.segments === this.segmentEnergy.length) {
      const grow = (old: Float64Array) => {
        const next = new Float64Array(old.length * 2);
        next.set(old);
        return next;
      };
      this.segmentEnergy = grow(this.segmentEnergy);
      this.segmentFrames = grow(this.segmentFrames);
    }
    this.segmentEnergy[this.segments] = energy;
    this.segmentFrames[this.segments] = this.frames - this.segmentStart;
    this.segments++;
    this.segmentStart = this.frames;
    this.segmentIndex++;
    this.nextBoundary = this.boundary(this.segmentIndex);
  }

  /**
   * `run` frames from frame `from`: de-interleave, K-weight, screen and oversample, keep the history. Stereo input
   * is also in the kernel's memory from byte `kernelAt`.
   */
  private measureRun(input: Float32Array | Int16Array, from: number, run: number, scale: number, kernelAt: number): void {
    const channels = this.channels;
    if (channels === 2) {
      const frameBytes = 2 * input.BYTES_PER_ELEMENT;
      this.measurePair(input instanceof Int16Array, kernelAt + from * frameBytes, frameBytes, run, scale);
      this.screenPair(input, from, run, scale, kernelAt, frameBytes);
      return;
    }
    for (let c = 0; c < channels; c++) {
      this.deinterleave(input, from, run, c, scale);
      this.kWeight(c, run);
    }
    for (let c = 0; c < channels; c++) {
      const x = this.scratch[c];
      const blocks = this.blockMax[c];
      const count = Math.ceil(run / SCREEN_BLOCK);
      // Block b (its samples at HISTORY + b·16 …) is made from its own samples and the 11 before: within
      // blocks b-1 and b (blocks[0] is the last block of the previous run).
      for (let b = 0; b < count; b++) {
        if (TRUE_PEAK_GAIN * Math.max(blocks[b], blocks[b + 1]) > this.peak) {
          const start = HISTORY + b * SCREEN_BLOCK;
          this.interpolate(x, start, Math.min(HISTORY + run, start + SCREEN_BLOCK) - start);
        }
      }
      blocks[0] = blocks[count];
      // The last 11 samples become the next run's history.
      x.copyWithin(0, run, run + HISTORY);
    }
  }

  /**
   * The true-peak screen of a stereo run, on the block maxima the kernel left in its memory: only a block that
   * could raise the true peak (rare, once the loud parts have begun) is oversampled, both channels at once by the
   * kernel from its copy of the push, where the 11 frames before the block lie too. Only a push's first block,
   * whose history lies in the previous push, is gathered here with the last 11 samples of each channel and
   * oversampled by the scalar loop. A run none of whose blocks can raise the true peak is passed over whole.
   */
  private screenPair(input: Float32Array | Int16Array, from: number, run: number, scale: number, kernelAt: number, frameBytes: number): void {
    const count = Math.ceil(run / SCREEN_BLOCK);
    const kernel = stereoKernel!;
    const memory = kernel.f64;
    const blocks = KERNEL_BLOCKS / 8;
    const [lastLeft, lastRight] = this.blockMax;
    // Each comparison is the per-block one below, on the largest block maximum of the run.
    if (TRUE_PEAK_GAIN * Math.max(lastLeft[0], memory[KERNEL_RUN_MAX / 8] * scale) > this.peak
      || TRUE_PEAK_GAIN * Math.max(lastRight[0], memory[KERNEL_RUN_MAX / 8 + 1] * scale) > this.peak) {
      let beforeLeft = lastLeft[0];
      let beforeRight = lastRight[0];
      for (let b = 0; b < count; b++) {
        const maxLeft = memory[blocks + 2 * b] * scale;
        const maxRight = memory[blocks + 2 * b + 1] * scale;
        const left = TRUE_PEAK_GAIN * Math.max(beforeLeft, maxLeft) > this.peak;
        const right = TRUE_PEAK_GAIN * Math.max(beforeRight, maxRight) > this.peak;
        if (left || right) {
          const start = from + b * SCREEN_BLOCK;
          const frames = Math.min(run, (b + 1) * SCREEN_BLOCK) - b * SCREEN_BLOCK;
          if (start >= HISTORY) {
            const peak = kernel.exports.truePeak(kernelAt + start * frameBytes, frames, frameBytes, input instanceof Int16Array ? 0 : 1);
            this.peak = Math.max(this.peak, peak * scale);
          } else {
            // The block starts the run (b = 0): its 11 samples before are the previous run's last ones.
            const gathered = this.gathered;
            for (let c = 0; c < 2; c++) {
              if (!(c === 0 ? left : right)) continue;
              const history = this.scratch[c];
              for (let j = -HISTORY; j < frames; j++) gathered[j + HISTORY] = j < 0 ? history[HISTORY + j] : sampleAt(input, 2 * (from + j) + c, scale);
              this.interpolate(gathered, HISTORY, frames);
            }
          }
        }
        beforeLeft = maxLeft;
        beforeRight = maxRight;
      }
    }
    lastLeft[0] = memory[blocks + 2 * (count - 1)] * scale;
    lastRight[0] = memory[blocks + 2 * (count - 1) + 1] * scale;
    // The last 11 samples of each channel become the next run's history.
    for (let c = 0; c < 2; c++) {
      const history = this.scratch[c];
      if (run >= HISTORY) {
        for (let k = 0; k < HISTORY; k++) history[k] = sampleAt(input, 2 * (from + run - HISTORY + k) + c, scale);
      } else {
        history.copyWithin(0, run, HISTORY);
        for (let k = 0; k < run; k++) history[HISTORY - run + k] = sampleAt(input, 2 * (from + k) + c, scale);
      }
    }
  }

  private deinterleave(input: Float32Array | Int16Array, from: number, run: number, c: number, scale: number): void {
    const stride = this.channels;
    const x = this.scratch[c];
    const blocks = this.blockMax[c];
    let peak = this.peak;
    let at = from * stride + c;
    for (let start = 0, b = 1; start < run; start += SCREEN_BLOCK, b++) {
      const end = Math.min(run, start + SCREEN_BLOCK);
      let blockPeak = 0;
      for (let j = start; j < end; j++, at += stride) {
        let v = input[at] * scale;
        if (!(v === v)) v = 0; // NaN guard: keep every number finite
        x[HISTORY + j] = v;
        const magnitude = v < 0 ? -v : v;
        if (magnitude > blockPeak) blockPeak = magnitude;
      }
      blocks[b] = blockPeak;
      if (blockPeak > peak) peak = blockPeak;
    }
    this.peak = peak;
  }

  private kWeight(c: number, run: number): void {
    const [shelf, highPass] = this.filters;
    const { b0, b1, b2, a1, a2 } = shelf;
    const h1 = highPass.a1;
    const h2 = highPass.a2;
    const st = this.state;
    const o = 6 * c;
    let s1x1 = st[o], s1x2 = st[o + 1], s1y1 = st[o + 2], s1y2 = st[o + 3], s2y1 = st[o + 4], s2y2 = st[o + 5];
    let energy = 0;
    const x = this.scratch[c];
    const end = HISTORY + run;
    for (let i = HISTORY; i < end; i++) {
      const v = x[i];
      const y1 = b0 * v + b1 * s1x1 + b2 * s1x2 - a1 * s1y1 - a2 * s1y2;
      const y2 = y1 - 2 * s1y1 + s1y2 - h1 * s2y1 - h2 * s2y2;
      s1x2 = s1x1; s1x1 = v; s2y2 = s2y1; s2y1 = y2; s1y2 = s1y1; s1y1 = y1;
      energy += y2 * y2;
    }
    st[o] = s1x1; st[o + 1] = s1x2; st[o + 2] = s1y1; st[o + 3] = s1y2; st[o + 4] = s2y1; st[o + 5] = s2y2;
    this.channelEnergy[c] += energy;
  }

  /**
   * A stereo run in one pass of the kernel (loudness-kernel.wat): both channels' K-weighting in the two lanes of
   * SIMD vectors, their energies, and the largest |sample| of each screening block. 16-bit samples go in unscaled
   * (no NaN to guard, no scaling per sample): the filters are linear, so their state is scaled in and out once per
   * run, and the energies and maxima once at the end. Each stage runs in transposed direct form II
   * (Oppenheim & Schafer §6.4).
   */
  private measurePair(int16: boolean, at: number, frameBytes: number, run: number, scale: number): void {
    const kernel = stereoKernel!;
    const memory = kernel.f64;
    const st = this.state;
    const unscale = 1 / scale;
    // The kernel's state: shelf s1, s2, then the high-pass's, each as (first channel, second channel).
    for (let j = 0; j < 4; j++) {
      memory[KERNEL_STATE / 8 + 2 * j] = st[j] * unscale;
      memory[KERNEL_STATE / 8 + 2 * j + 1] = st[6 + j] * unscale;
    }
    memory.set(this.coefficients, KERNEL_COEFFICIENTS / 8);
    if (int16) kernel.exports.pairInt16(at, run, frameBytes);
    else kernel.exports.pairFloat32(at, run, frameBytes);
    for (let j = 0; j < 4; j++) {
      st[j] = memory[KERNEL_STATE / 8 + 2 * j] * scale;
      st[6 + j] = memory[KERNEL_STATE / 8 + 2 * j + 1] * scale;
    }
    this.channelEnergy[0] += memory[KERNEL_ENERGY / 8] * scale * scale;
    this.channelEnergy[1] += memory[KERNEL_ENERGY / 8 + 1] * scale * scale;
    this.peak = Math.max(this.peak, memory[KERNEL_RUN_MAX / 8] * scale, memory[KERNEL_RUN_MAX / 8 + 1] * scale);
  }

  /**
   * The 4 interpolated values after each of `count` samples of one channel, from index `first` (as newest sample)
   * and the 11 before it, `stride` apart (1 for a de-interleaved channel, the channel count for interleaved input);
   * in input units times `scale`: the filter is linear, so the result is scaled once. Callers have replaced any NaN
   * of a float input by then.
   */
  private interpolate(x: Float64Array | Float32Array | Int16Array, first: number, count: number, stride = 1, scale = 1): void {
    let x1 = x[first - stride], x2 = x[first - 2 * stride], x3 = x[first - 3 * stride], x4 = x[first - 4 * stride];
    let x5 = x[first - 5 * stride], x6 = x[first - 6 * stride], x7 = x[first - 7 * stride], x8 = x[first - 8 * stride];
    let x9 = x[first - 9 * stride], x10 = x[first - 10 * stride], x11 = x[first - 11 * stride];
    let peak = this.peak / scale;
    const end = first + stride * count;
    for (let i = first; i < end; i += stride) {
      const x0 = x[i];
      const a0 = x0 + x11, a1 = x1 + x10, a2 = x2 + x9, a3 = x3 + x8, a4 = x4 + x7, a5 = x5 + x6;
      const e0 = x0 - x11, e1 = x1 - x10, e2 = x2 - x9, e3 = x3 - x8, e4 = x4 - x7, e5 = x5 - x6;
      const sum0 = S00 * a0 + S01 * a1 + S02 * a2 + S03 * a3 + S04 * a4 + S05 * a5;
      const dif0 = D00 * e0 + D01 * e1 + D02 * e2 + D03 * e3 + D04 * e4 + D05 * e5;
      const sum1 = S10 * a0 + S11 * a1 + S12 * a2 + S13 * a3 + S14 * a4 + S15 * a5;
      const dif1 = D10 * e0 + D11 * e1 + D12 * e2 + D13 * e3 + D14 * e4 + D15 * e5;
      // Phases 0 and 3 are sum0 ± dif0, phases 1 and 2 sum1 ± dif1; the larger magnitude of s ± d is |s| + |d|.
      const m0 = Math.abs(sum0) + Math.abs(dif0);
      const m1 = Math.abs(sum1) + Math.abs(dif1);
      if (m0 > peak) peak = m0;
      if (m1 > peak) peak = m1;
      x11 = x10; x10 = x9; x9 = x8; x8 = x7; x7 = x6; x6 = x5; x5 = x4; x4 = x3; x3 = x2; x2 = x1; x1 = x0;
    }
    this.peak = Math.max(this.peak, peak * scale);
  }
}

function hasNaN(values: Float32Array): boolean {
  for (let i = 0; i < values.length; i++) if (!(values[i] === values[i])) return true;
  return false;
}

/** Sample `index` of the interleaved input in full scale; NaN reads as 0. */
function sampleAt(input: Float32Array | Int16Array, index: number, scale: number): number {
  const v = input[index] * scale;
  return v === v ? v : 0;
}

/** Momentary and short-term series, integrated loudness and range from the per-segment weighted energies. */
function summarize(energy: Float64Array, frames: Float64Array, peak: number): FileLoudness {
  const n = energy.length;
  const prefixEnergy = new Float64Array(n + 1);
  const prefixFrames = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    prefixEnergy[i + 1] = prefixEnergy[i] + energy[i];
    prefixFrames[i + 1] = prefixFrames[i] + frames[i];
  }
  const blockMeanSquare = (i: number, segments: number) => {
    const from = Math.max(0, i + 1 - segments);
    const count = prefixFrames[i + 1] - prefixFrames[from];
    return count > 0 ? Math.max(0, prefixEnergy[i + 1] - prefixEnergy[from]) / count : 0;
  };
  const toSeries = (z: number) => (z > 0 ? Math.max(SERIES_FLOOR_LUFS, meanSquareToLufs(z)) : SERIES_FLOOR_LUFS);
  const momentary = new Float32Array(n);
  const shortTerm = new Float32Array(n);
  const momentaryBlocks: number[] = [];
  const shortTermBlocks: number[] = [];
  for (let i = 0; i < n; i++) {
    const m = blockMeanSquare(i, 4);
    const s = blockMeanSquare(i, 30);
    momentary[i] = toSeries(m);
    shortTerm[i] = toSeries(s);
    if (i >= 3) momentaryBlocks.push(m);
    if (i >= 29) shortTermBlocks.push(s);
  }
  // A file shorter than one 400-ms block is measured as one block.
  if (momentaryBlocks.length === 0 && n > 0) momentaryBlocks.push(blockMeanSquare(n - 1, n));
  return {
    integratedLufs: gatedLoudness(momentaryBlocks),
    rangeLu: rangeOfShortTerm(shortTermBlocks),
    truePeakDbtp: peak > 0 ? Math.max(TRUE_PEAK_FLOOR_DB, 20 * Math.log10(peak)) : TRUE_PEAK_FLOOR_DB,
    momentaryLufs: momentary,
    shortTermLufs: shortTerm,
  };
}

/** BS.1770-4 gating of block mean squares: absolute gate -70 LUFS, relative gate 10 LU below the ungated mean. */
function gatedLoudness(blocks: number[]): number | null {
  const absoluteGate = lufsToMeanSquare(ABSOLUTE_GATE_LUFS);
  const aboveAbsolute = blocks.filter((z) => z > absoluteGate);
  if (aboveAbsolute.length === 0) return null;
  const relativeGate = mean(aboveAbsolute) * 10 ** (RELATIVE_GATE_LU / 10);
  return meanSquareToLufs(mean(aboveAbsolute.filter((z) => z > relativeGate)));
}

/** EBU Tech 3342 over short-term block mean squares: gates -70 LUFS and -20 LU, then 95th − 10th percentile. */
function rangeOfShortTerm(blocks: number[]): number {
  const absoluteGate = lufsToMeanSquare(ABSOLUTE_GATE_LUFS);
  const values = blocks.filter((z) => z > absoluteGate);
  if (values.length === 0) return 0;
  const relativeGate = mean(values) * 10 ** (LRA_RELATIVE_GATE_LU / 10);
  const loudness = values.filter((z) => z > relativeGate).map(meanSquareToLufs).sort((a, b) => a - b);
  if (loudness.length === 0) return 0;
  const percentile = (p: number) => loudness[Math.min(loudness.length - 1, Math.round((p / 100) * (loudness.length - 1)))];
  return Math.max(0, percentile(95) - percentile(10));
}

const STEP_SEC = 0.1;
const EPSILON_SEC = 1e-6;

/**
 * A window's loudness from the file's series: BS.1770 gating (absolute -70, relative -10) over the momentary
 * 400-ms blocks (75 % overlap) that lie wholly inside [startSec, endSec], and the highest short-term (3 s) value
 * whose 3 s lie inside it. A window shorter than a block takes the blocks that end inside it.
 */
export function windowLoudness(file: FileLoudness, startSec: number, endSec: number): { loudnessLufs: number | null; shortTermMaxLufs: number | null } {
  const n = file.momentaryLufs.length;
  if (n === 0) return { loudnessLufs: null, shortTermMaxLufs: null };
  // Step i ends at (i+1)·0.1 s; the last step of the file ends at its end, within 0.1 s of n·0.1.
  const last = Math.max(0, Math.min(n - 1, Math.ceil(endSec / STEP_SEC - EPSILON_SEC) - 1));
  const first = (blockSec: number) => {
    const whole = Math.max(0, Math.ceil((startSec + blockSec) / STEP_SEC - EPSILON_SEC) - 1);
    if (whole <= last) return whole;
    return Math.min(last, Math.max(0, Math.floor(startSec / STEP_SEC + EPSILON_SEC)));
  };
  const blocks: number[] = [];
  for (let i = first(0.4); i <= last; i++) blocks.push(lufsToMeanSquare(file.momentaryLufs[i]));
  let shortTermMax = -Infinity;
  for (let i = first(3); i <= last; i++) shortTermMax = Math.max(shortTermMax, file.shortTermLufs[i]);
  return {
    loudnessLufs: gatedLoudness(blocks),
    shortTermMaxLufs: shortTermMax > ABSOLUTE_GATE_LUFS ? shortTermMax : null,
  };
}

/** The track's level curve: the short-term loudness of the 3 s ending at each whole second (the last at the file's end), floor -70, 1 decimal. */
export function loudnessCurve(file: FileLoudness): number[] {
  const n = file.shortTermLufs.length;
  const curve: number[] = [];
  for (let k = 0; k * 10 < n; k++) {
    const value = file.shortTermLufs[Math.min(n - 1, 10 * k + 9)];
    curve.push(Math.round(Math.max(ABSOLUTE_GATE_LUFS, value) * 10) / 10);
  }
  return curve;
}

/**
 * The same summary from K-weighted energies already kept per 100-ms segment (the 16 kHz mono fallback of
 * TrackAnalyzer, when no file loudness is given). Its "true peak" is the sample peak given: nothing is oversampled.
 */
export function loudnessFromSegments(weightedEnergy: ArrayLike<number>, counts: ArrayLike<number>, samplePeak: number): FileLoudness {
  return summarize(Float64Array.from(weightedEnergy), Float64Array.from(counts), samplePeak);
}
