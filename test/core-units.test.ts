/** The AWS-free core: captions from measurements, summaries, failure sentences, ids and configuration. */
import type { Manifest, ManifestWindow, ResultChunk } from '#core/contract';
import type { TrackAnalysis, TrackTags, WindowTags } from '#core/descriptors/types';
import { captionWindows } from '#core/builtin-captioner';
import { withoutNumbers } from '#core/song-shape';
import { failureDocument } from '#core/failure';
import { newUploadId, safeFileName, uploadRefFromKey, UPLOAD_ID_PATTERN } from '#core/ids';
import { findContradictions, localSummary, mergeCaptionParts } from '#core/summary';
import { loadStartConfig } from '../functions/shared/config.ts';
import { decodeS3Key } from '../functions/start/start.ts';
import { explainFailure } from '#core/ffmpeg';
import { encodeS3EventKey } from '../runtime/s3.ts';
import { windowTags } from './helpers/tags.ts';

const tags = windowTags;
const track = (over: Partial<TrackTags> = {}): TrackTags => ({ ...tags(), loudnessRangeLu: 8, truePeakDbtp: -1.2, meter: '4/4', meterConfidence: 0.6, ...over });
const analysis = (over: Partial<TrackAnalysis> = {}): TrackAnalysis => ({
  beats: [],
  downbeats: [],
  tempoChanges: [],
  keySections: [{ startSec: 0, endSec: 95, key: 'A minor', confidence: 0.7 }],
  loudnessCurve: [],
  ...over,
});
const windowsOf = (list: Array<Partial<WindowTags>>): ManifestWindow[] =>
  list.map((over, index) => ({ index, file: `${String(index).padStart(5, '0')}.npy`, startSec: index * 10, endSec: index * 10 + 10, tags: tags(over) }));

describe('the built-in captioner', () => {
  it('opens with tempo, meter, key and how loud the master is, then says only what changed', () => {
    // Prepare
    const windows = windowsOf([{}, { loudnessLufs: -6, spectralCentroidHz: 1400 }]);
    // Act
    const [first, second] = captionWindows(windows, { track: track(), analysis: analysis() });
    // Assess
    expect(first.caption).toBe(
      'Opens with a moderate beat at about 97 BPM in 4/4, in A minor. At the usual streaming level (about -14 LUFS overall); mellow, driven by percussion, with steady attacks.',
    );
    expect(second.caption).toBe('The track reaches its loudest (-6 LUFS). Brighter.');
  });

  it('keeps calling one steady beat a groove or a pulse, and changes the word only when the percussion clearly changes', () => {
    // Prepare: a percussive share a hundredth either side of the groove line, then clearly below it.
    const shares = [0.36, 0.34, 0.36, 0.34, 0.36, 0.2, 0.21];
    const windows = windowsOf(shares.map((percussiveRatio) => ({ percussiveRatio })));
    // Act
    const captions = captionWindows(windows, { track: track(), analysis: analysis() }).map((c) => c.caption);
    const nouns = captions.slice(1).map((c) => /the (groove|pulse)/i.exec(c)?.[1]?.toLowerCase() ?? null);
    // Assess
    expect(nouns.slice(0, 4)).toEqual(['groove', 'groove', 'groove', 'groove']);
    expect(nouns[5]).toBe('pulse');
  });

  it('says a slightly quieter window is "a little quieter", in words about level', () => {
    // Prepare: 1.5 LU down (half a noticeable step and more, under a plain one).
    const windows = windowsOf([{}, { loudnessLufs: -15.5 }]);
    // Act
    const [, second] = captionWindows(windows, { track: track(), analysis: analysis() });
    // Assess: "easing back" read as a slower tempo.
    expect(second.caption).toContain('a little quieter');
  });

  it('narrates a modulation and a tempo change only where the analysis has them', () => {
    // Prepare
    const windows = windowsOf([{}, { key: 'C major' }, { bpm: 120, key: 'C major' }]);
    const context = {
      track: track(),
      analysis: analysis({
        keySections: [{ startSec: 0, endSec: 13, key: 'A minor', confidence: 0.7 }, { startSec: 13, endSec: 30, key: 'C major', confidence: 0.6 }],
        tempoChanges: [{ atSec: 21, fromBpm: 97, toBpm: 120, kind: 'step' }],
      }),
    };
    // Act
    const captions = captionWindows(windows, context).map((c) => c.caption);
    // Assess
    expect(captions[1]).toBe('The music modulates from A minor to C major.');
    expect(captions[2]).toBe('The tempo steps up from about 97 to 120 BPM.');
  });

  it('does not claim a beat or a key it did not measure', () => {
    const [only] = captionWindows(windowsOf([{ bpm: null, bpmConfidence: 0, key: null, keyConfidence: 0, onsetsPerSec: 0.2 }]), {
      track: track({ bpm: null, meter: null, key: null }),
      analysis: analysis({ keySections: [{ startSec: 0, endSec: 10, key: null, confidence: 0 }] }),
    });
    expect(only.caption).toMatch(/^Opens with free-flowing sound and no steady beat, with no clear key\./);
    expect(only.caption).not.toMatch(/BPM|major|minor|4\/4/);
  });

  it('calls near silence what it is', () => {
    const context = { track: track(), analysis: analysis() };
    const silent = { loudnessLufs: null, silenceRatio: 1, bpm: null };
    expect(captionWindows(windowsOf([silent]), context)[0].caption).toBe('Near silence, with no music to speak of.');
    expect(captionWindows(windowsOf([{}, silent, {}]), context)[1].caption).toBe('The music stops: near silence.');
  });

  it('writes a different caption for each of several windows of the same music, keeping index and times', () => {
    // Act
    const captions = captionWindows(windowsOf([{}, {}, {}, {}]), { track: track(), analysis: analysis() });
    // Assess
    expect(new Set(captions.map((c) => withoutNumbers(c.caption))).size).toBe(4);
    expect(captions.map((c) => [c.index, c.startSec, c.endSec, c.quality])).toEqual([[0, 0, 10, 'ok'], [1, 10, 20, 'ok'], [2, 20, 30, 'ok'], [3, 30, 40, 'ok']]);
  });
});

