/**
 * The embedded runtime's Preprocess in processes of their own, one per queue slot: the same answer as the
 * function in-process, the first run at the normal CPU priority and a later one lowered, and a process that
 * dies mid-run failing that step as a crashed Lambda does.
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { keys } from '#core/contract';
import { createPreprocessPool, LATER_RUN_NICE } from '#runtime/preprocess-pool';
import { startEmbeddedS3, type EmbeddedS3 } from '#runtime/s3';
import { makeSong, tempDir } from './helpers/audio.ts';

const FFMPEG = process.env.FFMPEG_BIN ?? 'ffmpeg';
const limits = { maxUploadBytes: 100_000_000, maxDurationSec: 600, minDurationSec: 1 };
const dir = tempDir('preprocess-pool-');
let s3: EmbeddedS3;
let client: S3Client;

beforeAll(async () => {
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  s3 = await startEmbeddedS3({ directory: path.join(dir, 's3'), port: 0, bucket: 'bucket', onEvent: () => undefined });
  client = new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true });
  const song = makeSong(path.join(dir, 'song.wav'), 40, { bpm: 120 });
  for (const id of ['first', 'later']) {
    await client.send(new PutObjectCommand({ Bucket: 'bucket', Key: keys.upload(id, 'song.wav'), Body: readFileSync(song) }));
  }
}, 60_000);
afterAll(async () => {
  client?.destroy();
  await s3?.close();
});

const eventOf = (id: string) => ({ id, bucket: 'bucket', key: keys.upload(id, 'song.wav') });

describe('the Preprocess pool', () => {
  it('measures each run in a process of its own, the first run at the normal priority and a later one lowered', async () => {
    // Prepare
    const pool = createPreprocessPool({ size: 2, region: 'us-east-1', s3Endpoint: s3.endpoint, ffmpeg: FFMPEG, limits, isFirstRun: (event) => event.id === 'first' });
    try {
      // Act: both runs at once; while they run, ask the OS each process's priority.
      const seen = new Map<number, number>();
      const watching = setInterval(() => {
        for (const { pid } of pool.processes()) {
          try {
            seen.set(pid, Math.max(seen.get(pid) ?? -Infinity, os.getPriority(pid)));
          } catch {
            // ended meanwhile
          }
        }
      }, 20);
      const [first, later] = await Promise.all([pool.handler(eventOf('first')), pool.handler(eventOf('later'))]).finally(() => clearInterval(watching));

      // Assess: both measured whole, in two processes other than this one, one of them lowered.
      for (const result of [first, later]) expect(result).toMatchObject({ windowCount: 4, durationSec: expect.closeTo(40, 1) });
      expect(seen.size).toBe(2);
      expect(seen.has(process.pid)).toBe(false);
      expect([...seen.values()].sort((a, b) => a - b)).toEqual([0, LATER_RUN_NICE]);
    } finally {
      await pool.close();
    }
  }, 60_000);

  it('fails the step with Runtime.ExitError when its process dies mid-run, and the next call gets a new process', async () => {
    const pool = createPreprocessPool({ size: 1, region: 'us-east-1', s3Endpoint: s3.endpoint, ffmpeg: FFMPEG, limits });
    try {
      const running = pool.handler(eventOf('first'));
      const [{ pid }] = pool.processes();
      // Give it time to be measuring, then end it as the OS would (out of memory, a crash).
      await new Promise((resolve) => setTimeout(resolve, 300));
      process.kill(pid, 'SIGKILL');
      await expect(running).rejects.toMatchObject({ name: 'Runtime.ExitError' });

      await expect(pool.handler(eventOf('first'))).resolves.toMatchObject({ windowCount: 4 });
      expect(pool.processes().map((worker) => worker.pid)).not.toContain(pid);
    } finally {
      await pool.close();
    }
  }, 60_000);
});
