/**
 * Whole runs through statemachine/pipeline.asl.json on the embedded parts: real s3rver, real
 * aws-local-stepfunctions, real ffmpeg, the same handlers as in AWS.
 */
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import Ajv from 'ajv';
import { copyFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { FailureDocument, Manifest, ResultDocument } from '#core/contract';
import { decodeNpyFloat32 } from '#core/npy';
import { encodeS3EventKey } from '../runtime/s3.ts';
import { FFMPEG, ffmpeg, makeSong, referenceDecode, tempDir } from './helpers/audio.ts';
import { bootRuntime, type TestRuntime } from './helpers/runtime.ts';

const schemas = path.resolve(__dirname, '..', 'core', 'schema');
const ajv = new Ajv({ allErrors: true });
ajv.addSchema(require(path.join(schemas, 'window-tags.schema.json')));
const validateManifest = ajv.compile(require(path.join(schemas, 'manifest.schema.json')));
const validateCaptions = ajv.compile(require(path.join(schemas, 'captions.schema.json')));

let runtime: TestRuntime;
const dir = tempDir('pipeline-audio-');

beforeAll(async () => {
  runtime = await bootRuntime();
});
afterAll(async () => {
  await runtime.stop();
});

async function getJson<T>(key: string): Promise<T> {
  const object = await runtime.s3.send(new GetObjectCommand({ Bucket: runtime.bucket, Key: key }));
  return JSON.parse(await object.Body!.transformToString()) as T;
}

async function run(id: string, file: string, name?: string) {
  await runtime.upload(id, file, name);
  await runtime.settle(id);
  const record = runtime.executions.list().find((r) => r.name === id)!;
  return { record, result: await runtime.result(id) };
}

describe('a whole run', () => {
  it('ends SUCCEEDED with a complete result document, a valid manifest and valid captions', async () => {
    // Prepare
    const song = makeSong(path.join(dir, 'song.mp3'), 37.3, { bpm: 100 });
    // Act
    const { record, result } = await run('whole-run', song);
    // Assess
    expect(record.status).toBe('SUCCEEDED');
    const doc = result as ResultDocument;
    expect(doc).toMatchObject({ id: 'whole-run', status: 'SUCCEEDED', captioner: { backend: 'builtin' }, summary: { source: 'local' } });
    expect(doc.file).toMatchObject({ name: 'song.mp3', sampleRate: 44100, channels: 2, codec: 'mp3' });
    expect(doc.file.durationSec).toBeGreaterThan(37);
    expect(doc.chunks.map((c) => [c.index, c.startSec, c.endSec])).toEqual([
      [0, 0, 10],
      [1, 10, 20],
      [2, 20, 30],
      [3, expect.closeTo(doc.file.durationSec - 10, 3), expect.closeTo(doc.file.durationSec, 3)],
    ]);
    for (const chunk of doc.chunks) {
      expect(chunk.caption.length).toBeGreaterThan(20);
      expect(chunk.tags.loudnessLufs).toEqual(expect.any(Number));
    }
    expect(new Set(doc.chunks.map((c) => c.caption)).size).toBeGreaterThan(1);
    expect(doc.summary.text).toContain('song.mp3');
    expect(doc.tags.bpm).toBeCloseTo(100, -1);

    const manifest = await getJson<Manifest>('chunks/whole-run/manifest.json');
    expect(validateManifest(manifest)).toBe(true);
    const captions = await getJson<unknown>('captions/whole-run/captions.json');
    expect(validateCaptions(captions)).toBe(true);
  });

  it('passes only S3 keys between states, never audio or captions', async () => {
    // Act
    const { record } = await run('keys-only', makeSong(path.join(dir, 'short.wav'), 12));
    // Assess
    const largest = Math.max(...record.events.map((event) => JSON.stringify(event).length));
    expect(largest).toBeLessThan(8_000);
    expect(JSON.parse(record.output!)).toMatchObject({ summary: { resultKey: 'results/keys-only.json', source: 'local' } });
  });

  it('writes windows that match LP-MusicCaps decoding sample for sample', async () => {
    // Prepare
    const song = makeSong(path.join(dir, 'parity.mp3'), 23);
    const reference = referenceDecode(song);
    // Act
    await run('parity', song);
    // Assess
    const manifest = await getJson<Manifest>('chunks/parity/manifest.json');
    expect(manifest.windows).toHaveLength(3);
    for (const window of manifest.windows) {
      const object = await runtime.s3.send(new GetObjectCommand({ Bucket: runtime.bucket, Key: `chunks/parity/windows/${window.file}` }));
      const samples = decodeNpyFloat32(Buffer.from(await object.Body!.transformToByteArray()));
      const start = Math.round(window.startSec * 16000);
      expect(samples).toEqual(reference.subarray(start, start + 160000));
    }
    expect(manifest.file.durationSec).toBeCloseTo(reference.length / 16000, 3);
  });
});

describe('bad input', () => {
  const failure = (doc: unknown) => doc as FailureDocument;

  it.each([
    ['an empty file', 'empty.mp3', () => writeFileSync(path.join(dir, 'empty.mp3'), ''), 'InvalidAudio'],
    ['random bytes', 'noise.bin', () => writeFileSync(path.join(dir, 'noise.bin'), Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 7919) % 251))), 'InvalidAudio'],
    ['text renamed .mp3', 'notes.mp3', () => writeFileSync(path.join(dir, 'notes.mp3'), 'These are my notes, not a song.\n'.repeat(200)), 'InvalidAudio'],
    [
      'a video without audio',
      'silent-video.mp4',
      () => ffmpeg(['-f', 'lavfi', '-i', 'testsrc=duration=2:size=64x64:rate=10', '-pix_fmt', 'yuv420p', path.join(dir, 'silent-video.mp4')]),
      'NoAudioStream',
    ],
  ])('ends FAILED on %s with a named error and a sentence', async (_label, name, make, errorName) => {
    // Prepare
    make();
    const id = `bad-${name.replace(/\W/g, '-').toLowerCase()}`;
    // Act
    const { record, result } = await run(id, path.join(dir, name));
    // Assess
    expect(record.status).toBe('FAILED');
    expect(record.error).toBe(errorName);
    expect(failure(result)).toMatchObject({ id, status: 'FAILED', error: { name: errorName, step: 'Preprocess' } });
    expect(failure(result).error.message).toMatch(/^[A-Z].{15,}/);
    expect(failure(result).error.message).not.toMatch(/errorMessage|stack|at .*\.ts|https?:|X-Amz/);
    // The upload itself is kept.
    const uploads = await runtime.s3.send(new ListObjectsV2Command({ Bucket: runtime.bucket, Prefix: `uploads/${id}/` }));
    expect(uploads.KeyCount).toBe(1);
  });

  it('decodes what is there in a truncated mp3', async () => {
    // Prepare
    const whole = makeSong(path.join(dir, 'whole.mp3'), 20);
    const bytes = require('node:fs').readFileSync(whole) as Buffer;
    writeFileSync(path.join(dir, 'truncated.mp3'), bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    // Act
    const { record, result } = await run('truncated', path.join(dir, 'truncated.mp3'));
    // Assess
    expect(record.status).toBe('SUCCEEDED');
    const doc = result as ResultDocument;
    expect(doc.file.durationSec).toBeGreaterThan(10);
    expect(doc.file.durationSec).toBeLessThan(14);
  });

  it('gives a 0.3 s clip one zero-padded window and a valid result', async () => {
    // Prepare
    const clip = makeSong(path.join(dir, 'blip.wav'), 0.3);
    // Act
    const { record, result } = await run('blip', clip);
    // Assess
    expect(record.status).toBe('SUCCEEDED');
    expect((result as ResultDocument).chunks).toEqual([expect.objectContaining({ index: 0, startSec: 0, endSec: 0.3 })]);
  });

  it('refuses a clip shorter than the configured minimum with AudioTooShort', async () => {
    // Prepare
    const short = await bootRuntime({ MIN_DURATION_SEC: '1' });
    try {
      await short.upload('too-short', makeSong(path.join(dir, 'half.wav'), 0.5));
      // Act
      await short.settle('too-short');
      // Assess
      expect(await short.result('too-short')).toMatchObject({ status: 'FAILED', error: { name: 'AudioTooShort', step: 'Preprocess' } });
    } finally {
      await short.stop();
    }
  });

  it('refuses files over the size and duration limits with FileTooLarge and AudioTooLong', async () => {
    // Prepare
    const strict = await bootRuntime({ MAX_UPLOAD_BYTES: '600000', MAX_DURATION_SEC: '15' });
    try {
      await strict.upload('too-large', makeSong(path.join(dir, 'large.wav'), 5));
      await strict.upload('too-long', makeSong(path.join(dir, 'long.mp3'), 30));
      // Act
      await strict.settle('too-large');
      await strict.settle('too-long');
      // Assess
      expect(await strict.result('too-large')).toMatchObject({ error: { name: 'FileTooLarge', message: expect.stringMatching(/MB/) } });
      expect(await strict.result('too-long')).toMatchObject({ error: { name: 'AudioTooLong', message: expect.stringMatching(/longer than/) } });
    } finally {
      await strict.stop();
    }
  });
});

