/**
 * `npx tsx bench/fft.ts`: the descriptors' FFT (core/descriptors/fft.ts) on its real call patterns over 3 minutes
 * of 16 kHz audio, in ms per 3 minutes (best of 9, so a busy shared machine disturbs it less):
 *
 *   short frames   512-point power spectrum every 160 samples (frames.ts, 100 a second)
 *   timbre         512-point power spectrum, 4 per 8192 samples (timbre.ts)
 *   chroma         8192-point spectrum back to back, bins up to 5 kHz + 24 (chroma.ts)
 *
 * Options: --reps <n> (default 9).
 */
import { CHROMA_DEFAULTS } from '../core/descriptors/chroma.ts';
import { RealFft } from '../core/descriptors/fft.ts';
import { hann, nextPowerOfTwo } from '../core/descriptors/frames.ts';

const args = process.argv.slice(2);
const repsIndex = args.indexOf('--reps');
const reps = repsIndex >= 0 ? Number(args[repsIndex + 1]) : 9;

const SAMPLE_RATE = 16_000;
const SECONDS = 180;
// Music-like input: a few partials and some noise (the FFT's cost does not depend on the content).
const audio = new Float32Array(SAMPLE_RATE * SECONDS);
let seed = 1;
for (let i = 0; i < audio.length; i++) {
  seed = (seed * 1664525 + 1013904223) >>> 0;
  audio[i] = 0.3 * Math.sin(i * 0.0866) + 0.2 * Math.sin(i * 0.173) + 0.1 * (seed / 2 ** 32 - 0.5);
}

interface Pattern { name: string; size: number; hop: number; lastBin?: number }
const shortSize = nextPowerOfTwo(Math.round(SAMPLE_RATE * 0.032));
const chromaSize = nextPowerOfTwo(Math.round(SAMPLE_RATE * 0.5));
const patterns: Pattern[] = [
  { name: `short frames (${shortSize}-point power, hop ${SAMPLE_RATE / 100})`, size: shortSize, hop: SAMPLE_RATE / 100 },
  { name: `timbre (${shortSize}-point power, 4 per ${chromaSize})`, size: shortSize, hop: chromaSize / 4 },
  {
    name: `chroma (${chromaSize}-point spectrum, back to back)`, size: chromaSize, hop: chromaSize,
    lastBin: Math.ceil(CHROMA_DEFAULTS.maxHz / (SAMPLE_RATE / chromaSize)) + 25,
  },
];

let total = 0;
for (const { name, size, hop, lastBin } of patterns) {
  const fft = new RealFft(size);
  const window = hann(size);
  const out = new Float64Array(size + 2);
  let frames = 0;
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    frames = 0;
    const started = performance.now();
    for (let start = 0; start + size <= audio.length; start += hop) {
      if (lastBin === undefined) fft.power(audio, start, window, out);
      else fft.transform(audio, start, window, out, lastBin);
      frames++;
    }
    best = Math.min(best, performance.now() - started);
  }
  total += best;
  console.log(`${name.padEnd(48)} ${String(frames).padStart(6)} frames  ${best.toFixed(1).padStart(7)} ms  ${((best * 1000) / frames).toFixed(2).padStart(6)} µs/frame`);
}
console.log(`${'all three, per 3 minutes'.padEnd(48)} ${''.padStart(13)} ${total.toFixed(1).padStart(7)} ms`);
