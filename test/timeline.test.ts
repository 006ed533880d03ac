import type { SongSection, TrackAnalysis } from '#core/descriptors/types';
import { beatTicks, fits, keyMarks, labelColour, loudnessPath, sectionAt, sectionBands, tempoMarks, TIMELINE } from '../frontend/lib/timeline.ts';
import { captionerWords, failureSentence, songBaseName, trackTagWords, windowFacts } from '../frontend/lib/words.ts';

const HOUR = 3600;

function analysis(overrides: Partial<TrackAnalysis> = {}): TrackAnalysis {
  return { beats: [], downbeats: [], tempoChanges: [], keySections: [], loudnessCurve: [], ...overrides };
}

/** A steady beat grid: `bpm` over `seconds`, a bar every `perBar` beats. */
function grid(bpm: number, seconds: number, perBar = 4): Pick<TrackAnalysis, 'beats' | 'downbeats'> {
  const beats = Array.from({ length: Math.floor((seconds * bpm) / 60) }, (_, i) => Number(((i * 60) / bpm).toFixed(3)));
  return { beats, downbeats: beats.map((_, i) => i).filter((i) => i % perBar === 0) };
}

const section = (index: number, startSec: number, endSec: number, label: string): SongSection => ({
  index,
  startSec,
  endSec,
  label,
  name: null,
  tags: { bpm: 120, key: 'C major', loudnessLufs: -12, energy: 1, spectralCentroidHz: 2000 },
});

