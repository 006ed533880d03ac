/** The AWS-free core: captions from measurements, summaries, failure sentences, ids and configuration. */
import type { Manifest, ResultChunk } from '#core/contract';
import type { TrackTags, WindowTags } from '#core/descriptors/types';
import { captionWindow, captionWindows } from '#core/builtin-captioner';
import { failureDocument } from '#core/failure';
import { newUploadId, safeFileName, uploadRefFromKey, UPLOAD_ID_PATTERN } from '#core/ids';
import { findContradictions, localSummary, mergeCaptionParts } from '#core/summary';
import { loadStartConfig } from '../functions/shared/config.ts';
import { decodeS3Key } from '../functions/start/start.ts';
import { explainFailure } from '#core/ffmpeg';
import { encodeS3EventKey } from '../runtime/s3.ts';

const tags = (over: Partial<WindowTags> = {}): WindowTags => ({
  bpm: 97,
  bpmConfidence: 0.8,
  key: 'A minor',
  keyConfidence: 0.7,
  loudnessLufs: -24,
  rmsDbfs: -22,
  peakDbfs: -8,
  crestDb: 14,
  spectralCentroidHz: 900,
  onsetsPerSec: 2.5,
  silenceRatio: 0,
  percussiveRatio: 0.4,
  ...over,
});
const track = (over: Partial<WindowTags> = {}): TrackTags => ({ ...tags(over), loudnessRangeLu: 8 });

describe('the built-in captioner', () => {
  it('describes a quiet-to-loud transition and a held beat against the window before', () => {
    // Act
    const caption = captionWindow(tags({ loudnessLufs: -12, spectralCentroidHz: 1400 }), tags({ loudnessLufs: -24 }));
    // Assess
    expect(caption).toBe(
      'The beat holds at about 97 BPM, still in A minor. Much louder (-12 LUFS) and brighter than before, with percussion and tones in balance, steady attacks (2.5 per second).',
    );
  });

  it('says the tempo changes and the key moves when they do', () => {
    const caption = captionWindow(tags({ bpm: 120, key: 'C major', loudnessLufs: -26 }), tags());
    expect(caption).toMatch(/^The tempo picks up from about 97 to 120 BPM; the harmony moves from A minor to C major\./);
    expect(caption).toMatch(/ Quieter \(-26 LUFS\) than before/);
  });

  it('does not claim a beat or a key it did not measure', () => {
    const caption = captionWindow(tags({ bpm: null, bpmConfidence: 0, key: null, keyConfidence: 0, onsetsPerSec: 0.2 }));
    expect(caption).toMatch(/^Free-flowing, with no steady beat, with no clear key\./);
    expect(caption).not.toMatch(/BPM|major|minor/);
  });

  it('calls near silence what it is', () => {
    expect(captionWindow(tags({ loudnessLufs: null, silenceRatio: 1 }))).toBe('Near silence, with no music to speak of.');
    expect(captionWindow(tags({ loudnessLufs: null, silenceRatio: 1 }), tags())).toBe('The music stops: near silence.');
  });

  it('writes a different caption for windows that differ', () => {
    const windows = [0, 1, 2].map((index) => ({ index, file: `0000${index}.npy`, startSec: index * 10, endSec: index * 10 + 10, tags: tags({ loudnessLufs: -30 + index * 8 }) }));
    const captions = captionWindows(windows);
    expect(new Set(captions.map((c) => c.caption)).size).toBe(3);
    expect(captions.map((c) => [c.index, c.startSec, c.endSec, c.quality])).toEqual([[0, 0, 10, 'ok'], [1, 10, 20, 'ok'], [2, 20, 30, 'ok']]);
  });
});

describe('summaries', () => {
  const manifest = (over: Partial<TrackTags> = {}): Manifest => ({
    version: 1,
    id: 'x',
    upload: { bucket: 'b', key: 'uploads/x/tune.mp3' },
    file: { name: 'tune.mp3', sizeBytes: 1, durationSec: 95, sampleRate: 44100, channels: 2, codec: 'mp3' },
    sampleRate: 16000,
    windowSamples: 160000,
    windows: [],
    tags: track(over),
  });
  const chunk = (index: number, caption: string, over: Partial<WindowTags> = {}, quality: 'ok' | 'degenerate' = 'ok'): ResultChunk => ({
    index, startSec: index * 10, endSec: index * 10 + 10, caption, quality, tags: tags(over),
  });

  it('finds tempos and keys the text states that were never measured, spelling enharmonics alike', () => {
    const found = findContradictions('A 140 BPM anthem in G# minor, then 97 bpm in Ab minor and A minor.', track({ key: 'Ab minor' }), [tags()]);
    expect(found).toEqual(['states 140 BPM but the measured tempo is 97 BPM']);
  });

  it('builds the local summary from the measurements and leaves out looping captions', () => {
    // Act
    const text = localSummary(manifest(), [
      chunk(0, 'Soft piano opens the piece over a quiet pad.', { loudnessLufs: -30 }),
      chunk(1, 'very first notes p p long notes long notes long notes', {}, 'degenerate'),
      chunk(2, 'Drums enter and the band plays loud and driving.', { loudnessLufs: -14 }),
    ]);
    // Assess
    expect(text).toMatch(/^"tune\.mp3" runs 1:35 at about 97 BPM in A minor\./);
    expect(text).toContain('loudest at 0:20–0:30 (-14 LUFS) and quietest at 0:00–0:10 (-30 LUFS)');
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
