/**
 * The song's sections (issue 10): bad input gives one section, never a failure; real music cut in known orders
 * (excerpts of the CI slice of the real corpus, A B A B C A …, through the product's own preprocess) gets its
 * boundaries and repeats back, scored as `npm run bench:descriptors` scores them (bench/lib/eval-structure.ts).
 *
 * The real-music part needs the CI slice (`npm run corpus:real -- --slice`): skipped with a note on a developer's
 * machine without it, failing in CI (CI is set), where .ci/run builds it.
 */
import Ajv from 'ajv';
import path from 'node:path';
import manifestSchema from '../core/schema/manifest.schema.json';
import { TrackAnalyzer } from '../core/descriptors/index.ts';
import { findLoop, nameSections } from '../core/descriptors/sections.ts';
import type { SongSection } from '../core/descriptors/types.ts';
import { evaluateStructure, type StructureScore, type StructureSummary } from '../bench/lib/eval-structure.ts';
import { loadRealCorpus } from '../bench/lib/real-corpus.ts';
import { FFMPEG, ffmpeg, makeSong, makeTone, referenceDecode, tempDir } from './helpers/audio.ts';

const validateSections = new Ajv({ allErrors: true }).compile(manifestSchema.properties.sections);

function sectionsOf(file: string): { sections: SongSection[]; durationSec: number } {
  const samples = referenceDecode(file);
  const analyzer = new TrackAnalyzer(16_000);
  for (let i = 0; i < samples.length; i += 65_536) analyzer.push(samples.subarray(i, i + 65_536));
  return { sections: analyzer.finish([]).sections, durationSec: samples.length / 16_000 };
}

function expectCoverage(sections: SongSection[], durationSec: number): void {
  expect(validateSections(sections)).toBe(true);
  expect(sections[0].startSec).toBe(0);
  expect(sections[sections.length - 1].endSec).toBeCloseTo(durationSec, 2);
  sections.forEach((s, i) => {
    expect(s.index).toBe(i);
    expect(s.endSec).toBeGreaterThan(s.startSec);
    if (i > 0) expect(s.startSec).toBe(sections[i - 1].endSec);
  });
}

describe('sections of input with no structure', () => {
  const dir = tempDir('sections-');

  it.each([
    ['a minute-and-a-half drone', () => makeTone(path.join(dir, 'drone.wav'), 90, 110)],
    ['a minute of silence', () => { ffmpeg(['-f', 'lavfi', '-i', 'anullsrc=r=44100:cl=stereo', '-t', '60', path.join(dir, 'silence.wav')]); return path.join(dir, 'silence.wav'); }],
    ['a 3-second clip', () => makeTone(path.join(dir, 'clip.wav'), 3)],
    ['a minute and a half of white noise', () => { ffmpeg(['-f', 'lavfi', '-i', 'anoisesrc=d=90:a=0.2:seed=3', path.join(dir, 'noise.wav')]); return path.join(dir, 'noise.wav'); }],
    ['a steady one-minute loop', () => makeSong(path.join(dir, 'loop.wav'), 60, { bpm: 100 })],
  ])('gives %s one section covering all of it', (_, make) => {
    // Prepare
    const file = make();
    // Act
    const { sections, durationSec } = sectionsOf(file);
    // Assess
    expect(sections).toHaveLength(1);
    expect(sections[0].label).toBe('A');
    expect(sections[0].name).toBeNull();
    expectCoverage(sections, durationSec);
  });

  it('finds a loud song, a silent break and the song again, and labels the two halves alike', () => {
    // Prepare: 40 s of a song, 30 s of silence, the same 40 s again.
    const song = makeSong(path.join(dir, 'song.wav'), 40, { bpm: 120 });
    const file = path.join(dir, 'song-break-song.wav');
    ffmpeg(['-i', song, '-f', 'lavfi', '-t', '30', '-i', 'anullsrc=r=44100:cl=stereo', '-i', song,
      '-filter_complex', '[0:a][1:a][2:a]concat=n=3:v=0:a=1[out]', '-map', '[out]', file]);
    // Act
    const { sections, durationSec } = sectionsOf(file);
    // Assess
    expectCoverage(sections, durationSec);
    expect(sections.map((s) => s.label).join('')).toBe('ABA');
    expect(sections[1].startSec).toBeGreaterThan(37);
    expect(sections[1].startSec).toBeLessThan(43);
    expect(sections[2].startSec).toBeGreaterThan(67);
    expect(sections[2].startSec).toBeLessThan(73);
    expect(sections[1].tags.loudnessLufs).toBeNull();
    expect(sections[0].tags.energy).toBeGreaterThan(0.5);
    expect(sections[1].tags.energy).toBe(0);
  });
});