describe('the timeline geometry', () => {
  it('draws an hour of loudness with at most one point per two pixels of a phone screen', () => {
    // Prepare
    const curve = Array.from({ length: HOUR }, (_, i) => -20 + 10 * Math.sin(i / 60));

    // Act
    const d = loudnessPath(curve, HOUR, 360, 44);

    // Assess
    const points = d.match(/L/g)?.length ?? 0;
    expect(points).toBeLessThanOrEqual(360 / TIMELINE.CURVE_PX_PER_POINT + 1);
    expect(points).toBeGreaterThan(100);
    expect(d.startsWith('M0 44')).toBe(true);
    expect(d.endsWith('Z')).toBe(true);
  });

  it('keeps the loudest second of a bucket so a short peak survives the reduction', () => {
    // Prepare
    const curve = Array.from({ length: HOUR }, (_, i) => (i === 1800 ? -5 : -30));

    // Act
    const ys = [...loudnessPath(curve, HOUR, 360, 44).matchAll(/L[\d.]+ ([\d.]+)/g)].map((m) => Number(m[1]));

    // Assess: the top of the box (y ≈ 2) is reached once, where the peak is.
    expect(ys.filter((y) => y < 5)).toHaveLength(1);
  });

  it('draws no curve for silence', () => {
    expect(loudnessPath(Array(30).fill(-70), 30, 800, 44)).toBe('');
  });

  it('ticks every beat of a short song on a desktop, and thins an hour to bar groups at least 6 px apart on a phone', () => {
    // Prepare
    const short = grid(96, 30);
    const long = grid(120, HOUR);

    // Act
    const desktop = beatTicks(short, 30, 1000);
    const phone = beatTicks(long, HOUR, 360);

    // Assess
    expect(desktop.level).toBe('beats');
    expect(desktop.times).toHaveLength(short.beats.length);
    expect(phone.level).toMatch(/^every \d+ bars$/);
    const gapPx = ((phone.times[1] - phone.times[0]) / HOUR) * 360;
    expect(gapPx).toBeGreaterThanOrEqual(TIMELINE.MIN_TICK_GAP_PX);
    expect(phone.times.length).toBeLessThanOrEqual(360 / TIMELINE.MIN_TICK_GAP_PX);
  });

  it('marks tempo and key only where they change', () => {
    // Prepare
    const result = {
      tags: { bpm: 100 } as never,
      analysis: analysis({
        tempoChanges: [{ atSec: 60, fromBpm: 100, toBpm: 128, kind: 'step' }],
        keySections: [
          { startSec: 0, endSec: 40, key: 'A minor', confidence: 0.8 },
          { startSec: 40, endSec: 80, key: 'A minor', confidence: 0.7 },
          { startSec: 80, endSec: 120, key: 'C major', confidence: 0.8 },
        ],
      }),
    };

    // Act
    const tempo = tempoMarks(result, 120, 1000);
    const keys = keyMarks(result, 120, 1000);

    // Assess
    expect(tempo.map((m) => [m.atSec, m.untilSec, m.text])).toEqual([
      [0, 60, '100 BPM'],
      [60, 120, '128 BPM'],
    ]);
    expect(keys.map((m) => [m.atSec, m.untilSec, m.text])).toEqual([
      [0, 80, 'A minor'],
      [80, 120, 'C major'],
    ]);
    expect(keys.every((m) => m.labelled)).toBe(true);
  });

  it('opens the tempo lane at the tempo the beat grid opens at, not the one it drifted to before the first change', () => {
    // Prepare: 120 BPM for 40 s, then (no change listed for the drift) 108 BPM up to a step to 135 at 60 s.
    const opening = grid(120, 40).beats;
    const drift = grid(108, 20).beats.map((t) => t + 40);
    const result = {
      tags: { bpm: 120 } as never,
      analysis: analysis({ beats: [...opening, ...drift], tempoChanges: [{ atSec: 60, fromBpm: 108, toBpm: 135, kind: 'step' }] }),
    };

    // Act
    const tempo = tempoMarks(result, 120, 1000);

    // Assess
    expect(tempo.map((m) => [m.atSec, m.text])).toEqual([
      [0, '120 BPM'],
      [60, '135 BPM'],
    ]);
  });

  it('shows no key where the captions say the harmony has lost its clear key: the key lane, the window facts and the track tag', () => {
    // Prepare: a key section measured at 0.17, under the confidence the captions and the summary state a key at.
    const result = {
      tags: { bpm: 100 } as never,
      analysis: analysis({
        keySections: [
          { startSec: 0, endSec: 40, key: 'B minor', confidence: 0.37 },
          { startSec: 40, endSec: 66, key: 'C# minor', confidence: 0.17 },
          { startSec: 66, endSec: 120, key: 'E major', confidence: 0.76 },
        ],
      }),
    };

    // Act
    const keys = keyMarks(result, 120, 1000).map((m) => m.text);
    const facts = windowFacts({ bpm: 171, key: 'C# minor', keyConfidence: 0.17, loudnessLufs: -12 });
    const unclearTrack = trackTagWords({ tags: { bpm: null, key: 'C# minor', keyConfidence: 0.17, loudnessLufs: null, loudnessRangeLu: NaN, truePeakDbtp: NaN, percussiveRatio: 0.3, spectralCentroidHz: 900 } as never, analysis: analysis() });

    // Assess
    expect(keys).toEqual(['B minor', 'no clear key', 'E major']);
    expect(facts).toBe('171 BPM · -12 LUFS');
    expect(windowFacts({ bpm: 171, key: 'E major', keyConfidence: 0.76, loudnessLufs: -12 })).toBe('171 BPM · E major · -12 LUFS');
    expect(unclearTrack.map((w) => w.words)).not.toContain('C# minor');
  });

  it('shows a key path of up to four keys whole, and a longer one by its first two keys and its last, with the count', () => {
    // Prepare
    const keys = ['C# minor', 'D minor', 'C# major', 'B minor', 'E major', 'C minor', 'F minor', 'D major', 'G major', 'C major', 'Eb major', 'E minor'];
    const path = (count: number) => analysis({
      keySections: keys.slice(0, count).map((key, i) => ({ startSec: 60 * i, endSec: 60 * (i + 1), key, confidence: 0.8 })),
    });
    const tags = { bpm: 120, key: 'C# minor', keyConfidence: 0.8, loudnessLufs: -14, loudnessRangeLu: 6, truePeakDbtp: -1.5, percussiveRatio: 0.3, spectralCentroidHz: 1500 } as never;
    // Act
    const keyTag = (count: number) => trackTagWords({ tags, analysis: path(count) }).find((t) => t.words.startsWith('changes key'))!;
    // Assess
    expect(keyTag(4)).toMatchObject({ words: 'changes key: C# minor → D minor → C# major → B minor', number: '4 keys' });
    expect(keyTag(12)).toMatchObject({ words: 'changes key: C# minor → D minor → … → E minor', number: '12 keys' });
  });

  it('tags a track that repeats as a whole with how often and how long a round is, and no other track', () => {
    // Prepare
    const tags = { bpm: 120, key: 'A minor', keyConfidence: 0.8, loudnessLufs: -14, loudnessRangeLu: 6, truePeakDbtp: -1.5, percussiveRatio: 0.3, spectralCentroidHz: 1500 } as never;
    // Act
    const looped = trackTagWords({ tags, analysis: analysis({ loop: { startSec: 1.5, periodSec: 304.1, passes: 5.5 } }) });
    const short = trackTagWords({ tags, analysis: analysis({ loop: { startSec: 3, periodSec: 38, passes: 1.97 } }) });
    const plain = trackTagWords({ tags, analysis: analysis() });
    // Assess
    expect(looped).toContainEqual(expect.objectContaining({ words: 'repeats as a whole, 5½ times', number: 'every 5:04' }));
    expect(short).toContainEqual(expect.objectContaining({ words: 'repeats as a whole, twice', number: 'every 38 s' }));
    expect(plain.map((t) => t.words).join(' ')).not.toContain('repeats');
  });

  it('labels a band with its title where it fits, with its letter where only that fits, and not at all when narrower', () => {
    // Prepare
    const sections = [section(0, 0, 900, 'A'), section(1, 900, 1100, 'B'), section(2, 1100, 1102, 'A'), section(3, 1102, HOUR, 'C')];

    // Act
    const bands = sectionBands(sections, HOUR, 360, (s) => `Section ${s.label}`);

    // Assess
    expect(bands.map((b) => b.visibleText)).toEqual(['Section A', 'B', '', 'Section C']);
    expect(bands[0].colour).toBe(bands[2].colour);
    expect(new Set(bands.map((b) => b.colour)).size).toBe(3);
    expect(bands.at(-1)!.x + bands.at(-1)!.width).toBeCloseTo(360);
    expect(fits('B', bands[1].width)).toBe(true);
  });

  it('finds the section at a time, the last one at the very end', () => {
    const sections = [section(0, 0, 10, 'A'), section(1, 10, 25, 'B')];
    expect([sectionAt(sections, 0)?.label, sectionAt(sections, 10)?.label, sectionAt(sections, 25)?.label]).toEqual(['A', 'B', 'B']);
    expect(labelColour('A')).not.toBe(labelColour('B'));
  });
});

