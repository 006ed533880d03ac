/**
 * The beat tracker, meter and tempo changes (core/descriptors/beats.ts, meter.ts) on audio that ffmpeg
 * synthesises with a known beat grid: drum grooves, a click track that speeds up, and input with no beat.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TrackAnalyzer } from '../core/descriptors/index.ts';
import { analyzeRhythm, type AccentPulse, FramePeriods, metricalLevel, octaveOf, RHYTHM, tempoBetween, tempoChangesOf, tempoStateSupport, type RhythmAnalysis } from '../core/descriptors/beats.ts';
import { DOTTED_FIGURE, DRUM_PATTERNS, decode, synthesize, runFfmpeg, CORPUS_RATE } from '../bench/lib/descriptor-corpus.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'beats-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function rhythmOf(samples: Float32Array): RhythmAnalysis {
  const analyzer = new TrackAnalyzer(CORPUS_RATE);
  for (let i = 0; i < samples.length; i += 8192) analyzer.push(samples.subarray(i, i + 8192));
  analyzer.finish([]);
  return analyzeRhythm(analyzer.frames.short, samples.length / CORPUS_RATE);
}

async function rhythmOfFile(file: string): Promise<RhythmAnalysis> {
  return rhythmOf((await decode(file)).samples);
}

/** Beat F-measure as mir_eval computes it: one-to-one matches within ±tolerance seconds. */
function beatFMeasure(estimated: ArrayLike<number>, reference: number[], tolerance = 0.07): number {
  if (estimated.length === 0 || reference.length === 0) return 0;
  const used = new Set<number>();
  let hits = 0;
  for (const r of reference) {
    let best = -1;
    for (let i = 0; i < estimated.length; i++) {
      if (used.has(i) || Math.abs(estimated[i] - r) > tolerance) continue;
      if (best < 0 || Math.abs(estimated[i] - r) < Math.abs(estimated[best] - r)) best = i;
    }
    if (best >= 0) {
      used.add(best);
      hits++;
    }
  }
  const precision = hits / estimated.length;
  const recall = hits / reference.length;
  return precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
}

/** Reference beats k·period in [start, end) (mir_eval ignores the first 5 s; we keep them all). */
const grid = (period: number, end: number, start = 0) => Array.from({ length: Math.floor((end - start) / period) + 1 }, (_, k) => start + k * period).filter((t) => t < end - 1e-9);

