/**
 * Input that is not a song, or barely one, through the product's own preprocess: honest measurements or an
 * honest "no steady beat" / "no clear key", never a confident wrong answer and never a failed run.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import type { Manifest } from '#core/contract';
import { preprocessUpload } from '#core/preprocess';
import { ffmpegEbur128 } from '../bench/lib/descriptor-corpus.ts';
import { LocalFileStore } from '../bench/lib/real-corpus.ts';
import { FFMPEG, ffmpeg, makeSong, tempDir } from './helpers/audio.ts';

const dir = tempDir('bad-input-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Below these, a tempo or key is not claimed with confidence (the captions' own thresholds are higher). */
const NOT_CONFIDENT_TEMPO = 0.25;
const NOT_CONFIDENT_KEY = 0.2;

async function measure(name: string): Promise<Manifest> {
  const store = new LocalFileStore();
  const id = name.replace(/\W+/g, '-').toLowerCase();
  store.addFile(`uploads/${id}/${name}`, path.join(dir, name));
  const result = await preprocessUpload(
    { id, key: `uploads/${id}/${name}` },
    { store, ffmpeg: FFMPEG, limits: { maxUploadBytes: 1e9, maxDurationSec: 3600, minDurationSec: 1 } },
  );
  return (await store.getJson<Manifest>(result.manifestKey))!;
}

function lavfi(name: string, source: string, extra: string[] = []): string {
  ffmpeg(['-f', 'lavfi', '-i', source, ...extra, path.join(dir, name)]);
  return name;
}

function expectNoConfidentBeat(manifest: Manifest): void {
  expect(manifest.tags.bpm === null || manifest.tags.bpmConfidence < NOT_CONFIDENT_TEMPO).toBe(true);
  expect(manifest.tags.meter).toBeNull();
  for (const window of manifest.windows) expect(window.tags.bpm === null || window.tags.bpmConfidence < NOT_CONFIDENT_TEMPO).toBe(true);
}

function expectNoConfidentKey(manifest: Manifest): void {
  expect(manifest.tags.key === null || manifest.tags.keyConfidence < NOT_CONFIDENT_KEY).toBe(true);
  for (const section of manifest.analysis.keySections) expect(section.key === null || section.confidence < NOT_CONFIDENT_KEY).toBe(true);
}

test('silence has no beat, no key and no loudness above the gate', async () => {
  const manifest = await measure(lavfi('silence.wav', 'anullsrc=r=44100:cl=stereo', ['-t', '20']));
  expectNoConfidentBeat(manifest);
  expectNoConfidentKey(manifest);
  expect(manifest.tags.loudnessLufs).toBeNull();
  expect(manifest.analysis.beats).toEqual([]);
});

test('white noise has no steady beat and no key, and its loudness is the file’s', async () => {
  const name = lavfi('noise.flac', 'anoisesrc=color=white:amplitude=0.3:r=44100:d=30', ['-ac', '2']);
  const manifest = await measure(name);
  expectNoConfidentBeat(manifest);
  expectNoConfidentKey(manifest);
  const reference = await ffmpegEbur128(path.join(dir, name));
  expect(Math.abs(manifest.tags.loudnessLufs! - reference.integrated)).toBeLessThanOrEqual(0.5);
});

test('a single held note is not named a key and has no beat', async () => {
  const manifest = await measure(lavfi('held-note.wav', 'sine=frequency=440:sample_rate=44100:duration=25'));
  expectNoConfidentBeat(manifest);
  expectNoConfidentKey(manifest);
});

test('speech has no steady beat', async () => {
  const file = path.join(dir, 'speech.wav');
  const words = 'Good evening. This is a recording of a person speaking, with no music at all. ' +
    'The sentences come at an ordinary pace, with pauses between them, the way people talk. ' +
    'There is no drum, no bass line and no melody here, only the rise and fall of a voice reading aloud.';
  execFileSync('espeak-ng', ['-w', file, words]);
  const manifest = await measure('speech.wav');
  expectNoConfidentBeat(manifest);
});

test('a click track that speeds up from 90 to 130 BPM is reported as a gradual tempo change', async () => {
  // Phase of a click train whose rate rises linearly from 1.5 to 2.1667 Hz over 60 s: clicks where it wraps.
  const rate = (t: string) => `(1.5*${t}+0.5*(2.1667-1.5)*${t}*${t}/60)`;
  const name = lavfi('accelerando.wav', `aevalsrc='0.8*sin(2*PI*1500*t)*exp(-60*(${rate('t')}-floor(${rate('t')}))/1.8)':s=44100:d=60`);
  const manifest = await measure(name);
  expect(manifest.analysis.tempoChanges.length).toBeGreaterThanOrEqual(1);
  expect(manifest.analysis.tempoChanges.some((change) => change.kind === 'gradual' && change.toBpm > change.fromBpm)).toBe(true);
  const first = manifest.windows[0].tags.bpm!;
  const last = manifest.windows[manifest.windows.length - 1].tags.bpm!;
  expect(first).toBeGreaterThan(80);
  expect(first).toBeLessThan(105);
  expect(last).toBeGreaterThan(115);
  expect(last).toBeLessThan(140);
});

test('a 3 s clip is measured without failing the run', async () => {
  const name = 'clip.mp3';
  makeSong(path.join(dir, name), 3, { bpm: 120 });
  const manifest = await measure(name);
  expect(manifest.windows).toHaveLength(1);
  expect(manifest.tags.loudnessLufs).toEqual(expect.any(Number));
  expect(manifest.analysis.keySections.length).toBeGreaterThanOrEqual(1);
});

test('a 5.1 file is measured on its six channels, as ebur128 measures it', async () => {
  const stereo = makeSong(path.join(dir, 'for-surround.wav'), 20, { bpm: 100 });
  ffmpeg(['-i', stereo, '-af', 'pan=5.1|FL=c0|FR=c1|FC=0.5*c0+0.5*c1|LFE=0.3*c0|BL=0.7*c0|BR=0.7*c1', '-c:a', 'flac', path.join(dir, 'surround.flac')]);
  const manifest = await measure('surround.flac');
  const reference = await ffmpegEbur128(path.join(dir, 'surround.flac'));
  expect(manifest.file.channels).toBe(6);
  expect(Math.abs(manifest.tags.loudnessLufs! - reference.integrated)).toBeLessThanOrEqual(0.5);
  expect(Math.abs(manifest.tags.truePeakDbtp - reference.truePeak)).toBeLessThanOrEqual(0.5);
});

test('a file whose left channel is the inverse of its right keeps its loudness though its mono sum is silent', async () => {
  const mono = makeSong(path.join(dir, 'for-inverted.wav'), 20, { bpm: 100 });
  ffmpeg(['-i', mono, '-af', 'pan=stereo|c0=c0|c1=-1*c0', path.join(dir, 'inverted.wav')]);
  const manifest = await measure('inverted.wav');
  const reference = await ffmpegEbur128(path.join(dir, 'inverted.wav'));
  expect(Math.abs(manifest.tags.loudnessLufs! - reference.integrated)).toBeLessThanOrEqual(0.5);
  // The 16 kHz mono windows (what the captioner hears) are silent: nothing else is claimed about them.
  expectNoConfidentBeat(manifest);
  expectNoConfidentKey(manifest);
});
