/**
 * Twenty uploads at once on the embedded runtime, half of them not audio (they fail at Preprocess and go
 * through the Catch to RecordFailure): every execution's history, event by event, is the one its own path
 * through the state machine gives, whatever the other executions did at the same time.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadLocalDefinition, localCustom, LOCAL_STATE_MACHINE_ARN } from '#runtime/definition';
import { ExecutionStore, type HistoryEvent, type TaskHandler } from '#runtime/executions';
import { namedError } from '#runtime/lambda';
import { makeTone, tempDir } from './helpers/audio.ts';
import { bootRuntime, type TestRuntime } from './helpers/runtime.ts';

/** A Task state as the history records it when its work succeeds. */
const taskSucceeds = (state: string) => [
  ['TaskStateEntered', state],
  ['TaskScheduled'],
  ['TaskStarted'],
  ['TaskSucceeded'],
  ['TaskStateExited', state],
];
const pass = (state: string) => [
  ['PassStateEntered', state],
  ['PassStateExited', state],
];

/** What an upload of a real song does: Preprocess, the first caption attempt, Caption, Summarize. */
const SONG_PATH = [
  ['ExecutionStarted'],
  ...taskSucceeds('Preprocess'),
  ...pass('FirstCaptionAttempt'),
  ...taskSucceeds('Caption'),
  ...taskSucceeds('Summarize'),
  ['ExecutionSucceeded'],
];
/** What a file that is not audio does: Preprocess fails, its Catch records the failure, the run fails. */
const NOT_AUDIO_PATH = [
  ['ExecutionStarted'],
  ['TaskStateEntered', 'Preprocess'],
  ['TaskScheduled'],
  ['TaskStarted'],
  ['TaskFailed'],
  ['TaskStateExited', 'Preprocess'],
  ...pass('PreprocessFailed'),
  ...taskSucceeds('RecordFailure'),
  ['FailStateEntered', 'Failed'],
  ['ExecutionFailed'],
];

const shape = (events: HistoryEvent[]) =>
  events.map((event) => {
    const details = (event.stateEnteredEventDetails ?? event.stateExitedEventDetails) as { name: string } | undefined;
    return details ? [event.type, details.name] : [event.type];
  });

let runtime: TestRuntime;
beforeAll(async () => {
  runtime = await bootRuntime();
});
afterAll(async () => {
  await runtime?.stop();
});

it('20 concurrent executions, half failing at Preprocess, each keep a history of exactly what they did', async () => {
  const dir = tempDir('executions-concurrent-');
  const song = makeTone(path.join(dir, 'tone.wav'), 3, 330);
  const notAudio = path.join(dir, 'notes.mp3');
  writeFileSync(notAudio, 'These are my notes, not a song.\n'.repeat(200));

  const runs = Array.from({ length: 20 }, (_, i) => ({ id: `concurrent-${String(i).padStart(2, '0')}`, fails: i % 2 === 1 }));
  await Promise.all(runs.map((run) => runtime.upload(run.id, run.fails ? notAudio : song)));
  for (const run of runs) await runtime.settle(run.id, 120_000);

  for (const run of runs) {
    const record = runtime.executions.describe(runtime.executions.executionArn(run.id));
    expect({ id: run.id, status: record.status }).toEqual({ id: run.id, status: run.fails ? 'FAILED' : 'SUCCEEDED' });
    expect({ id: run.id, events: shape(record.events) }).toEqual({ id: run.id, events: run.fails ? NOT_AUDIO_PATH : SONG_PATH });

    // Ids chain one after another, and every input or output that names an upload names this one.
    record.events.forEach((event, index) => {
      expect(event.id).toBe(index + 1);
      expect(event.previousEventId).toBe(index);
    });
    const mentioned = new Set(JSON.stringify(record.events).match(/concurrent-\d\d/g));
    expect({ id: run.id, mentioned: [...mentioned] }).toEqual({ id: run.id, mentioned: [run.id] });

    const failed = record.events.find((event) => event.type === 'TaskFailed')?.taskFailedEventDetails as { error?: string } | undefined;
    if (run.fails) expect(failed?.error).toBe('InvalidAudio');
    else expect(failed).toBeUndefined();
  }
}, 300_000);

it('when every Preprocess ends in the same moment, a caught failure in one execution is not another\'s success', async () => {
  // The same store and definition, with task implementations whose Preprocess calls all wait for one another
  // and then end together: the interleaving that a shared "caught" set got wrong, made certain.
  const count = 20;
  let arrived = 0;
  let release: () => void = () => undefined;
  const together = new Promise<void>((resolve) => (release = resolve));
  const lambda = (payload: Record<string, unknown>) => ({ ExecutedVersion: '$LATEST', StatusCode: 200, Payload: payload });
  const handlers: Record<string, TaskHandler> = {
    Preprocess: (async (input: { Payload: { id: string } }) => {
      arrived += 1;
      if (arrived === count) release();
      await together;
      if (Number(input.Payload.id.slice(-2)) % 2 === 1) throw namedError('InvalidAudio', JSON.stringify({ errorType: 'InvalidAudio', errorMessage: 'not audio' }));
      return lambda({ manifestKey: 'm', windowPrefix: 'w/', captionPrefix: 'c/', windowCount: 1 });
    }) as TaskHandler,
    Caption: (async () => ({ ProcessingJobName: 'job', ProcessingJobStatus: 'Completed' })) as TaskHandler,
    Summarize: (async () => lambda({ resultKey: 'r', source: 'local' })) as TaskHandler,
    RecordFailure: (async () => lambda({ name: 'InvalidAudio', message: 'not audio' })) as TaskHandler,
  };
  const store = new ExecutionStore({
    dataDir: tempDir('executions-store-'),
    definition: loadLocalDefinition(localCustom({ bucket: 'music-captioner-local' })),
    stateMachineArn: LOCAL_STATE_MACHINE_ARN,
    handlers,
    log: () => undefined,
  });
  const runs = Array.from({ length: count }, (_, i) => ({ id: `together-${String(i).padStart(2, '0')}`, fails: i % 2 === 1 }));
  for (const run of runs) store.start(run.id, JSON.stringify({ id: run.id, bucket: 'b', key: `uploads/${run.id}/a.mp3` }));
  await store.idle();
  for (const run of runs) {
    const record = store.describe(store.executionArn(run.id));
    expect({ id: run.id, events: shape(record.events) }).toEqual({ id: run.id, events: run.fails ? NOT_AUDIO_PATH : SONG_PATH });
  }
  await store.stop();
});