describe('beat tracking', () => {
  it('puts the beats of a 4/4 drum groove at 100 BPM within 70 ms of the truth (F-measure ≥ 0.9), with its tempo, 4/4 and steady windows', async () => {
    // Prepare: the syncopated 4/4 groove (kick on 1 and the "and" of 3, snare on 2 and 4, sixteenth hats).
    const bpm = 100;
    const file = path.join(dir, 'groove.wav');
    await synthesize(file, DRUM_PATTERNS[2].expression(60 / bpm), 30);
    // Act
    const rhythm = await rhythmOfFile(file);
    // Assess
    expect(rhythm.bpm).not.toBeNull();
    expect(Math.abs(rhythm.bpm! / bpm - 1)).toBeLessThanOrEqual(0.04);
    expect(rhythm.confidence).toBeGreaterThanOrEqual(0.5);
    expect(beatFMeasure(rhythm.beats, grid(60 / bpm, 30))).toBeGreaterThanOrEqual(0.9);
    expect(rhythm.meter).toBe('4/4');
    // Downbeats on the kick that opens each bar (beat 0, 4, 8 … of the grid).
    const downbeatTimes = rhythm.downbeats.map((i) => rhythm.beats[i]);
    const onBarLines = downbeatTimes.filter((t) => Math.abs(t / 2.4 - Math.round(t / 2.4)) * 2.4 <= 0.07).length;
    expect(onBarLines / downbeatTimes.length).toBeGreaterThanOrEqual(0.9);
    for (const start of [0, 10, 20]) {
      const window = tempoBetween(rhythm, start, start + 10);
      expect(Math.abs(window.bpm! / bpm - 1)).toBeLessThanOrEqual(0.04);
    }
    expect(rhythm.tempoChanges).toEqual([]);
  });

  it('hears the 3/4 accent pattern of a waltz (kick on 1, snares on 2 and 3) as 3/4', async () => {
    // Prepare
    const bpm = 132;
    const file = path.join(dir, 'waltz.wav');
    await synthesize(file, DRUM_PATTERNS[3].expression(60 / bpm), 30);
    // Act
    const rhythm = await rhythmOfFile(file);
    // Assess
    expect(Math.abs(rhythm.bpm! / bpm - 1)).toBeLessThanOrEqual(0.04);
    expect(rhythm.meter).toBe('3/4');
    expect(beatFMeasure(rhythm.beats, grid(60 / bpm, 30))).toBeGreaterThanOrEqual(0.9);
  });

  it('claims no tempo change where a figure grouped in threes gives way to a straight groove at the same tempo', async () => {
    // Prepare: 30 s of a kick every three eighths (it repeats at ⅔ of the beat rate), then 30 s of a rock groove,
    // both at 140 BPM: the beat never changes, only its grouping.
    const beat = 60 / 140;
    const file = path.join(dir, 'threes-then-groove.wav');
    await synthesize(file, `if(lt(t,30),${DOTTED_FIGURE.expression(beat)},${DRUM_PATTERNS[0].expression(beat)})`, 60);
    // Act
    const rhythm = await rhythmOfFile(file);
    // Assess: no change claimed, and every window reads one tempo.
    expect(rhythm.tempoChanges).toEqual([]);
    const windows = [0, 10, 20, 30, 40, 50].map((start) => tempoBetween(rhythm, start, start + 10).bpm!);
    for (const bpm of windows) expect(Math.abs(bpm / windows[0] - 1)).toBeLessThanOrEqual(0.04);
  });

  it('reports a click track that speeds up from 90 to 130 BPM over 60 s as one gradual change, and its windows follow it', async () => {
    // Prepare: beat phase B(t) = (90 t + 40 t² / 120) / 60, so the tempo is 90 + 40 t / 60 BPM; a click at each whole B.
    const file = path.join(dir, 'accelerando.wav');
    await synthesize(file, '0.8*sin(2*PI*1500*t)*exp(-200*mod((90*t+t*t/3)/60\\,1)*60/(90+2*t/3))', 60);
    // Act
    const rhythm = await rhythmOfFile(file);
    // Assess
    const gradual = rhythm.tempoChanges.filter((c) => c.kind === 'gradual');
    expect(gradual).toHaveLength(1);
    expect(rhythm.tempoChanges.filter((c) => c.kind === 'step')).toHaveLength(0);
    expect(gradual[0].atSec).toBeLessThan(15);
    expect(Math.abs(gradual[0].fromBpm / 92 - 1)).toBeLessThanOrEqual(0.06);
    expect(Math.abs(gradual[0].toBpm / 128 - 1)).toBeLessThanOrEqual(0.06);
    const windows = [0, 10, 20, 30, 40, 50].map((s) => tempoBetween(rhythm, s, s + 10).bpm!);
    for (let i = 1; i < windows.length; i++) expect(windows[i]).toBeGreaterThan(windows[i - 1]);
    expect(Math.abs(windows[0] / 93.3 - 1)).toBeLessThanOrEqual(0.04);
    expect(Math.abs(windows[5] / 126.7 - 1)).toBeLessThanOrEqual(0.04);
  });
});

