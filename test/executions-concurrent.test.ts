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

type Shape = string[][];

/**
 * The facts a history must hold whatever the definition's light states are: a song's Preprocess succeeds and
 * the run succeeds; a non-audio file's Preprocess fails, its Catch records the failure, and the run fails.
 */
function expectPathOf(events: Shape, fails: boolean) {
  const index = (entry: string[]) => events.findIndex((event) => event.join('|') === entry.join('|'));
  const preprocessExit = index(['TaskStateExited', 'Preprocess']);
  expect(events[0]).toEqual(['ExecutionStarted']);
  expect(events[preprocessExit - 1]).toEqual([fails ? 'TaskFailed' : 'TaskSucceeded']);
  expect(events.at(-1)).toEqual([fails ? 'ExecutionFailed' : 'ExecutionSucceeded']);
  if (fails) expect(events[index(['TaskStateExited', 'RecordFailure']) - 1]).toEqual(['TaskSucceeded']);
  else for (const state of ['Caption', 'Summarize']) expect(events[index(['TaskStateExited', state]) - 1]).toEqual(['TaskSucceeded']);
}

const shape = (events: HistoryEvent[]): Shape =>
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

  // What each kind of upload does alone, one after the other: the history every concurrent run must repeat.
  const alone = async (id: string, file: string) => {
    await runtime.upload(id, file);
    await runtime.settle(id, 120_000);
    return shape(runtime.executions.describe(runtime.executions.executionArn(id)).events);
  };
  const songPath = await alone('alone-song', song);
  const notAudioPath = await alone('alone-notes', notAudio);
  expectPathOf(songPath, false);
  expectPathOf(notAudioPath, true);

  const runs = Array.from({ length: 20 }, (_, i) => ({ id: `concurrent-${String(i).padStart(2, '0')}`, fails: i % 2 === 1 }));
  await Promise.all(runs.map((run) => runtime.upload(run.id, run.fails ? notAudio : song)));
  for (const run of runs) await runtime.settle(run.id, 120_000);

  for (const run of runs) {
    const record = runtime.executions.describe(runtime.executions.executionArn(run.id));
    expect({ id: run.id, status: record.status }).toEqual({ id: run.id, status: run.fails ? 'FAILED' : 'SUCCEEDED' });
    expect({ id: run.id, events: shape(record.events) }).toEqual({ id: run.id, events: run.fails ? notAudioPath : songPath });

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
  const lambda = (payload: Record<string, unknown>) => ({ ExecutedVersion: '$LATEST', StatusCode: 200, Payload: payload });
  const fails = (id: string) => Number(id.slice(-2)) % 2 === 1;
  let arrived = 0;
  let expected = 0;
  let release: () => void = () => undefined;
  let together = Promise.resolve();
  const handlers: Record<string, TaskHandler> = {
    Preprocess: (async (input: { Payload: { id: string } }) => {
      arrived += 1;
      if (arrived === expected) release();
      await together;
      if (fails(input.Payload.id)) throw namedError('InvalidAudio', JSON.stringify({ errorType: 'InvalidAudio', errorMessage: 'not audio' }));
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
  /** Starts these executions with every Preprocess call held until all of them have arrived. */
  const runTogether = async (ids: string[]) => {
    arrived = 0;
    expected = ids.length;
    together = new Promise<void>((resolve) => (release = resolve));
    for (const id of ids) store.start(id, JSON.stringify({ id, bucket: 'b', key: `uploads/${id}/a.mp3` }));
    await store.idle();
    return ids.map((id) => shape(store.describe(store.executionArn(id)).events));
  };
  const [songPath] = await runTogether(['alone-00']);
  const [notAudioPath] = await runTogether(['alone-01']);
  expectPathOf(songPath, false);
  expectPathOf(notAudioPath, true);

  const ids = Array.from({ length: 20 }, (_, i) => `together-${String(i).padStart(2, '0')}`);
  const histories = await runTogether(ids);
  ids.forEach((id, i) => expect({ id, events: histories[i] }).toEqual({ id, events: fails(id) ? notAudioPath : songPath }));
  await store.stop();
});