describe('delivery', () => {
  it('starts one execution for a duplicate S3 event', async () => {
    // Prepare
    const key = await runtime.upload('duplicate', makeSong(path.join(dir, 'dup.wav'), 3));
    await runtime.settle('duplicate');
    // Act: S3 delivers the same event again, through the same start function.
    const { SFNClient } = await import('@aws-sdk/client-sfn');
    const sfn = new SFNClient({ region: runtime.region, endpoint: runtime.sfnEndpoint });
    const { createStartHandler } = await import('../functions/start/start.ts');
    const start = createStartHandler({ sfn, stateMachineArn: runtime.stateMachineArn, log: () => undefined });
    const outcome = await start({ Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: runtime.bucket }, object: { key: encodeS3EventKey(key) } } }] });
    // Assess
    expect(outcome).toEqual({ started: [], duplicates: ['duplicate'] });
    expect(runtime.executions.list().filter((r) => r.name === 'duplicate')).toHaveLength(1);
  });

  it('runs an execution cut short by a restart again from the start, to a terminal status', async () => {
    // Prepare
    const dataDir = tempDir('restart-');
    const first = await bootRuntime({}, dataDir);
    const song = path.join(dir, 'restart.mp3');
    copyFileSync(makeSong(path.join(dir, 'restart-src.mp3'), 40), song);
    await first.upload('restart', song);
    while (!first.executions.list().some((r) => r.name === 'restart')) await new Promise((r) => setTimeout(r, 5));
    // Act
    await first.stop();
    const interrupted = JSON.parse(require('node:fs').readFileSync(path.join(dataDir, 'executions', 'restart.json'), 'utf8'));
    const second = await bootRuntime({}, dataDir);
    try {
      await second.executions.idle();
      // Assess
      expect(interrupted.status).toBe('RUNNING');
      expect(second.resumed).toEqual(['restart']);
      const record = second.executions.list().find((r) => r.name === 'restart')!;
      expect(record).toMatchObject({ status: 'SUCCEEDED', restarts: 1 });
      expect(await second.result('restart')).toMatchObject({ status: 'SUCCEEDED' });
    } finally {
      await second.stop();
    }
  });

  it('starts an upload whose event was lost while the runtime was down', async () => {
    // Prepare
    const dataDir = tempDir('lost-event-');
    const first = await bootRuntime({}, dataDir);
    const { PutObjectCommand } = await import('@aws-sdk/client-s3');
    await first.stop();
    // An upload lands while nothing listens: write it through a second, event-less s3rver on the same folder.
    const S3rver = (await import('s3rver')).default;
    const offline = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: path.join(dataDir, 's3') });
    const { port } = await offline.run();
    const { S3Client } = await import('@aws-sdk/client-s3');
    const s3 = new S3Client({ region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true });
    await s3.send(new PutObjectCommand({ Bucket: first.bucket, Key: 'uploads/lost-event/clip.wav', Body: require('node:fs').readFileSync(makeSong(path.join(dir, 'lost.wav'), 3)) }));
    await offline.close();
    // Act
    const second = await bootRuntime({}, dataDir);
    try {
      await second.settle('lost-event');
      // Assess
      expect(await second.result('lost-event')).toMatchObject({ status: 'SUCCEEDED', summary: { source: 'local' } });
    } finally {
      await second.stop();
    }
  });
});

