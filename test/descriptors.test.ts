import Ajv from 'ajv';
import schema from '../core/schema/window-tags.schema.json';
import { TrackAnalyzer, analyzeWindow } from '../core/descriptors/index.ts';
import { FileLoudnessMeter } from '../core/descriptors/loudness.ts';
import type { WindowTags } from '../core/descriptors/types.ts';

const RATE = 16_000;

function sine(hz: number, amplitude: number, seconds: number): Float32Array {
  const out = new Float32Array(Math.round(RATE * seconds));
  for (let i = 0; i < out.length; i++) out[i] = amplitude * Math.sin((2 * Math.PI * hz * i) / RATE);
  return out;
}

function mix(...signals: Float32Array[]): Float32Array {
  const out = new Float32Array(Math.max(...signals.map((s) => s.length)));
  for (const s of signals) for (let i = 0; i < s.length; i++) out[i] += s[i];
  return out;
}

/** A decaying 1.2 kHz blip every 60/bpm seconds. */
function clickTrack(bpm: number, seconds: number): Float32Array {
  const out = new Float32Array(RATE * seconds);
  const period = (60 / bpm) * RATE;
  for (let start = 0; start < out.length; start += period) {
    const s = Math.round(start);
    for (let i = 0; i < 400 && s + i < out.length; i++) out[s + i] = 0.8 * Math.exp(-i / 60) * Math.sin((2 * Math.PI * 1200 * i) / RATE);
  }
  return out;
}

/** Deterministic white noise (a linear congruential generator), so the test cannot flake. */
function whiteNoise(amplitude: number, seconds: number): Float32Array {
  const out = new Float32Array(RATE * seconds);
  let state = 12345;
  for (let i = 0; i < out.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = amplitude * ((state / 2 ** 32) * 2 - 1);
  }
  return out;
}

/** A held C major chord of four harmonics a tone, over white noise: every band busy all the time. */
function denseBed(seconds: number): Float32Array {
  const bed = whiteNoise(0.12, seconds);
  for (const hz of [130.81, 164.81, 196, 261.63]) {
    for (let h = 1; h <= 4; h++) for (let i = 0; i < bed.length; i++) bed[i] += (0.08 / h) * Math.sin((2 * Math.PI * hz * h * i) / RATE);
  }
  return bed;
}

/** Plucked notes (two partials, 80 ms decay) walking a scale, `perSec` a second, the first at `offsetSec`. */
function plucks(seconds: number, perSec: number, amplitude: number, offsetSec = 0): Float32Array {
  const out = new Float32Array(RATE * seconds);
  const scale = [523.25, 587.33, 659.25, 783.99, 880, 1046.5, 1174.66, 1318.51];
  for (let k = 0; k < (seconds - offsetSec) * perSec; k++) {
    const hz = scale[(k * 5) % scale.length];
    const start = Math.round((offsetSec + k / perSec) * RATE);
    for (let i = start; i < Math.min(out.length, start + RATE / 4); i++) {
      const t = (i - start) / RATE;
      out[i] += amplitude * Math.exp(-t / 0.08) * (Math.sin(2 * Math.PI * hz * t) + 0.5 * Math.sin(4 * Math.PI * hz * t));
    }
  }
  return out;
}

const validate = new Ajv({ allErrors: true }).compile(schema);

function expectValidTags(tags: WindowTags): void {
  const valid = validate(tags);
  expect(validate.errors ?? []).toEqual([]);
  expect(valid).toBe(true);
  for (const value of Object.values(tags)) if (typeof value === 'number') expect(Number.isFinite(value)).toBe(true);
}

