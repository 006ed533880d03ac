import type { ResultChunk } from '#core/contract';
import type { SongSection } from '#core/descriptors/types';
import { captionCues, cueAt, sectionTitle, timestamp, toSrt, toWebVtt, toWebVttChapters } from '#core/subtitles';

const tags = {
  bpm: 120,
  bpmConfidence: 0.9,
  key: 'A minor',
  keyConfidence: 0.7,
  loudnessLufs: -14,
  shortTermMaxLufs: -12,
  rmsDbfs: -17,
  peakDbfs: -1,
  crestDb: 16,
  spectralCentroidHz: 1800,
  onsetsPerSec: 3,
  silenceRatio: 0,
  percussiveRatio: 0.4,
};

/** Windows of 10 s over a track of `durationSec`, the last one aligned to the end, as preprocess plans them. */
function chunksFor(durationSec: number, captionOf: (index: number) => string): ResultChunk[] {
  const count = Math.ceil(durationSec / 10);
  return Array.from({ length: count }, (_, index) => {
    const startSec = index === count - 1 ? Math.max(0, durationSec - 10) : index * 10;
    return { index, startSec, endSec: Math.min(durationSec, startSec + 10), caption: captionOf(index), quality: 'ok', tags };
  });
}

describe('timestamp', () => {
  it.each([
    [0, ',', '00:00:00,000'],
    [9.9996, ',', '00:00:10,000'],
    [61.25, '.', '00:01:01.250'],
    [3725.5, '.', '01:02:05.500'],
  ] as const)('writes %p s with "%s" as %p', (seconds, separator, written) => {
    expect(timestamp(seconds, separator)).toBe(written);
  });
});

describe('captionCues', () => {
  it('starts the tail-aligned last window where the one before it ends, so cues never overlap', () => {
    // Prepare
    const chunks = chunksFor(25, (i) => `caption ${i}`);

    // Act
    const cues = captionCues(chunks);

    // Assess
    expect(chunks.map((chunk) => [chunk.startSec, chunk.endSec])).toEqual([
      [0, 10],
      [10, 20],
      [15, 25],
    ]);
    expect(cues.map((cue) => [cue.index, cue.startSec, cue.endSec])).toEqual([
      [0, 0, 10],
      [1, 10, 20],
      [2, 20, 25],
    ]);
  });

  it('leaves out windows without a caption and puts captions on one line', () => {
    // Prepare
    const chunks = chunksFor(30, (i) => (i === 1 ? '   ' : `line one\n\nline ${i}`));

    // Act
    const cues = captionCues(chunks);

    // Assess
    expect(cues.map((cue) => [cue.index, cue.text])).toEqual([
      [0, 'line one line 0'],
      [2, 'line one line 2'],
    ]);
  });

  it('finds the cue playing at a moment, and none past the end', () => {
    // Prepare
    const cues = captionCues(chunksFor(25, (i) => `caption ${i}`));

    // Act + Assess
    expect(cueAt(cues, 0)?.index).toBe(0);
    expect(cueAt(cues, 10)?.index).toBe(1);
    expect(cueAt(cues, 17.5)?.index).toBe(1);
    expect(cueAt(cues, 24.9)?.index).toBe(2);
    expect(cueAt(cues, 25)).toBeUndefined();
  });
});

describe('toSrt', () => {
  it('writes numbered cues with comma milliseconds, separated by blank lines', () => {
    // Prepare
    const result = { chunks: chunksFor(25, (i) => `Window ${i} has a soft piano.`) };

    // Act
    const srt = toSrt(result);

    // Assess
    expect(srt).toBe(
      [
        '1\n00:00:00,000 --> 00:00:10,000\nWindow 0 has a soft piano.\n',
        '2\n00:00:10,000 --> 00:00:20,000\nWindow 1 has a soft piano.\n',
        '3\n00:00:20,000 --> 00:00:25,000\nWindow 2 has a soft piano.\n',
      ].join('\n'),
    );
  });

  it('writes nothing for a result without captions', () => {
    expect(toSrt({ chunks: [] })).toBe('');
  });
});

describe('toWebVtt', () => {
  it('starts with the WEBVTT header and writes dot milliseconds', () => {
    // Prepare
    const result = { chunks: chunksFor(12, (i) => `caption ${i}`) };

    // Act
    const vtt = toWebVtt(result);

    // Assess
    expect(vtt).toBe('WEBVTT\n\n1\n00:00:00.000 --> 00:00:10.000\ncaption 0\n\n2\n00:00:10.000 --> 00:00:12.000\ncaption 1\n');
  });

  it('escapes markup and arrows in model output so a caption stays text inside its own cue', () => {
    // Prepare
    const result = { chunks: chunksFor(10, () => 'a <b>bold</b> & loud --> drop\n\n99\n00:00:00.000 --> 00:00:05.000') };

    // Act
    const vtt = toWebVtt(result);

    // Assess
    const cueBlocks = vtt.trim().split(/\n\n/);
    expect(cueBlocks).toHaveLength(2);
    expect(cueBlocks[1]).toBe(
      '1\n00:00:00.000 --> 00:00:10.000\na &lt;b&gt;bold&lt;/b&gt; &amp; loud --&gt; drop 99 00:00:00.000 --&gt; 00:00:05.000',
    );
  });
});

describe('toWebVttChapters', () => {
  const section = (index: number, startSec: number, endSec: number, label: string, name: SongSection['name'] = null): SongSection => ({
    index,
    startSec,
    endSec,
    label,
    name,
    tags: { bpm: 96, key: 'A minor', loudnessLufs: -14, energy: 0.8, spectralCentroidHz: 1500 },
  });

  it('writes one chapter per section in time order, titled with its plain name and its label', () => {
    // Prepare
    const sections = [section(1, 20.5, 95, 'A'), section(0, 0, 20.5, 'B', 'intro'), section(2, 95, 3725.25, 'A', 'peak')];

    // Act
    const vtt = toWebVttChapters({ sections });

    // Assess
    expect(vtt).toBe(
      'WEBVTT\n\n' +
        '1\n00:00:00.000 --> 00:00:20.500\nIntro (B)\n\n' +
        '2\n00:00:20.500 --> 00:01:35.000\nSection A\n\n' +
        '3\n00:01:35.000 --> 01:02:05.250\nLoudest part (A)\n',
    );
  });

  it('writes only the header for a result written before sections existed', () => {
    expect(toWebVttChapters({})).toBe('WEBVTT\n');
  });

  it('names the quiet break and the outro in a listener\'s words', () => {
    expect([sectionTitle({ label: 'C', name: 'break' }), sectionTitle({ label: 'A', name: 'outro' })]).toEqual(['Quiet break (C)', 'Outro (A)']);
  });
});