describe('the python caption backend', () => {
  it('runs the container entrypoint inside a whole run (stand-in model: torch is absent here)', async () => {
    // Prepare: the test-double launcher runs sagemaker/'s entrypoint with its stand-in model.
    const python = await bootRuntime({ CAPTION_BACKEND: 'python', CAPTION_PYTHON: path.resolve('sagemaker/tests/python-with-stand-in-model') });
    try {
      await python.upload('python-backend', makeSong(path.join(dir, 'python.wav'), 21));
      // Act
      await python.settle('python-backend');
      // Assess
      const doc = (await python.result('python-backend')) as ResultDocument;
      expect(doc).toMatchObject({ status: 'SUCCEEDED', captioner: { backend: 'stub' } });
      expect(doc.chunks.map((c) => [c.index, c.startSec])).toEqual([[0, 0], [1, 10], [2, expect.closeTo(11, 1)]]);
      for (const chunk of doc.chunks) expect(chunk.caption).toMatch(/Hz/);
    } finally {
      await python.stop();
    }
  });

  it('fails the Caption step with a sentence naming what Python lacks', async () => {
    // Prepare
    const python = await bootRuntime({ CAPTION_BACKEND: 'python', CAPTION_PYTHON: '/usr/bin/python3', CAPTION_MODEL_DIR: tempDir('no-model-') });
    try {
      await python.upload('python-missing', makeSong(path.join(dir, 'python-missing.wav'), 5));
      // Act
      await python.settle('python-missing');
      // Assess
      const doc = (await python.result('python-missing')) as FailureDocument;
      expect(doc).toMatchObject({ status: 'FAILED', error: { name: 'CaptionerUnavailable', step: 'Caption' } });
      expect(doc.error.message).toMatch(/^The captioning job failed: .*torch/);
      expect(python.executions.list().find((r) => r.name === 'python-missing')).toMatchObject({ status: 'FAILED', error: 'CaptionerUnavailable' });
    } finally {
      await python.stop();
    }
  });
});