describe('analyzeWindow on signals with known answers', () => {
  it('puts the spectral centroid of a 440 Hz tone at 440 Hz', () => {
    // Prepare
    const tone = sine(440, 0.5, 5);
    // Act
    const tags = analyzeWindow(tone);
    // Assess
    expect(tags.spectralCentroidHz).toBeGreaterThan(430);
    expect(tags.spectralCentroidHz).toBeLessThan(450);
    expect(tags.percussiveRatio).toBeLessThan(0.1);
  });

  it.each([2000, 3000])('reads a steady %i Hz tone as sustained, not percussive', (hz) => {
    // A steady tone is constant in time: the time median of its band equals the tone, so the harmonic mask
    // takes it whole (Fitzgerald 2010). A time median that read a corrupted window (a value spilled from the
    // band below) called such tones more than half percussive.
    const tags = analyzeWindow(sine(hz, 0.5, 6));
    expect(tags.percussiveRatio).toBeLessThan(0.1);
  });

  it('reads a rising sweep as sustained, not percussive', () => {
    // A tone gliding across bands changes slowly at the pair rate: still a held sound, not an attack.
    const sweep = new Float32Array(RATE * 6);
    for (let i = 0; i < sweep.length; i++) {
      const t = i / RATE;
      sweep[i] = 0.5 * Math.sin(2 * Math.PI * (200 * t + 300 * t * t));
    }
    expect(analyzeWindow(sweep).percussiveRatio).toBeLessThan(0.1);
  });

  it('measures a 1 kHz sine peaking at -20 dBFS as -23.0 LUFS, -23.0 dBFS RMS and a 3 dB crest', () => {
    // Prepare
    const tone = sine(1000, 0.1, 10);
    // Act
    const tags = analyzeWindow(tone);
    // Assess
    expect(tags.loudnessLufs).toBeCloseTo(-23.0, 1);
    expect(tags.rmsDbfs).toBeCloseTo(-23.01, 1);
    expect(tags.peakDbfs).toBeCloseTo(-20, 1);
    expect(tags.crestDb).toBeCloseTo(3.01, 1);
    expect(tags.silenceRatio).toBe(0);
  });

  it('finds 120 BPM in a click track at 120 BPM, with confidence and a percussive balance', () => {
    // Prepare
    const clicks = clickTrack(120, 10);
    // Act
    const tags = analyzeWindow(clicks);
    // Assess
    expect(tags.bpm).not.toBeNull();
    expect(Math.abs(tags.bpm! / 120 - 1)).toBeLessThanOrEqual(0.03);
    expect(tags.bpmConfidence).toBeGreaterThan(0.5);
    expect(tags.onsetsPerSec).toBeGreaterThan(1.5);
    expect(tags.onsetsPerSec).toBeLessThan(2.5);
    expect(tags.percussiveRatio).toBeGreaterThan(0.5);
  });

  it.each([70, 75, 140])('finds %i BPM, not its double or half, in a plain click track', (bpm) => {
    const tags = analyzeWindow(clickTrack(bpm, 12));
    expect(tags.bpm).not.toBeNull();
    expect(Math.abs(tags.bpm! / bpm - 1)).toBeLessThanOrEqual(0.03);
  });

  it('names a held C major triad (with its bass note) C major', () => {
    // Prepare
    const triad = mix(sine(130.81, 0.15, 8), sine(261.63, 0.15, 8), sine(329.63, 0.15, 8), sine(392.0, 0.15, 8));
    // Act
    const tags = analyzeWindow(triad);
    // Assess
    expect(tags.key).toBe('C major');
    expect(tags.keyConfidence).toBeGreaterThan(0.3);
    expect(tags.bpm).toBeNull();
  });

  it('names an A minor triad A minor', () => {
    const triad = mix(sine(110, 0.15, 8), sine(220, 0.15, 8), sine(261.63, 0.15, 8), sine(329.63, 0.15, 8));
    expect(analyzeWindow(triad).key).toBe('A minor');
  });
});

describe('analyzeWindow on edge cases', () => {
  it('reports digital silence as silent, without tempo, key or loudness', () => {
    // Act
    const tags = analyzeWindow(new Float32Array(RATE * 3));
    // Assess
    expectValidTags(tags);
    expect(tags).toMatchObject({ bpm: null, bpmConfidence: 0, key: null, keyConfidence: 0, loudnessLufs: null, silenceRatio: 1 });
    expect(tags.rmsDbfs).toBe(-100);
    expect(tags.peakDbfs).toBe(-100);
  });

  it('gives one held note no tempo and no key: a single pitch names no key', () => {
    const tags = analyzeWindow(sine(440, 0.3, 6));
    expectValidTags(tags);
    expect(tags.bpm).toBeNull();
    expect(tags).toMatchObject({ key: null, keyConfidence: 0 });
  });

  it('gives white noise no tempo and no confident key', () => {
    const tags = analyzeWindow(whiteNoise(0.3, 10));
    expectValidTags(tags);
    expect(tags.bpm).toBeNull();
    expect(tags.keyConfidence).toBeLessThan(0.2);
    expect(tags.spectralCentroidHz).toBeGreaterThan(3000);
    expect(tags.onsetsPerSec).toBeLessThan(2);
  });

  it.each([0.03, 0.3, 0.9])('counts no attacks in white noise at %s full scale', (amplitude) => {
    expect(analyzeWindow(whiteNoise(amplitude, 10)).onsetsPerSec).toBeLessThan(0.3);
  });

  it.each([4, 8])('counts %s notes a second played over a loud held chord and noise (a dense mix)', (notesPerSec) => {
    // Where the bands are already full, a new note barely raises them: the old 32-band picker counted 0.5 and 0.8 a second here.
    const tags = analyzeWindow(mix(denseBed(10), plucks(10, notesPerSec, 0.2)));
    expect(tags.onsetsPerSec).toBeGreaterThan(0.7 * notesPerSec);
    expect(tags.onsetsPerSec).toBeLessThan(1.1 * notesPerSec);
  });

  it.each([
    ['one sample', new Float32Array([0.5])],
    ['a 0.3-second clip', sine(300, 0.5, 0.3)],
    ['a full-scale square wave', Float32Array.from(sine(100, 1, 2), (x) => (x >= 0 ? 1 : -1))],
  ])('returns finite, schema-valid tags for %s', (_name, samples) => {
    const tags = analyzeWindow(samples);
    expectValidTags(tags);
    expect(tags.bpm).toBeNull();
  });
});

