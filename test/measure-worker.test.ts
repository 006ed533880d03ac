/**
 * preprocess's optional measuring thread (measureOnWorker) must say exactly what the main thread says: the
 * same tags, windows and analysis, for a stereo song and for a file whose channels cancel in mono.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import type { Manifest } from '#core/contract';
import { preprocessUpload } from '#core/preprocess';
import { FFMPEG, ffmpeg, makeSong, tempDir } from './helpers/audio.ts';
import { LocalFileStore } from '../bench/lib/real-corpus.ts';

const dir = tempDir('measure-worker-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function manifestOf(id: string, name: string, measureOnWorker: boolean): Promise<Omit<Manifest, 'id'>> {
  const store = new LocalFileStore();
  store.addFile(`uploads/song/${name}`, path.join(dir, name));
  const result = await preprocessUpload(
    { id, key: `uploads/song/${name}` },
    { store, ffmpeg: FFMPEG, limits: { maxUploadBytes: 1e9, maxDurationSec: 3600, minDurationSec: 1 }, measureOnWorker },
  );
  const { id: _id, ...rest } = (await store.getJson<Manifest>(result.manifestKey))!;
  return rest;
}

test.each([
  ['a stereo song', 'song.flac', false],
  ['a file whose channels cancel in mono', 'inverted.wav', true],
])('measures %s on a worker thread exactly as on the main thread', async (_what, name, inverted) => {
  // Prepare
  const song = makeSong(path.join(dir, 'source.wav'), 25, { bpm: 100 });
  ffmpeg(['-i', song, ...(inverted ? ['-af', 'pan=stereo|c0=c0|c1=-1*c0'] : []), path.join(dir, name)]);
  // Act
  const here = await manifestOf('on-main-thread', name, false);
  const onWorker = await manifestOf('on-worker', name, true);
  // Assess
  expect(onWorker).toEqual(here);
  expect(here.tags.loudnessLufs).toEqual(expect.any(Number));
});