describe('summaries', () => {
  const manifest = (over: Partial<TrackTags> = {}, windows: ManifestWindow[] = []): Manifest => ({
    version: 1,
    id: 'x',
    upload: { bucket: 'b', key: 'uploads/x/tune.mp3' },
    file: { name: 'tune.mp3', sizeBytes: 1, durationSec: 95, sampleRate: 44100, channels: 2, codec: 'mp3' },
    sampleRate: 16000,
    windowSamples: 160000,
    windows,
    tags: track(over),
    analysis: analysis(),
  });
  const chunk = (index: number, caption: string, over: Partial<WindowTags> = {}, quality: 'ok' | 'degenerate' = 'ok'): ResultChunk => ({
    index, startSec: index * 10, endSec: index * 10 + 10, caption, quality, tags: tags(over),
  });

  it('finds tempos, keys and meters the text states that were never measured, spelling enharmonics alike', () => {
    const found = findContradictions(
      'A 140 BPM anthem in G# minor, then 97 bpm in Ab minor and A minor, in 4/4 and then 6/8.',
      track({ key: 'Ab minor' }),
      analysis({ keySections: [{ startSec: 0, endSec: 40, key: 'Ab minor', confidence: 0.6 }, { startSec: 40, endSec: 95, key: 'A minor', confidence: 0.6 }] }),
    );
    expect(found).toEqual(['states 140 BPM but the measured tempo is 97 BPM', 'states 6/8 but the measured meter is 4/4']);
  });

  it('builds the local summary from the shape of the measurements and keeps what BART heard, leaving out looping captions', () => {
    // Act
    const text = localSummary(
      manifest(),
      [
        chunk(0, 'Soft piano opens the piece over a quiet pad.', { loudnessLufs: -30, bpm: null }),
        chunk(1, 'very first notes p p long notes long notes long notes', {}, 'degenerate'),
        chunk(2, 'Drums enter and the band plays loud and driving.', { loudnessLufs: -14 }),
      ],
      { backend: 'python', model: 'lp-music-caps' },
    );
    // Assess
    expect(text).toMatch(/^"tune\.mp3" runs 1:35 at about 97 BPM in 4\/4, in A minor\./);
    expect(text).toContain('The master is at the usual streaming level: -14.0 LUFS integrated, right at the -14 LUFS streaming reference');
    expect(text).toContain('It opens quietly.');
    expect(text).toContain('soft piano opens the piece over a quiet pad');
    expect(text).not.toContain('first notes');
    expect(text).toContain('1 window caption was left out because the captioner repeated itself');
  });

  it('merges shard parts in window order, first caption of a window winning', () => {
    const merged = mergeCaptionParts([
      [{ index: 2, startSec: 20, endSec: 30, caption: 'c' }],
      [{ index: 0, startSec: 0, endSec: 10, caption: 'a' }, { index: 2, startSec: 20, endSec: 30, caption: 'dup' }],
    ]);
    expect(merged.map((c) => c.caption)).toEqual(['a', 'c']);
  });
});