/** A tone of 0.5 amplitude whose frequency follows `hzAt(t)`, with continuous phase (no click where it changes). */
function glidingTone(hzAt: (t: number) => number, seconds: number): Float32Array {
  const out = new Float32Array(RATE * seconds);
  let phase = 0;
  for (let i = 0; i < out.length; i++) {
    phase += (2 * Math.PI * hzAt(i / RATE)) / RATE;
    out[i] = 0.5 * Math.sin(phase);
  }
  return out;
}

function shortFramesOf(samples: Float32Array) {
  const analyzer = new TrackAnalyzer(RATE);
  analyzer.push(samples);
  analyzer.finish([]);
  return analyzer.frames.short;
}

const largestIn = (series: Float32Array, from: number, to: number) => Math.max(...series.subarray(from, to));

describe('SuperFlux, the onset envelope the beat tracker follows', () => {
  it('marks a new note a semitone away at the same loudness, and not a vibrato of half a semitone', () => {
    // Prepare: 1 kHz, then a semitone up at 1 s (both inside one of the 32 wide bands); a 6 Hz vibrato of ±50 cents.
    const step = shortFramesOf(glidingTone((t) => (t < 1 ? 1000 : 1000 * 2 ** (1 / 12)), 2));
    const vibrato = shortFramesOf(glidingTone((t) => 1000 * 2 ** (0.5 * Math.sin(2 * Math.PI * 6 * t) / 12), 2));
    // Act: 10-ms frames; the step lies in frames 95-110
    const atStep = largestIn(step.superFlux.values(), 95, 110);
    const steady = largestIn(step.superFlux.values(), 20, 90);
    const inVibrato = largestIn(vibrato.superFlux.values(), 20, 190);
    // Assess: the new note stands far above the vibrato, which the maximum filter across bands absorbs; the
    // loudness-weighted band flux (the accents) sees the step no more than the vibrato.
    expect(steady).toBeLessThan(1e-6);
    expect(atStep).toBeGreaterThan(10 * inVibrato);
    expect(largestIn(step.beatFlux.values(), 95, 110)).toBeLessThan(largestIn(vibrato.beatFlux.values(), 20, 190));
  });
});

describe('the same music at any playback level', () => {
  // Prepare: 20 s of plucked notes on the beat at 120 BPM, and between them notes 24 dB softer (as a soft piano
  // passage or a quiet recording has them); the whole at 1/8 (−18 dB) and 4 times (+12 dB) the amplitude too.
  const music = mix(plucks(20, 2, 0.25), plucks(20, 2, 0.25 / 16, 0.25));
  const analyse = (gain: number) => {
    const analyzer = new TrackAnalyzer(RATE);
    analyzer.push(Float32Array.from(music, (x) => x * gain));
    return analyzer.finish([{ startSec: 0, endSec: 10 }, { startSec: 10, endSec: 20 }]);
  };
  let reference: ReturnType<typeof analyse>;
  beforeAll(() => {
    reference = analyse(1);
  });

  it.each([1 / 8, 4])('hears the same onsets, beats and tempo at %s times the amplitude', (gain) => {
    // Act
    const scaled = analyse(gain);
    // Assess: with SuperFlux compressed on fixed magnitudes, the soft notes fell into the logarithm's linear part
    // at −18 dB, and the count of onsets (and with it a track's beat) depended on the level.
    expect(scaled.windows.map((w) => w.onsetsPerSec)).toEqual(reference.windows.map((w) => w.onsetsPerSec));
    expect(scaled.track.bpm).toBe(reference.track.bpm);
    expect(scaled.analysis.beats).toEqual(reference.analysis.beats);
  });

  it('counts most of the soft notes between the beats as onsets', () => {
    // Two loud notes a second and two soft ones: more than the loud ones alone, no more than all four.
    for (const window of reference.windows) {
      expect(window.onsetsPerSec).toBeGreaterThanOrEqual(3);
      expect(window.onsetsPerSec).toBeLessThanOrEqual(4.1);
    }
  });
});