describe('breaks', () => {
  it('gives a window inside a 12 s silence no tempo, and the grooves either side their tempo, with no tempo change claimed', async () => {
    // Prepare: 20 s of rock groove at 100 BPM, 12 s of silence, the groove again.
    const bpm = 100;
    const file = path.join(dir, 'break.wav');
    await synthesize(file, `if(between(t,20,32),0,${DRUM_PATTERNS[0].expression(60 / bpm)})`, 52);
    // Act
    const rhythm = await rhythmOfFile(file);
    // Assess
    expect(Math.abs(rhythm.bpm! / bpm - 1)).toBeLessThanOrEqual(0.04);
    expect(tempoBetween(rhythm, 21, 31)).toEqual({ bpm: null, confidence: 0 });
    for (const start of [0, 10, 32, 42]) expect(Math.abs(tempoBetween(rhythm, start, start + 10).bpm! / bpm - 1)).toBeLessThanOrEqual(0.04);
    expect(rhythm.beats.filter((t) => t > 21 && t < 31)).toHaveLength(0);
    expect(rhythm.tempoChanges).toEqual([]);
  });

  // 50 s of a held, slowly swelling chord between a groove at 100 BPM and one at 125.
  const PAD = '(0.6+0.4*sin(2*PI*0.1*t))*(0.2*sin(2*PI*220*t)+0.15*sin(2*PI*277.2*t)+0.15*sin(2*PI*329.6*t))';
  const padBetween = (pad: string) => `if(lt(t,20),${DRUM_PATTERNS[0].expression(0.6)},if(lt(t,70),${pad},${DRUM_PATTERNS[0].expression(0.48)}))`;

  it('tells a faster groove after a held chord as a step where the beat comes back, not a gradual change across the chord', async () => {
    // Prepare
    const file = path.join(dir, 'pad-step.wav');
    await synthesize(file, padBetween(PAD), 100);
    // Act
    const rhythm = await rhythmOfFile(file);
    // Assess
    expect(rhythm.beats.filter((t) => t > 25 && t < 65)).toHaveLength(0);
    expect(rhythm.tempoChanges).toHaveLength(1);
    expect(rhythm.tempoChanges[0]).toMatchObject({ kind: 'step', fromBpm: expect.closeTo(100, 0), toBpm: expect.closeTo(125, 0) });
    expect(rhythm.tempoChanges[0].atSec).toBeGreaterThanOrEqual(69);
    expect(rhythm.tempoChanges[0].atSec).toBeLessThan(72);
  });

  it('strings no beats through a chord whose hiss leaves too few attacks for a beat', async () => {
    // Prepare: the same chord with a little white noise in it, enough onset strength to pass for music.
    const file = path.join(dir, 'pad-hiss.wav');
    await synthesize(file, padBetween(`${PAD}+0.08*(random(0)-0.5)`), 100);
    // Act
    const rhythm = await rhythmOfFile(file);
    // Assess
    expect(rhythm.beats.length).toBeGreaterThan(40);
    // (Beats within half the attack span of the grooves keep their attacks.)
    expect(rhythm.beats.filter((t) => t > 20 + RHYTHM.ATTACK_SPAN_SEC / 2 && t < 70 - RHYTHM.ATTACK_SPAN_SEC / 2)).toHaveLength(0);
    expect(rhythm.tempoChanges.filter((c) => c.kind === 'gradual')).toEqual([]);
  });
});

describe('no steady beat', () => {
  const expectNoBeat = (rhythm: RhythmAnalysis) => {
    expect(rhythm.bpm).toBeNull();
    expect(rhythm.confidence).toBeLessThan(0.25);
    expect(rhythm.beats).toHaveLength(0);
    expect(rhythm.meter).toBeNull();
    expect(rhythm.tempoChanges).toEqual([]);
    expect(tempoBetween(rhythm, 0, 10)).toEqual({ bpm: null, confidence: 0 });
  };

  it('finds none in white noise', async () => {
    const file = path.join(dir, 'noise.wav');
    await runFfmpeg(['-y', '-f', 'lavfi', '-i', `anoisesrc=d=30:c=white:r=${CORPUS_RATE}:a=0.3`, '-c:a', 'pcm_s16le', file]);
    expectNoBeat(await rhythmOfFile(file));
  });

  it('finds none in silence, nor in a single held note', async () => {
    expectNoBeat(rhythmOf(new Float32Array(30 * CORPUS_RATE)));
    const file = path.join(dir, 'held.wav');
    await synthesize(file, '0.3*sin(2*PI*440*t)', 30);
    expectNoBeat(await rhythmOfFile(file));
  });

  it('finds none in notes at irregular times (free rhythm), and none in a slowly swelling pad', async () => {
    // Prepare: plucked notes whose onsets wander by up to ±45 % of a nominal 0.6 s gap, seeded noise deciding.
    const onsets: number[] = [];
    let seed = 11;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (let t = 0.2; t < 30; t += 0.6 * (0.55 + 0.9 * random())) onsets.push(t);
    // One note at a time: the most recent onset's pitch rings with a plucked decay.
    let expression = '0';
    for (let i = onsets.length - 1; i >= 0; i--) {
      const hz = 220 * 2 ** (Math.floor(random() * 12) / 12);
      expression = `if(lt(t,${onsets[i].toFixed(3)}),${expression},0.4*sin(2*PI*${hz.toFixed(2)}*t)*exp(-3*(t-${onsets[i].toFixed(3)})))`;
    }
    const free = path.join(dir, 'free.wav');
    await synthesize(free, `if(lt(t,${onsets[0].toFixed(3)}),0,${expression})`, 30);
    const pad = path.join(dir, 'pad.wav');
    await synthesize(pad, '(0.5+0.5*sin(2*PI*0.07*t))*(0.2*sin(2*PI*220*t)+0.15*sin(2*PI*277.2*t)+0.15*sin(2*PI*329.6*t))', 40);
    // Act
    const rhythms = [await rhythmOfFile(free), await rhythmOfFile(pad)];
    // Assess
    for (const rhythm of rhythms) expectNoBeat(rhythm);
  });

  it('survives a 3 s clip and a clip shorter than a beat, and says null for a window without beats', async () => {
    const bpm = 120;
    const file = path.join(dir, 'short.wav');
    await synthesize(file, DRUM_PATTERNS[0].expression(60 / bpm), 3);
    const short = await rhythmOfFile(file);
    expect(short.confidence).toBeGreaterThanOrEqual(0);
    expect(short.confidence).toBeLessThanOrEqual(1);
    if (short.bpm !== null) expect(Math.abs(short.bpm / bpm - 1)).toBeLessThanOrEqual(0.04);
    const tiny = rhythmOf(new Float32Array(0.3 * CORPUS_RATE).map((_, i) => Math.sin(i / 5)));
    expect(tiny.bpm).toBeNull();
    expect(tempoBetween(short, 100, 110)).toEqual({ bpm: null, confidence: 0 });
  });
});

