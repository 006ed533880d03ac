/**
 * Key finding on audio rendered by ffmpeg (aevalsrc): chord progressions in known keys, a recording tuned
 * away from A = 440 Hz, a piece that modulates, and what has no key (noise, a single held note).
 */
import path from 'node:path';
import { ChromaFeatures } from '../core/descriptors/chroma.ts';
import { analyzeKey, estimateKey, keyBetween, type KeyAnalysis } from '../core/descriptors/key.ts';
import { ffmpeg, referenceDecode, tempDir } from './helpers/audio.ts';

const RATE = 16_000;
const CHORD_SEC = 2;

/** A note as ffmpeg expression: fundamental and two partials (an instrument, not a sine). */
function note(midi: number, cents: number, gain: number): string {
  const hz = 440 * 2 ** ((midi - 69) / 12 + cents / 1200);
  return [1, 0.5, 0.25].map((a, i) => `${(gain * a).toFixed(3)}*sin(2*PI*${(hz * (i + 1)).toFixed(3)}*t)`).join('+');
}

/** One chord (MIDI notes, the first an octave-down bass) for CHORD_SEC, with a soft attack-decay, as ffmpeg expression. */
function chord(notes: number[], cents: number): string {
  const voices = notes.map((m, j) => note(m, cents, j === 0 ? 0.12 : 0.08)).join('+');
  return `(${voices})*(0.6+0.4*exp(-3*t))`;
}

/** `seconds` of a chord progression, CHORD_SEC per chord, repeated; each chord is its own short source, concatenated. */
function progression(chords: number[][], seconds: number, cents = 0): string[] {
  const out: string[] = [];
  for (let i = 0; i * CHORD_SEC < seconds; i++) out.push(chord(chords[i % chords.length], cents));
  return out;
}

/** I–IV–V7–vi–ii–V–I in a major key on `tonic` (MIDI, around middle C). */
function majorCadence(tonic: number): number[][] {
  const t = tonic;
  return [
    [t - 12, t, t + 4, t + 7], [t - 7, t + 5, t + 9, t + 12], [t - 5, t + 7, t + 11, t + 14, t + 17],
    [t - 3, t + 9, t + 12, t + 16], [t - 10, t + 2, t + 5, t + 9], [t - 5, t + 7, t + 11, t + 14], [t - 12, t, t + 4, t + 7],
  ];
}

/** i–iv–V–i–VI–iv–V–i in a harmonic minor key on `tonic`. */
function minorCadence(tonic: number): number[][] {
  const t = tonic;
  return [
    [t - 12, t, t + 3, t + 7], [t - 7, t + 5, t + 8, t + 12], [t - 5, t + 7, t + 11, t + 14],
    [t - 12, t, t + 3, t + 7], [t - 4, t + 8, t + 12, t + 15], [t - 7, t + 5, t + 8, t + 12], [t - 5, t + 7, t + 11, t + 14], [t - 12, t, t + 3, t + 7],
  ];
}

const dir = tempDir('key-test-');
let counter = 0;

/** Renders chord expressions of CHORD_SEC each, back to back (one ffmpeg run, a concat of short sources: fast). */
function render(chords: string[]): Float32Array {
  const file = path.join(dir, `clip-${counter++}.wav`);
  const graph = chords.map((c, i) => `aevalsrc=exprs='${c}':s=${RATE}:d=${CHORD_SEC}[c${i}]`).join(';')
    + `;${chords.map((_, i) => `[c${i}]`).join('')}concat=n=${chords.length}:v=0:a=1[out]`;
  ffmpeg(['-filter_complex', graph, '-map', '[out]', '-ac', '1', file]);
  return referenceDecode(file);
}

function renderFilter(source: string, file = path.join(dir, `clip-${counter++}.wav`)): Float32Array {
  ffmpeg(['-f', 'lavfi', '-i', source, '-ac', '1', '-ar', String(RATE), file]);
  return referenceDecode(file);
}

/** Streams samples through the chroma frames as the track analyzer does (frame n centred on n·hop). */
function analyze(samples: Float32Array): KeyAnalysis {
  const chroma = new ChromaFeatures(RATE);
  let size = 1;
  while (size < samples.length + chroma.size) size *= 2;
  const history = new Float32Array(size);
  history.set(samples);
  for (let n = 0; n * chroma.hop < samples.length; n++) chroma.process(history, n * chroma.hop - chroma.size / 2, samples.length);
  return analyzeKey(chroma, samples.length / RATE);
}

function expectCovering(analysis: KeyAnalysis, durationSec: number): void {
  const { sections } = analysis;
  expect(sections[0].startSec).toBe(0);
  expect(sections[sections.length - 1].endSec).toBeCloseTo(durationSec, 6);
  for (let i = 1; i < sections.length; i++) expect(sections[i].startSec).toBe(sections[i - 1].endSec);
}

