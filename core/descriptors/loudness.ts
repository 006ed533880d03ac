/**
 * ITU-R BS.1770-4 loudness and EBU Tech 3342 loudness range, computed from K-weighted energy kept per
 * 100-ms segment (the gating step), so a stream never needs its samples twice.
 */

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
  const absoluteGate = lufsToMeanSquare(ABSOLUTE_GATE_LUFS);
  const values: number[] = [];
  for (let start = from; start + shortTermSegments <= to; start++) {
    const z = rangeMeanSquare(energy, counts, start, start + shortTermSegments);
    if (z > absoluteGate) values.push(z);
  }
  if (values.length === 0) return 0;
  const relativeGate = mean(values) * 10 ** (LRA_RELATIVE_GATE_LU / 10);
  const loudness = values.filter((z) => z > relativeGate).map(meanSquareToLufs).sort((a, b) => a - b);
  if (loudness.length === 0) return 0;
  const percentile = (p: number) => loudness[Math.min(loudness.length - 1, Math.round((p / 100) * (loudness.length - 1)))];
  return Math.max(0, percentile(95) - percentile(10));
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
const [P0S, P0D, P1S, P1D] = [foldEven(TRUE_PEAK_PHASE_0), foldOdd(TRUE_PEAK_PHASE_0), foldEven(TRUE_PEAK_PHASE_1), foldOdd(TRUE_PEAK_PHASE_1)];
/** No interpolated value exceeds this many times the largest input sample it is made from. */
const TRUE_PEAK_GAIN = Math.max(...[TRUE_PEAK_PHASE_0, TRUE_PEAK_PHASE_1].map((h) => h.reduce((sum, v) => sum + Math.abs(v), 0)));

/**
 * Streams interleaved float samples of the file's channels in and measures them by BS.1770-4: K-weighting
 * designed for the file's rate, per-100-ms weighted energy (a 60-minute file keeps 36,000 numbers), and the true
 * peak per channel. A 100-ms segment whose samples are all below (running true peak ÷ the filter's gain) cannot
 * raise the true peak and is not oversampled.
 */
export class FileLoudnessMeter {
  readonly sampleRate: number;
  readonly channels: number;
  private readonly weights: Float64Array;
  private readonly filters: [Biquad, Biquad];
  /** Per channel: the filter state (6 values) and the last 11 input samples (oldest first) for the true peak. */
  private readonly state: Float64Array;
  private readonly tail: Float64Array;
  private readonly tailMax: Float64Array;
  private readonly channelEnergy: Float64Array;
  private frames = 0;
  private segmentStart = 0;
  private segmentIndex = 0;
  private nextBoundary: number;
  private segmentEnergy = new Float64Array(1024);
  private segmentFrames = new Float64Array(1024);
  private segments = 0;
  private peak = 0;
  private pending: Float32Array | undefined;

  constructor(sampleRate: number, channels: number, weights?: number[]) {
    if (!(sampleRate > 0) || !(channels >= 1)) throw new RangeError(`cannot measure ${channels} channels at ${sampleRate} Hz`);
    this.sampleRate = sampleRate;
    this.channels = channels;
    this.weights = Float64Array.from(weights ?? channelWeights('', channels));
    this.filters = kWeightingFilters(sampleRate);
    this.state = new Float64Array(6 * channels);
    this.tail = new Float64Array(11 * channels);
    this.tailMax = new Float64Array(channels);
    this.channelEnergy = new Float64Array(channels);
    this.nextBoundary = this.boundary(0);
  }