describe('the local period between segment centres', () => {
  it('holds the first and last periods outside the centres, moves log-linearly between them, and reads the same in any order', () => {
    const curve = () => new FramePeriods(Float64Array.of(50, 150, 250), Float64Array.of(40, 50, 45));
    const periods = curve();
    expect(periods.at(0)).toBe(40);
    expect(periods.at(100)).toBeCloseTo(Math.sqrt(40 * 50), 9);
    expect(periods.at(400)).toBe(45);
    expect(periods.longest).toBe(50);
    const frames = Array.from({ length: 300 }, (_, t) => t);
    const inOrder = frames.map((t) => curve().at(t));
    const shuffled = curve();
    for (const t of [...frames].reverse()) expect(shuffled.at(t)).toBe(inOrder[t]);
  });
});

describe('a window\'s tempo', () => {
  // A grid at 90 BPM from 10 s to 60 s after beats strung at 118 BPM over the first 10 s; the tempo-state path
  // (segments every 4 s from 6 s) at `pathBpm` throughout.
  const rhythmWith = (openingBpm: number, pathBpm: number): RhythmAnalysis => {
    const beats: number[] = [];
    for (let t = 0.5; t < 10; t += 60 / openingBpm) beats.push(t);
    for (let t = 10; t < 60; t += 60 / 90) beats.push(t);
    const atSec = Float64Array.from({ length: 14 }, (_, s) => 6 + 4 * s);
    return {
      bpm: 90, confidence: 1, beats: Float64Array.from(beats), downbeats: [], meter: null, meterConfidence: 0, tempoChanges: [],
      periodicity: { atSec, bpm: atSec.map(() => pathBpm) },
    };
  };

  it('reads the onsets\' periodicity where the beats strayed from it (a quiet intro at 118 over music at 90), and the beats elsewhere', () => {
    const rhythm = rhythmWith(118, 90);
    expect(tempoBetween(rhythm, 0, 10).bpm).toBe(90);
    expect(tempoBetween(rhythm, 20, 30).bpm).toBeCloseTo(90, 6);
  });

  it('keeps the beats\' reading where they stay within the stray margin of the periodicity', () => {
    const rhythm = rhythmWith(94, 90);
    expect(Math.abs(tempoBetween(rhythm, 0, 10).bpm! / 94 - 1)).toBeLessThan(0.01);
    // And follows the path's coarser reading nowhere the beats agree with it.
    expect(tempoBetween(rhythmWith(90, 92), 20, 30).bpm).toBeCloseTo(90, 6);
  });
});