describe('failure documents', () => {
  it('turn Lambda causes, job failures and timeouts into sentences', () => {
    const lambda = failureDocument('r', 'Preprocess', { Error: 'InvalidAudio', Cause: JSON.stringify({ errorType: 'InvalidAudio', errorMessage: 'The file is empty (0 bytes).' }) });
    expect(lambda.error).toEqual({ name: 'InvalidAudio', message: 'The file is empty (0 bytes).', step: 'Preprocess' });
    const job = failureDocument('r', 'Caption', { Error: 'States.TaskFailed', Cause: JSON.stringify({ FailureReason: 'AlgorithmError: CUDA out of memory' }) });
    expect(job.error).toEqual({ name: 'AlgorithmError', message: 'The captioning job failed: CUDA out of memory', step: 'Caption' });
    const unnamed = failureDocument('r', 'Caption', { Error: 'States.TaskFailed', Cause: JSON.stringify({ FailureReason: 'ran out of disk' }) });
    expect(unnamed.error).toEqual({ name: 'States.TaskFailed', message: 'The captioning job failed: ran out of disk', step: 'Caption' });
    expect(failureDocument('r', 'Summarize', { Error: 'States.Timeout' }).error.message).toBe('The Summarize step took longer than its time limit and was stopped.');
  });
});

describe('upload ids and keys', () => {
  it('makes ids that sort by time and fit execution and job names', () => {
    const earlier = newUploadId(new Date('2026-01-01T00:00:00Z'));
    const later = newUploadId(new Date('2026-01-02T00:00:00Z'));
    expect(earlier < later).toBe(true);
    expect(earlier).toMatch(UPLOAD_ID_PATTERN);
  });

  it('maps a key to the same id every time, including keys not made by the site', () => {
    expect(uploadRefFromKey('uploads/20260101-000000-abc/song.mp3')).toEqual({ id: '20260101-000000-abc', fileName: 'song.mp3' });
    const dropped = uploadRefFromKey('uploads/My Song.mp3');
    expect(dropped).toEqual(uploadRefFromKey('uploads/My Song.mp3'));
    expect(dropped.id).toMatch(UPLOAD_ID_PATTERN);
    expect(() => uploadRefFromKey('results/x.json')).toThrow(/not an upload/);
  });

  it('keeps file names safe for keys and headers', () => {
    expect(safeFileName('../../My Song (final)!.MP3')).toBe('My-Song-final-.MP3');
    expect(safeFileName('')).toBe('upload');
  });

  it('decodes S3 event keys the way S3 encodes them', () => {
    const key = 'uploads/My Song+Co/ä é.mp3';
    expect(encodeS3EventKey(key)).toBe('uploads/My+Song%2BCo/%C3%A4+%C3%A9.mp3');
    expect(decodeS3Key(encodeS3EventKey(key))).toBe(key);
  });
});

describe('function configuration', () => {
  it('reports every problem in one message at load', () => {
    expect(() => loadStartConfig({ SFN_ENDPOINT: 'not a url' })).toThrow(/Invalid configuration: .*SFN_ENDPOINT.*STATE_MACHINE_ARN|STATE_MACHINE_ARN.*SFN_ENDPOINT/);
  });
});

describe('ffmpeg failures', () => {
  it('say what ffmpeg said without the presigned URL it read', () => {
    // Prepare
    const url = 'http://127.0.0.1:37679/bucket/uploads/x/notes.mp3?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=7c6e';
    const log = `[mp3 @ 0x55] Format mp3 detected only with low score of 1, misdetection possible!\n${url}: Invalid data found when processing input\nError opening input files: Invalid data found when processing input\n`;
    // Act
    const error = explainFailure(log, false);
    // Assess
    expect(error.name).toBe('InvalidAudio');
    expect(error.message).toBe('The file is not audio that ffmpeg can decode (Invalid data found when processing input).');
    expect(error.message).not.toMatch(/Signature|http/);
  });

  it('tell a URL ffmpeg could not fetch from a file it could not decode', () => {
    const refused = explainFailure('http://127.0.0.1:9/x.mp3: Connection refused\nError opening input files: Connection refused\n', false);
    expect(refused).toMatchObject({ name: 'InputUnreachable', message: 'ffmpeg could not fetch the file (Connection refused).' });
    expect(explainFailure('pipe:0: Connection refused\n', true).name).toBe('InvalidAudio');
  });
});