describe('the plain names of sections', () => {
  /** Sections as [start, label, loudness] from 0; the last one runs to `end`. */
  const named = (parts: Array<[number, string, number]>, end: number) => {
    const sections: SongSection[] = parts.map(([startSec, label, loudnessLufs], index) => ({
      index, startSec, endSec: parts[index + 1]?.[0] ?? end, label, name: null,
      tags: { bpm: 120, key: null, loudnessLufs, energy: 1, spectralCentroidHz: 1500 },
    }));
    nameSections(sections, end);
    return sections.map((s) => s.name);
  };

  it('calls a quiet stretch between louder ones a break', () => {
    expect(named([[0, 'A', -12], [60, 'B', -12], [120, 'C', -25], [150, 'A', -12], [210, 'B', -9]], 270)).toEqual([null, null, 'break', null, 'peak']);
  });

  it('calls no quiet stretch a break when the music only fades from it to the end', () => {
    // Prepare: two and a half full minutes, then two quiet sections and a quieter tail (the fade of a song's ending).
    expect(named([[0, 'A', -12], [60, 'B', -9], [120, 'C', -12], [150, 'D', -24], [170, 'E', -26], [190, 'F', -30]], 200))
      .toEqual([null, 'peak', null, null, null, 'outro']);
  });

  it('calls no quiet stretch a break when only a quiet intro comes before it', () => {
    expect(named([[0, 'A', -25], [18, 'B', -22], [31, 'C', -13], [45, 'D', -12], [120, 'C', -13], [200, 'D', -12]], 260))
      .toEqual(['intro', null, null, null, null, null]);
  });
});

const corpus = loadRealCorpus({ slice: true });
const built = corpus !== undefined && corpus.pieces.length > 0 && corpus.missing.length === 0;
const why = corpus === undefined ? 'there is no truth table (bench/real-corpus/truth.json)' : `the CI slice has ${corpus.missing.length} piece(s) without audio`;
if (!built && !process.env.CI) {
  // eslint-disable-next-line no-console
  console.warn(`sections: real-music part skipped, ${why}. Build the slice with \`npm run corpus:real -- --slice\`.`);
}
if (!built && process.env.CI) {
  describe('the real-music CI slice for sections', () => {
    it('is built before the tests run (.ci/run builds it with `npm run corpus:real -- --slice`)', () => {
      throw new Error(`The real-music CI slice is not built: ${why}.`);
    });
  });
}

(built ? describe : describe.skip)('sections of real music cut in known orders (the CI slice)', () => {
  let scores: StructureScore[] = [];
  let summary: StructureSummary;

  beforeAll(async () => {
    // Prepare / Act: four pieces (ABABCA, ABCBA, ABCADB, ABAC) from the slice's excerpts, through preprocess.
    const result = await evaluateStructure(corpus!.pieces, tempDir('sections-real-'), 4, FFMPEG);
    scores = result.scores;
    summary = result.summary;
  }, 240_000);

  it('builds and measures every piece', () => {
    expect(scores).toHaveLength(4);
  });

  // Floors a little under what the slice measures today (15/17 boundaries, 0.38 spurious a minute, 9/9 repeats, pairwise
  // F 0.90), so a regression fails; issue 10's targets (90 %, ≤ 1/min, 90 %) are printed by the bench on 24 pieces,
  // and again on 24 pieces cut from the held-out groups. With units of two beats (sections.ts, MIN_UNIT_SEC 0.9) the
  // slice has more than 0.5 spurious boundaries a minute (0.64 and 14/17 when they were replaced): the boundaries
  // were placed no finer than 0.9-1.8 s.
  it('finds at least 80 % of the boundaries within ±3 s', () => {
    expect(summary.hitRate).toBeGreaterThanOrEqual(0.8);
  });

  it('adds at most one spurious boundary every two minutes', () => {
    expect(summary.spuriousPerMinute).toBeLessThanOrEqual(0.5);
  });

  it('gives repeated excerpts one label at least three times in four, with pairwise label F ≥ 0.75', () => {
    expect(summary.repeatedSharing).toBeGreaterThanOrEqual(0.75);
    expect(summary.pairwiseF).toBeGreaterThanOrEqual(0.75);
  });
});

