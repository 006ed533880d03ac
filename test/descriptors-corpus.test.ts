/**
 * A small slice of the `npm run bench:descriptors` corpus, synthesised by ffmpeg into a temp dir, held to
 * the bench's thresholds so an accuracy regression fails CI.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TrackAnalyzer } from '../core/descriptors/index.ts';
import {
  DRUM_PATTERNS, PITCH_CLASS_NAMES, TIMBRES, decode, ffmpegEbur128, makeKeyItem, makeLevelItem, makeTempoItem,
  tempoCorrect, tenSecondWindows,
} from '../bench/lib/descriptor-corpus.ts';

function analyze(samples: Float32Array) {
  const analyzer = new TrackAnalyzer();
  for (let i = 0; i < samples.length; i += 8192) analyzer.push(samples.subarray(i, i + 8192));
  return analyzer.finish(tenSecondWindows(samples.length / 16_000));
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'descriptor-corpus-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('descriptor accuracy on a slice of the synthesised corpus', () => {
  it('finds every tempo within ±3 % without octave errors (rock 72, four-on-the-floor 125, waltz 152, syncopated 80 and 170)', async () => {
    // Prepare
    const items = await Promise.all([
      makeTempoItem(dir, DRUM_PATTERNS[0], 72, 12),
      makeTempoItem(dir, DRUM_PATTERNS[1], 125, 12),
      makeTempoItem(dir, DRUM_PATTERNS[3], 152, 12),
      makeTempoItem(dir, DRUM_PATTERNS[2], 80, 12),
      makeTempoItem(dir, DRUM_PATTERNS[2], 170, 12),
    ]);
    // Act
    const measured = await Promise.all(items.map(async (item) => analyze((await decode(item.file)).samples).track.bpm));
    // Assess
    const right = items.filter((item, i) => tempoCorrect(measured[i], item.bpm)).length;
    expect({ measured, share: right / items.length }).toEqual({ measured, share: 1 });
  });

  it('names every key exactly, mode included, across timbres', async () => {
    // Prepare
    const items = await Promise.all([
      makeKeyItem(dir, 6, 'minor', 0, TIMBRES[1], 8),
      makeKeyItem(dir, 10, 'major', 1, TIMBRES[2], 8),
      makeKeyItem(dir, 4, 'minor', 2, TIMBRES[3], 8, 100),
    ]);
    // Act
    const keys = await Promise.all(items.map(async (item) => analyze((await decode(item.file)).samples).track.key));
    // Assess
    expect(keys).toEqual(items.map((item) => `${PITCH_CLASS_NAMES[item.tonic]} ${item.mode}`));
  });

  it('agrees with ffmpeg ebur128 within 1 LU at -30 and -6 dBFS', async () => {
    // Prepare
    const source = await makeTempoItem(dir, DRUM_PATTERNS[0], 100, 8);
    let peak = 0;
    for (const s of (await decode(source.file)).samples) peak = Math.max(peak, Math.abs(s));
    const levels = await Promise.all([-30, -6].map((level) => makeLevelItem(dir, source.file, 20 * Math.log10(peak), level)));
    for (const level of levels) {
      // Act
      const ours = analyze((await decode(level.file)).samples).track;
      const reference = await ffmpegEbur128(level.file);
      // Assess
      expect(ours.loudnessLufs).not.toBeNull();
      expect(Math.abs(ours.loudnessLufs! - reference.integrated)).toBeLessThanOrEqual(1);
      expect(Math.abs(ours.peakDbfs - level.peakDbfs)).toBeLessThanOrEqual(0.5);
    }
  });
});