describe('the result page in plain words', () => {
  it('says each measurement in words first, keeping the number and what it means', () => {
    // Prepare
    const tags = {
      bpm: 124,
      bpmConfidence: 0.9,
      key: 'A minor',
      keyConfidence: 0.7,
      loudnessLufs: -9.5,
      shortTermMaxLufs: -8,
      rmsDbfs: -12,
      peakDbfs: -0.1,
      crestDb: 10,
      spectralCentroidHz: 1100,
      onsetsPerSec: 4,
      silenceRatio: 0,
      percussiveRatio: 0.9,
      loudnessRangeLu: 6.1,
      truePeakDbtp: -0.3,
      meter: '4/4' as const,
      meterConfidence: 0.8,
    };

    // Act
    const words = trackTagWords({ tags, analysis: analysis() });

    // Assess
    expect(words.map((w) => w.words)).toEqual([
      'upbeat tempo',
      '4 beats to the bar',
      'A minor',
      'loud, mastered hot',
      'some loud and soft passages',
      'peaks at the very top',
      'driven by percussion',
      'mellow',
    ]);
    expect(words.map((w) => w.number)).toEqual(['124 BPM', '4/4', '70% sure', '-9.5 LUFS', '6.1 LU range', '-0.3 dBTP', '90% percussive', '1.1 kHz']);
    expect(words.every((w) => w.explanation.length > 20)).toBe(true);
  });

  it('tells a failed run in one sentence by what happened to the file', () => {
    expect(failureSentence({ name: 'InvalidAudio', step: 'Preprocess' })).toBe('This file could not be read as audio.');
    expect(failureSentence({ name: 'States.Timeout', step: 'Caption' })).toBe('Something went wrong while the song was at the Caption step.');
    expect(failureSentence(undefined)).toBe('Something went wrong and the run stopped.');
  });

  it('names downloads after the song without its extension', () => {
    expect([songBaseName('Evening-Song.mp3'), songBaseName('live.set.flac'), songBaseName('.mp3'), songBaseName('no extension')]).toEqual([
      'Evening-Song',
      'live.set',
      '.mp3',
      'no extension',
    ]);
  });
});

describe('who wrote the captions, in plain words', () => {
  it('names the model, and says how many windows fell back to the measurements and why', () => {
    expect(captionerWords({ backend: 'audio-llm', model: 'gpt-audio-1.5', windows: 18, fallbacks: 0 })).toBe('written by gpt-audio-1.5');
    expect(captionerWords({ backend: 'audio-llm', model: 'gpt-audio-1.5', windows: 18, fallbacks: 2, fallbackReason: 'The audio model kept timing out.' })).toBe(
      'written by gpt-audio-1.5; 2 windows from the measurements instead (The audio model kept timing out)',
    );
    expect(captionerWords({ backend: 'builtin', model: 'measurements-v2', fallbackReason: 'The audio LLM refused the API key (401).' })).toBe(
      'written from the measurements (The audio LLM refused the API key (401))',
    );
    expect(captionerWords({ backend: 'builtin', model: 'measurements-v2' })).toBe('written from the measurements');
  });
});