describe('the whole piece repeating (findLoop)', () => {
  // Frames every 0.5 s, as the chroma's; timbre of 13 coefficients. A seeded random stream of notes and colours.
  const HOP = 0.5;
  const DIMS = 13;
  function framesOf(frameAt: (n: number) => { pitch: number; colour: number[] }, seconds: number) {
    const count = Math.round(seconds / HOP);
    const chroma = new Float32Array(count * 12);
    const timbre = new Float32Array(count * DIMS);
    for (let n = 0; n < count; n++) {
      const { pitch, colour } = frameAt(n);
      chroma[n * 12 + pitch] = 1;
      chroma[n * 12 + ((pitch + 7) % 12)] = 0.5;
      for (let d = 0; d < DIMS; d++) timbre[n * DIMS + d] = colour[d];
    }
    return { durationSec: count * HOP, beats: [], chroma, timbre, timbreDimensions: DIMS, hopSec: HOP };
  }
  const seeded = (seed: number) => () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  // A phrase of 40 s whose chord and colour change every 2 s, never twice alike.
  const random = seeded(3);
  const phrase = Array.from({ length: 20 }, () => ({ pitch: Math.floor(random() * 12), colour: Array.from({ length: DIMS }, () => random() * 2 - 1) }));
  const phraseAt = (sec: number) => phrase[Math.floor(sec / 2) % phrase.length];

  it('finds a 40 s piece played three times after a 12 s opening, and how often it comes round', () => {
    // Prepare
    const opening = { pitch: 3, colour: Array.from({ length: DIMS }, (_, d) => (d % 2 ? 1.5 : -1.5)) };
    const input = framesOf((n) => (n * HOP < 12 ? opening : phraseAt(n * HOP - 12)), 132);
    // Act
    const loop = findLoop(input);
    // Assess
    expect(loop).not.toBeNull();
    expect(Math.abs(loop!.periodSec - 40)).toBeLessThanOrEqual(1);
    expect(Math.abs(loop!.startSec - 12)).toBeLessThanOrEqual(2);
    expect(Math.abs(loop!.passes - 3)).toBeLessThanOrEqual(0.1);
  });

  it('finds none in music that never changes, nor in one 4 s figure repeated throughout, nor in music that never repeats', () => {
    // Prepare
    const drone = framesOf(() => phrase[0], 120);
    const figure = framesOf((n) => phrase[n % 8], 120);
    const endless = seeded(5);
    const neverAgain = framesOf(() => ({ pitch: Math.floor(endless() * 12), colour: Array.from({ length: DIMS }, () => endless() * 2 - 1) }), 120);
    // Act / Assess
    expect(findLoop(drone)).toBeNull();
    expect(findLoop(figure)).toBeNull();
    expect(findLoop(neverAgain)).toBeNull();
  });

  it('finds none where the piece comes back once but not to the end (a song whose last minute is new)', () => {
    // Prepare: the phrase twice, then 60 s of other music.
    const other = seeded(9);
    const input = framesOf((n) => (n * HOP < 80 ? phraseAt(n * HOP) : { pitch: Math.floor(other() * 12), colour: Array.from({ length: DIMS }, () => other() * 2 - 1) }), 140);
    // Act / Assess
    expect(findLoop(input)).toBeNull();
  });
});
