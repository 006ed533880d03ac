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