describe('the metrical level under the perceptual prior', () => {
  it('moves an estimate at the bar of a fast 3/4 to its beat (three times faster), not to half a bar', () => {
    // Prepare: the onset novelty of a 3/4 bar at 160 BPM (accented downbeat, two lighter beats, eighth hats) and
    // a global estimate at the bar's rate, 53.3 BPM.
    const fps = 100;
    const beat = (60 * fps) / 160;
    const novelty = new Float64Array(60 * fps);
    const hit = (frame: number, strength: number) => {
      if (Math.round(frame) < novelty.length) novelty[Math.round(frame)] += strength;
    };
    for (let bar = 0; bar * 3 * beat < novelty.length; bar++) {
      const start = bar * 3 * beat;
      hit(start, 1);
      hit(start + beat, 0.6);
      hit(start + 2 * beat, 0.6);
      for (let eighth = 0; eighth < 6; eighth++) hit(start + (eighth * beat) / 2, 0.2);
    }
    // Act
    const { period } = metricalLevel(novelty, 160 / 3, fps, (60 * fps) / RHYTHM.MAX_BPM, (60 * fps) / RHYTHM.MIN_BPM);
    // Assess
    expect((60 * fps) / period).toBeCloseTo(160, 0);
  });

  it('takes the strongest prior-weighted periodicity where the estimate it was given has lost the beat', () => {
    // Prepare: the onset novelty of a 4/4 groove at 146 BPM (accented beats, lighter eighths) and an estimate at
    // 80.7 BPM, no metrical relative of it (the comb's pick on Warzone 2100's track3, folded by an octave): none of
    // the levels the prior step weighs (161, 81, 40 BPM) has any periodicity worth the name.
    const fps = 100;
    const beat = (60 * fps) / 146;
    const novelty = new Float64Array(60 * fps);
    for (let k = 0; k * beat < novelty.length; k++) {
      novelty[Math.round(k * beat)] += k % 4 === 0 ? 1 : 0.7;
      const eighth = Math.round((k + 0.5) * beat);
      if (eighth < novelty.length) novelty[eighth] += 0.25;
    }
    // Act
    const { period } = metricalLevel(novelty, 80.7, fps, (60 * fps) / RHYTHM.MAX_BPM, (60 * fps) / RHYTHM.MIN_BPM);
    // Assess
    expect((60 * fps) / period).toBeCloseTo(146, -0.5);
  });

  it('lets the accents halve the beat only by the margin a slower level needs, and double it by the faster one', () => {
    // Prepare: SuperFlux at 120 BPM; the accents (kick and snare) at 60 or 240, preferred over 120 by their own
    // prior step by 1.3 or more. Freedoom's e2m8, written at 180, was halved to 90 by a preference of 1.21, and
    // Singularity's Inevitable from 140 to 70 by 1.23 (librosa 136, aubio 139).
    const accents = (bpm: number, preference: number): AccentPulse => ({ bpm, clarity: 1, preferenceOver: () => preference });
    // Act / Assess
    expect(octaveOf(accents(60, 1.3), 120)).toBe(1);
    expect(octaveOf(accents(60, RHYTHM.SLOWER_LEVEL_MARGIN), 120)).toBe(0.5);
    expect(octaveOf(accents(240, 1.3), 120)).toBe(2);
    expect(octaveOf(accents(240, 1.1), 120)).toBe(1);
    // Not an octave (3:2): SuperFlux's period stands.
    expect(octaveOf(accents(80, 3), 120)).toBe(1);
  });
});

