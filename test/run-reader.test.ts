/**
 * The one run reader (core/run-reader.ts) the site, the CLI and the tests share, over its real adapters
 * (functions/shared/run-sources.ts) on the embedded runtime: s3rver and the local Step Functions endpoint
 * running the real ASL file, real ffmpeg. One slot, so runs wait in the runtime's queue.
 */
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { keys } from '#core/contract';
import { executionArn, failureLine, readRun } from '#core/run-reader';
import { makeSong, makeTone, tempDir } from './helpers/audio.ts';
import { bootRuntime, type TestRuntime } from './helpers/runtime.ts';

let runtime: TestRuntime;
const dir = tempDir('run-reader-');

beforeAll(async () => {
  runtime = await bootRuntime({ MAX_CONCURRENT_RUNS: '1' });
});
afterAll(async () => {
  await runtime?.stop();
});

async function uploadAndStart(id: string, file: string, name?: string) {
  await runtime.upload(id, file, name);
  while (!runtime.executions.list().some((record) => record.name === id)) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('executionArn', () => {
  it('names the execution {id} of the state machine', () => {
    expect(executionArn('arn:aws:states:eu-west-1:123456789012:stateMachine:music-captioner-dev', '20260301-120000-k3j9x2ab')).toBe(
      'arn:aws:states:eu-west-1:123456789012:execution:music-captioner-dev:20260301-120000-k3j9x2ab',
    );
  });
});

describe('readRun', () => {
  it('reads a run waiting in the runtime’s queue as running, no step begun, with the runs ahead of it', async () => {
    // Prepare: one slot; a 20 s song holds it while two short ones line up behind it.
    const long = makeSong(path.join(dir, 'long.wav'), 20);
    const tone = makeTone(path.join(dir, 'tone.wav'), 3, 440);
    await uploadAndStart('queue-0', long);
    await uploadAndStart('queue-1', tone);
    await uploadAndStart('queue-2', tone);

    // Act
    const waiting = await readRun(runtime.reader, 'queue-2');

    // Assess
    expect(waiting).toMatchObject({ id: 'queue-2', executionStatus: 'RUNNING', runsAhead: 1, fileName: 'tone.wav', uploadKey: 'uploads/queue-2/tone.wav' });
    expect(waiting!.steps.map((step) => step.status)).toEqual(['pending', 'pending', 'pending']);
    expect(waiting!.document).toBeUndefined();
    expect(waiting!.failure).toBeUndefined();
    for (const id of ['queue-0', 'queue-1', 'queue-2']) await runtime.settle(id, 120_000);
    expect((await readRun(runtime.reader, 'queue-2'))?.runsAhead).toBeUndefined();
  }, 180_000);

  it('reads a succeeded run: every step done, the result document, the file name, no failure', async () => {
    // Prepare
    const song = makeSong(path.join(dir, 'song.wav'), 12);
    await uploadAndStart('reader-ok', song, 'my-song.wav');
    await runtime.settle('reader-ok');

    // Act
    const run = await readRun(runtime.reader, 'reader-ok');

    // Assess
    expect(run).toMatchObject({
      id: 'reader-ok',
      executionArn: executionArn(runtime.stateMachineArn, 'reader-ok'),
      executionStatus: 'SUCCEEDED',
      uploadKey: 'uploads/reader-ok/my-song.wav',
      fileName: 'my-song.wav',
      document: { id: 'reader-ok', status: 'SUCCEEDED' },
    });
    expect(run!.steps.map((step) => [step.name, step.status])).toEqual([
      ['Preprocess', 'succeeded'],
      ['Caption', 'succeeded'],
      ['Summarize', 'succeeded'],
    ]);
    expect(Date.parse(run!.stoppedAt!)).toBeGreaterThanOrEqual(Date.parse(run!.startedAt!));
    expect(run!.failure).toBeUndefined();
    expect(run!.runsAhead).toBeUndefined();
    expect(await runtime.result('reader-ok')).toEqual(run!.document);
  });

  it('reads a failed run’s reason from its failure document, and from the history once that document is gone', async () => {
    // Prepare: a text file named .mp3 fails at Preprocess.
    const notes = path.join(dir, 'notes.mp3');
    writeFileSync(notes, 'These are my notes, not a song.\n'.repeat(50));
    await uploadAndStart('reader-failed', notes);
    await runtime.settle('reader-failed');

    // Act
    const recorded = await readRun(runtime.reader, 'reader-failed');
    await runtime.s3.send(new DeleteObjectCommand({ Bucket: runtime.bucket, Key: keys.result('reader-failed') }));
    const fromHistory = await readRun(runtime.reader, 'reader-failed');

    // Assess
    expect(recorded).toMatchObject({ executionStatus: 'FAILED', document: { status: 'FAILED' } });
    const document = recorded!.document!;
    expect(recorded!.failure).toEqual(document.status === 'FAILED' ? document.error : undefined);
    expect(failureLine(recorded!.failure!)).toMatch(/^Failed at Preprocess: InvalidAudio — The file is not audio/);
    expect(recorded!.steps.map((step) => step.status)).toEqual(['failed', 'pending', 'pending']);

    expect(fromHistory!.document).toBeUndefined();
    expect(fromHistory!.failure).toMatchObject({ step: 'Preprocess', name: 'InvalidAudio' });
    expect(fromHistory!.failure!.message.length).toBeGreaterThan(10);
  });

  it('reads an upload whose execution has not started as waiting, with when it landed and every step pending', async () => {
    // Prepare: a state machine with no executions, so the upload in the shared bucket has none.
    const tone = makeTone(path.join(dir, 'waiting.wav'), 2, 330);
    await runtime.upload('reader-waiting', tone);
    const elsewhere = { ...runtime.reader, stateMachineArn: runtime.stateMachineArn.replace(/:stateMachine:.*/, ':stateMachine:nobody') };

    // Act
    const run = await readRun(elsewhere, 'reader-waiting');

    // Assess
    expect(run).toMatchObject({ id: 'reader-waiting', fileName: 'waiting.wav', uploadKey: 'uploads/reader-waiting/waiting.wav' });
    expect(run!.executionStatus).toBeUndefined();
    expect(Date.parse(run!.uploadedAt!)).toBeGreaterThan(Date.now() - 60_000);
    expect(run!.steps.map((step) => step.status)).toEqual(['pending', 'pending', 'pending']);
  });

  it('returns nothing for an id with neither an upload nor an execution', async () => {
    expect(await readRun(runtime.reader, 'never-uploaded')).toBeUndefined();
    expect(await runtime.result('never-uploaded')).toBeUndefined();
  });
});