describe('reading the upload', () => {
  it('pipes the object to ffmpeg when ffmpeg cannot fetch its URL, with the same samples', async () => {
    // Prepare: a store whose presigned URLs lead nowhere, as with a TLS or network fault in a Lambda.
    const { createS3Client, createS3Store } = await import('../functions/shared/s3-store.ts');
    const { preprocessUpload } = await import('#core/preprocess');
    const real = createS3Store(createS3Client({ AWS_REGION: runtime.region, S3_ENDPOINT: runtime.s3Endpoint }), runtime.bucket);
    const store = { ...real, presignGet: async () => 'http://127.0.0.1:9/unreachable.mp3' };
    const song = makeSong(path.join(dir, 'piped.mp3'), 12);
    const key = await runtime.upload('piped', song);
    await runtime.settle('piped');
    const viaUrl = await getJson<Manifest>('chunks/piped/manifest.json');
    // Act
    const result = await preprocessUpload({ id: 'piped-again', key }, { store, ffmpeg: FFMPEG, limits: { maxUploadBytes: 1e9, maxDurationSec: 3600, minDurationSec: 0.2 } });
    // Assess
    const viaPipe = await getJson<Manifest>(result.manifestKey);
    expect(viaPipe.windows.map((w) => w.startSec)).toEqual([0, expect.any(Number)]);
    expect(viaPipe.file.codec).toBe('mp3');
    // A pipe cannot see an MP3's trailing length tags: at most one frame (1152 samples at 44.1 kHz) more.
    expect(Math.abs(viaPipe.file.durationSec - viaUrl.file.durationSec)).toBeLessThan(0.03);
  });
});