  /** Interleaved samples, any number of frames; a trailing partial frame waits for the next call. */
  push(interleaved: Float32Array): void {
    let input = interleaved;
    if (this.pending) {
      const joined = new Float32Array(this.pending.length + input.length);
      joined.set(this.pending);
      joined.set(input, this.pending.length);
      input = joined;
      this.pending = undefined;
    }
    const channels = this.channels;
    const frames = Math.floor(input.length / channels);
    if (frames * channels < input.length) this.pending = input.slice(frames * channels);
    let f = 0;
    while (f < frames) {
      const run = Math.min(frames - f, this.nextBoundary - this.frames);
      for (let c = 0; c < channels; c++) this.runChannel(input, f, run, c);
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

  /** K-weighted energy and true peak of `run` frames of channel `c`, starting at frame `from`. */
  private runChannel(input: Float32Array, from: number, run: number, c: number): void {
    const stride = this.channels;
    const [shelf, highPass] = this.filters;
    const { b0, b1, b2, a1, a2 } = shelf;
    const h1 = highPass.a1;
    const h2 = highPass.a2;
    const st = this.state;
    const o = 6 * c;
    let s1x1 = st[o], s1x2 = st[o + 1], s1y1 = st[o + 2], s1y2 = st[o + 3], s2y1 = st[o + 4], s2y2 = st[o + 5];
    let energy = 0;
    let runMax = 0;
    const end = (from + run) * stride + c;
    for (let i = from * stride + c; i < end; i += stride) {
      let x = input[i];
      if (!(x === x)) x = 0;
      const y1 = b0 * x + b1 * s1x1 + b2 * s1x2 - a1 * s1y1 - a2 * s1y2;
      const y2 = y1 - 2 * s1y1 + s1y2 - h1 * s2y1 - h2 * s2y2;
      s1x2 = s1x1; s1x1 = x; s2y2 = s2y1; s2y1 = y2; s1y2 = s1y1; s1y1 = y1;
      energy += y2 * y2;
      const magnitude = x < 0 ? -x : x;
      if (magnitude > runMax) runMax = magnitude;
    }
    st[o] = s1x1; st[o + 1] = s1x2; st[o + 2] = s1y1; st[o + 3] = s1y2; st[o + 4] = s2y1; st[o + 5] = s2y2;
    this.channelEnergy[c] += energy;
    if (runMax > this.peak) this.peak = runMax;
    // Interpolated values here are made from this run and the 11 samples before it.
    if (TRUE_PEAK_GAIN * Math.max(runMax, this.tailMax[c]) > this.peak) this.interpolate(input, from, run, c);
    else this.keepTail(input, from, run, c);
    this.tailMax[c] = runMax;
  }

  private interpolate(input: Float32Array, from: number, run: number, c: number): void {
    const stride = this.channels;
    const t = this.tail;
    const o = 11 * c;
    // x0 is the newest sample, x11 the oldest.
    let x1 = t[o + 10], x2 = t[o + 9], x3 = t[o + 8], x4 = t[o + 7], x5 = t[o + 6], x6 = t[o + 5];
    let x7 = t[o + 4], x8 = t[o + 3], x9 = t[o + 2], x10 = t[o + 1], x11 = t[o];
    const [s00, s01, s02, s03, s04, s05] = P0S, [d00, d01, d02, d03, d04, d05] = P0D;
    const [s10, s11, s12, s13, s14, s15] = P1S, [d10, d11, d12, d13, d14, d15] = P1D;
    let peak = this.peak;
    const end = (from + run) * stride + c;
    for (let i = from * stride + c; i < end; i += stride) {
      let x0 = input[i];
      if (!(x0 === x0)) x0 = 0;
      const a0 = x0 + x11, a1 = x1 + x10, a2 = x2 + x9, a3 = x3 + x8, a4 = x4 + x7, a5 = x5 + x6;
      const e0 = x0 - x11, e1 = x1 - x10, e2 = x2 - x9, e3 = x3 - x8, e4 = x4 - x7, e5 = x5 - x6;
      const sum0 = s00 * a0 + s01 * a1 + s02 * a2 + s03 * a3 + s04 * a4 + s05 * a5;
      const dif0 = d00 * e0 + d01 * e1 + d02 * e2 + d03 * e3 + d04 * e4 + d05 * e5;
      const sum1 = s10 * a0 + s11 * a1 + s12 * a2 + s13 * a3 + s14 * a4 + s15 * a5;
      const dif1 = d10 * e0 + d11 * e1 + d12 * e2 + d13 * e3 + d14 * e4 + d15 * e5;
      const m0 = Math.abs(sum0) + Math.abs(dif0);
      const m1 = Math.abs(sum1) + Math.abs(dif1);
      // |s + d| and |s - d| are both at most |s| + |d|, reached by one of them: max(|s+d|, |s-d|) = |s| + |d|.
      if (m0 > peak) peak = m0;
      if (m1 > peak) peak = m1;
      x11 = x10; x10 = x9; x9 = x8; x8 = x7; x7 = x6; x6 = x5; x5 = x4; x4 = x3; x3 = x2; x2 = x1; x1 = x0;
    }
    this.peak = peak;
    t[o] = x11; t[o + 1] = x10; t[o + 2] = x9; t[o + 3] = x8; t[o + 4] = x7; t[o + 5] = x6;
    t[o + 6] = x5; t[o + 7] = x4; t[o + 8] = x3; t[o + 9] = x2; t[o + 10] = x1;
  }

  private keepTail(input: Float32Array, from: number, run: number, c: number): void {
    const stride = this.channels;
    const t = this.tail;
    const o = 11 * c;
    const keep = Math.min(11, run);
    // Shift the old tail left by `keep`, then append the run's last `keep` samples.
    for (let k = 0; k < 11 - keep; k++) t[o + k] = t[o + k + keep];
    for (let k = 0; k < keep; k++) {
      const x = input[(from + run - keep + k) * stride + c];
      t[o + 11 - keep + k] = x === x ? x : 0;
    }
  }
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