describe('TrackAnalyzer streaming', () => {
  it('gives the same tags whatever the chunk size', () => {
    // Prepare
    const signal = mix(clickTrack(100, 12), sine(220, 0.2, 12));
    const inOneGo = new TrackAnalyzer();
    inOneGo.push(signal);
    const inChunks = new TrackAnalyzer();
    for (let i = 0; i < signal.length; i += 4097) inChunks.push(signal.subarray(i, i + 4097));
    const windows = [{ startSec: 0, endSec: 10 }, { startSec: 2, endSec: 12 }];
    // Act
    const a = inOneGo.finish(windows);
    const b = inChunks.finish(windows);
    // Assess
    expect(b).toEqual(a);
  });

  it('measures each requested window on its own, overlapping ones included', () => {
    // Prepare: 10 s of a loud tone, then 10 s of silence
    const analyzer = new TrackAnalyzer();
    analyzer.push(sine(1000, 0.5, 10));
    analyzer.push(new Float32Array(RATE * 10));
    // Act
    const { track, windows } = analyzer.finish([
      { startSec: 0, endSec: 10 }, { startSec: 10, endSec: 20 }, { startSec: 5, endSec: 15 },
    ]);
    // Assess
    expect(windows).toHaveLength(3);
    expect(windows[0].silenceRatio).toBe(0);
    expect(windows[1].silenceRatio).toBe(1);
    // Only the K-weighting filter's decay (a few ms) reaches past the cut.
    expect(windows[1].loudnessLufs ?? -100).toBeLessThan(-45);
    expect(windows[2].silenceRatio).toBeCloseTo(0.5, 1);
    expect(windows[0].loudnessLufs).toBeCloseTo(-9.03, 1);
    // Gating keeps the track's integrated loudness at the level of its loud half.
    expect(track.loudnessLufs).toBeCloseTo(-9.03, 0);
    expect(track.loudnessRangeLu).toBeGreaterThanOrEqual(0);
    expectValidTags(track);
  });

  it('gives the same tags without its mono loudness when the file loudness is handed in, and refuses to finish without it', () => {
    // Prepare: the file's loudness as a real measurement of another signal (not the mono fallback's own)
    const signal = mix(clickTrack(100, 12), sine(220, 0.2, 12));
    const fileLoudness = new FileLoudnessMeter(RATE, 1, [1]);
    fileLoudness.push(sine(440, 0.3, 12));
    const measured = fileLoudness.finish();
    const windows = [{ startSec: 0, endSec: 10 }, { startSec: 2, endSec: 12 }];
    const withMono = new TrackAnalyzer();
    const withoutMono = new TrackAnalyzer();
    const unfinished = new TrackAnalyzer();
    // Act
    expect(withoutMono.withoutMonoLoudness()).toBe(true);
    expect(unfinished.withoutMonoLoudness()).toBe(true);
    for (let i = 0; i < signal.length; i += 4097) {
      withMono.push(signal.subarray(i, i + 4097));
      withoutMono.push(signal.subarray(i, i + 4097));
      unfinished.push(signal.subarray(i, i + 4097));
    }
    // Assess
    expect(withMono.withoutMonoLoudness()).toBe(false);
    expect(withoutMono.finish(windows, { fileLoudness: measured })).toEqual(withMono.finish(windows, { fileLoudness: measured }));
    expect(() => unfinished.finish(windows, { fileLoudness: null })).toThrow(expect.objectContaining({ name: 'DescriptorError' }));
  });

  it('gives a one-window result for a track shorter than 10 s and rejects pushes after finish', () => {
    const analyzer = new TrackAnalyzer();
    analyzer.push(sine(500, 0.2, 3));
    const { windows } = analyzer.finish([{ startSec: 0, endSec: 3 }]);
    expect(windows).toHaveLength(1);
    expect(() => analyzer.push(new Float32Array(10))).toThrow(expect.objectContaining({ name: 'DescriptorError' }));
  });
});