describe('tempo changes from the beat grid', () => {
  // A grid at 80 BPM for 40 s, then at 88 BPM (a 10 % step) for 40 s.
  const steppedGrid = () => {
    const beats: number[] = [];
    for (let t = 0; t < 40; t += 0.75) beats.push(t);
    for (let t = beats[beats.length - 1] + 60 / 88; t < 80; t += 60 / 88) beats.push(t);
    return Float64Array.from(beats);
  };

  it('reports a step that the tempo states confirm, with the times and tempi it asked them about', () => {
    const asked: number[][] = [];
    const changes = tempoChangesOf(steppedGrid(), (...question) => asked.push(question) > 0);
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ kind: 'step', fromBpm: expect.closeTo(80, 0), toBpm: expect.closeTo(88, 0) });
    expect(Math.abs(changes[0].atSec - 40)).toBeLessThanOrEqual(2);
    const [fromSec, toSec, fromBpm, toBpm] = asked[asked.length - 1];
    expect(fromSec).toBeLessThan(40);
    expect(toSec).toBeGreaterThan(40);
    expect([fromBpm, toBpm].map(Math.round)).toEqual([80, 88]);
  });

  it('tells a step by the tempo the grid settles at, not the first beats of its way there', () => {
    // Prepare: a grid at 92 BPM for 125 s that takes 10 s to reach 120 BPM (the beat tracker follows a sudden step
    // in small changes of its period), then holds 120 BPM for 80 s.
    const beats: number[] = [];
    for (let t = 0; t < 125; t += 60 / 92) beats.push(t);
    let t = beats[beats.length - 1];
    while (t < 135) {
      const progress = (t - 125) / 10;
      t += 60 / (92 + progress * (120 - 92));
      beats.push(t);
    }
    for (t += 0.5; t < 215; t += 0.5) beats.push(t);
    // Act
    const changes = tempoChangesOf(Float64Array.from(beats));
    // Assess
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ kind: 'step', fromBpm: expect.closeTo(92, 0), toBpm: expect.closeTo(120, 0) });
  });

  it('claims no step where the grid, after a few seconds slower, settles within the change threshold of where it was', () => {
    // Prepare: 60 s at 75 BPM, 6 s at 68 (a held note, a fill the tracker stretches), then 60 s at 73: 3 % from
    // where it was, under RHYTHM.MIN_CHANGE, and the 6 s between are shorter than RHYTHM.MIN_SECTION_SEC.
    const beats: number[] = [];
    let t = 0;
    for (const [bpm, seconds] of [[75, 60], [68, 6], [73, 60]]) {
      for (const end = t + seconds; t < end; t += 60 / bpm) beats.push(t);
    }
    // Act
    const changes = tempoChangesOf(Float64Array.from(beats));
    // Assess
    expect(changes).toEqual([]);
  });

  it('tells a step through a short ramp once, not also as a gradual change of the same seconds', () => {
    // Prepare: 60 s at 128 BPM; the grid then takes 6 s to climb from 144 to 156 (it follows a sudden step in small
    // changes of its period) and goes on at 160, drifting up to 164 over 40 s.
    const beats: number[] = [];
    let t = 0;
    const glide = (fromBpm: number, toBpm: number, seconds: number) => {
      const start = t;
      for (; t < start + seconds; t += 60 / (fromBpm + ((t - start) / seconds) * (toBpm - fromBpm))) beats.push(t);
    };
    glide(128, 128, 60);
    glide(144, 156, 6);
    glide(160, 164, 40);
    // Act
    const changes = tempoChangesOf(Float64Array.from(beats));
    // Assess
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ kind: 'step', fromBpm: expect.closeTo(128, 0) });
    // The drift's first seconds: 160 to 161.6 over the 16 s the landing is read over.
    expect(Math.abs(changes[0].toBpm - 160)).toBeLessThanOrEqual(1);
  });

  it('tells the tempo the beat comes back at, not the first seconds of a grid still on its way there', () => {
    // Prepare: 30 s at 104 BPM; 50 s without beats (a held pad); then the grid's first 5 s back run at 120 BPM (its
    // tempo states were left where the pad had them) before it holds 130 for 60 s.
    const beats: number[] = [];
    let t = 0;
    const hold = (bpm: number, seconds: number) => {
      for (const start = t; t < start + seconds; t += 60 / bpm) beats.push(t);
    };
    hold(104, 30);
    t += 50;
    hold(120, 5);
    hold(130, 60);
    // Act
    const changes = tempoChangesOf(Float64Array.from(beats));
    // Assess
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ kind: 'step', fromBpm: expect.closeTo(104, 0) });
    expect(Math.abs(changes[0].toBpm - 130)).toBeLessThanOrEqual(1);
    expect(Math.abs(changes[0].atSec - 80)).toBeLessThanOrEqual(1);
  });

  it('bears out a step from a section whose middle has a weak pulse, where the rest of it has one, but not from a section without any', () => {
    // Prepare: segments every 4 s (100 frames a second) at 130 BPM to 270 s, 104 after; the pulse faint from 254 to
    // 262 s (as Colobot's Humanitarian before it steps back to its opening tempo).
    const fps = 100;
    const centers = Float64Array.from({ length: 73 }, (_, s) => (6 + 4 * s) * fps);
    const periods = Float64Array.from(centers, (c) => (60 * fps) / (c / fps < 270 ? 130 : 104));
    const faint = (from: number, to: number) => Float64Array.from(centers, (c) => (c / fps >= from && c / fps <= to ? 0.03 : 0.3));
    // Act
    const faintMiddle = tempoStateSupport(centers, periods, faint(254, 262), fps);
    const faintThroughout = tempoStateSupport(centers, periods, faint(250, 270), fps);
    // Assess: the section before the step runs 257-267 s (its middle 262), the one after 277-290.
    expect(faintMiddle(262, 283.5, 130, 104)).toBe(true);
    expect(faintThroughout(262, 283.5, 130, 104)).toBe(false);
    // The path must still move with the change.
    expect(faintMiddle(262, 283.5, 130, 160)).toBe(false);
  });

  it('drops a step of the beat grid that the tempo states do not show', () => {
    expect(tempoChangesOf(steppedGrid(), () => false)).toEqual([]);
  });
});