describe('key of chord progressions', () => {
  test.each([
    ['C major', majorCadence(60)],
    ['Eb major', majorCadence(63)],
    ['A minor', minorCadence(57)],
    ['F# minor', minorCadence(54)],
  ])('a progression in %s is detected, one section over the whole clip', (expected, chords) => {
    const samples = render(progression(chords, 42));
    const analysis = analyze(samples);
    expect(analysis.track.key).toBe(expected);
    expect(analysis.track.confidence).toBeGreaterThan(0.3);
    expect(analysis.sections).toHaveLength(1);
    expect(analysis.sections[0].key).toBe(expected);
    expectCovering(analysis, samples.length / RATE);
    expect(keyBetween(analysis, 10, 20).key).toBe(expected);
  });

  test('a progression tuned 30 cents sharp is still in its key, the tuning measured', () => {
    const samples = render(progression(majorCadence(62), 42, 30));
    const chroma = new ChromaFeatures(RATE);
    let size = 1;
    while (size < samples.length + chroma.size) size *= 2;
    const history = new Float32Array(size);
    history.set(samples);
    for (let n = 0; n * chroma.hop < samples.length; n++) chroma.process(history, n * chroma.hop - chroma.size / 2, samples.length);
    expect(chroma.tuningCents).toBeGreaterThan(22);
    expect(chroma.tuningCents).toBeLessThan(38);
    expect(analyzeKey(chroma, samples.length / RATE).track.key).toBe('D major');
  });

  test('a progression tuned 45 cents flat (nearly a semitone down) is still in its key', () => {
    expect(analyze(render(progression(majorCadence(64), 42, -45))).track.key).toBe('E major');
  });
});

describe('key sections', () => {
  test('40 s in C major then 40 s in E major gives two sections, the boundary within 10 s of 40 s', () => {
    const samples = render([...progression(majorCadence(60), 40), ...progression(majorCadence(64), 40)]);
    const analysis = analyze(samples);
    expect(analysis.sections.map((s) => s.key)).toEqual(['C major', 'E major']);
    expect(Math.abs(analysis.sections[1].startSec - 40)).toBeLessThanOrEqual(10);
    expectCovering(analysis, samples.length / RATE);
    expect(keyBetween(analysis, 0, 10).key).toBe('C major');
    expect(keyBetween(analysis, 70, 80).key).toBe('E major');
    // A window straddling the boundary takes the key of the section covering most of it.
    expect(keyBetween(analysis, analysis.sections[1].startSec - 2, analysis.sections[1].startSec + 8).key).toBe('E major');
  });

  test('a brief excursion (8 s in another key) is not a modulation', () => {
    const c = progression(majorCadence(60), 60);
    const other = progression(majorCadence(66), 8);
    const samples = render([...c.slice(0, 12), ...other, ...c.slice(16)]);
    const analysis = analyze(samples);
    expect(analysis.sections).toHaveLength(1);
    expect(analysis.track.key).toBe('C major');
  });
});

describe('no key where there is no tonal centre', () => {
  test('white noise has no key', () => {
    const analysis = analyze(renderFilter(`anoisesrc=color=white:amplitude=0.3:sample_rate=${RATE}:duration=30`));
    expect(analysis.track.key).toBeNull();
    expect(analysis.track.confidence).toBe(0);
    expect(analysis.sections.every((s) => s.key === null)).toBe(true);
  });

  test('pink noise has no key', () => {
    expect(analyze(renderFilter(`anoisesrc=color=pink:amplitude=0.3:sample_rate=${RATE}:duration=30`)).track.key).toBeNull();
  });

  test('drums alone (a pitched kick sweeping down, a noise snare) have no key', () => {
    const kick = '0.8*sin(2*PI*(50+100*exp(-20*mod(t,0.5)))*mod(t,0.5))*exp(-8*mod(t,0.5))';
    const snare = '0.3*(random(0)-0.5)*exp(-15*mod(t+0.25,0.5))';
    const analysis = analyze(renderFilter(`aevalsrc=exprs='${kick}+${snare}':s=${RATE}:d=30`));
    expect(analysis.track.key).toBeNull();
    expect(analysis.sections.every((s) => s.key === null)).toBe(true);
  });

  test('a single held note (with partials) has no key', () => {
    const analysis = analyze(renderFilter(`aevalsrc=exprs='${note(57, 0, 0.3)}':s=${RATE}:d=30`));
    expect(analysis.track.key).toBeNull();
    expect(analysis.sections.every((s) => s.key === null)).toBe(true);
  });

  test('a single pure sine has no key', () => {
    expect(analyze(renderFilter(`sine=frequency=440:sample_rate=${RATE}:duration=30`)).track.key).toBeNull();
  });

  test('silence has no key, one keyless section over the whole clip', () => {
    const samples = new Float32Array(RATE * 20);
    const analysis = analyze(samples);
    expect(analysis.track.key).toBeNull();
    expect(analysis.sections).toEqual([{ startSec: 0, endSec: 20, key: null, confidence: 0 }]);
  });

  test('a lone pitch class in a single chroma vector is no key', () => {
    const chroma = new Float64Array(12);
    chroma[9] = 1;
    expect(estimateKey(chroma).key).toBeNull();
    expect(estimateKey(new Float64Array(12)).key).toBeNull();
  });
});
