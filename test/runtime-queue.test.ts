/**
 * The fair queue of the embedded runtime: at most N runs in their heavy steps at once, first come first
 * served, and a waiting run can say how many runs are ahead of it.
 */
import path from 'node:path';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { loadLocalDefinition, localCustom, LOCAL_STATE_MACHINE_ARN } from '#runtime/definition';
import { ExecutionStore, type TaskHandler } from '#runtime/executions';
import { RunQueue } from '#runtime/queue';
import { localQueuePosition } from '#core/run-queue';
import { makeTone, tempDir } from './helpers/audio.ts';
import { bootRuntime, type TestRuntime } from './helpers/runtime.ts';

describe('RunQueue', () => {
  it('admits up to its slots at once and the rest in the order they came', async () => {
    const queue = new RunQueue(2);
    const admitted: string[] = [];
    const enter = (key: string) => queue.enter(key).then(() => void admitted.push(key));
    await Promise.all([enter('a'), enter('b')]);
    const later = [enter('c'), enter('d'), enter('e')];
    await Promise.resolve();
    expect(admitted).toEqual(['a', 'b']);
    expect([queue.ahead('a'), queue.ahead('c'), queue.ahead('d'), queue.ahead('e')]).toEqual([undefined, 0, 1, 2]);

    queue.leave('b');
    await later[0];
    expect(admitted).toEqual(['a', 'b', 'c']);
    expect(queue.ahead('e')).toBe(1);
    // Entering again while admitted keeps the slot; leaving a place in line gives it up without admitting.
    await queue.enter('a');
    queue.leave('d');
    expect(queue.ahead('e')).toBe(0);
    queue.leave('a');
    await later[2];
    expect(admitted).toEqual(['a', 'b', 'c', 'e']);
    expect([queue.running, queue.waiting]).toEqual([2, 0]);
  });

  it('a run stopped while waiting leaves the line', async () => {
    const queue = new RunQueue(1);
    await queue.enter('a');
    const controller = new AbortController();
    const waiting = queue.enter('b', controller.signal);
    const behind = queue.enter('c');
    expect(queue.ahead('c')).toBe(1);
    controller.abort();
    await expect(waiting).rejects.toBeDefined();
    expect(queue.ahead('c')).toBe(0);
    queue.leave('a');
    await behind;
    expect(queue.running).toBe(1);
  });
});

describe('the execution store with a queue', () => {
  it('runs at most N executions in their heavy states, first started first finished, and frees the slot at a light state', async () => {
    const slots = 2;
    let inHeavy = 0;
    let mostInHeavy = 0;
    const finished: string[] = [];
    const lambda = (payload: Record<string, unknown>) => ({ ExecutedVersion: '$LATEST', StatusCode: 200, Payload: payload });
    const heavy = <T>(result: T) =>
      (async () => {
        inHeavy += 1;
        mostInHeavy = Math.max(mostInHeavy, inHeavy);
        await new Promise((resolve) => setTimeout(resolve, 30));
        inHeavy -= 1;
        return result;
      }) as unknown as TaskHandler;
    const handlers: Record<string, TaskHandler> = {
      Preprocess: heavy(lambda({ manifestKey: 'm', windowPrefix: 'w/', captionPrefix: 'c/', windowCount: 1 })),
      Caption: heavy({ ProcessingJobName: 'job', ProcessingJobStatus: 'Completed' }),
      Summarize: (async (input: { Payload: { id: string } }) => {
        // A light state: the slot is already free for the next run while this one summarizes.
        expect(store.runsAhead(store.executionArn(input.Payload.id))).toBeUndefined();
        await new Promise((resolve) => setTimeout(resolve, 30));
        finished.push(input.Payload.id);
        return lambda({ resultKey: 'r', source: 'local' });
      }) as TaskHandler,
      RecordFailure: (async () => lambda({ name: 'X', message: 'x' })) as TaskHandler,
    };
    const runs = new RunQueue(slots);
    const store = new ExecutionStore({
      dataDir: tempDir('queue-store-'),
      definition: loadLocalDefinition(localCustom({ bucket: 'music-captioner-local' })),
      stateMachineArn: LOCAL_STATE_MACHINE_ARN,
      handlers,
      log: () => undefined,
      queue: { runs, heavyStates: new Set(['Preprocess', 'Caption']) },
    });
    const ids = Array.from({ length: 8 }, (_, i) => `queued-${i}`);
    for (const id of ids) store.start(id, JSON.stringify({ id, bucket: 'b', key: `uploads/${id}/a.mp3` }));
    expect(ids.map((id) => store.runsAhead(store.executionArn(id)))).toEqual([undefined, undefined, 0, 1, 2, 3, 4, 5]);
    // A waiting run's history already says it started, as in AWS.
    expect(store.describe(store.executionArn('queued-7')).events.map((event) => event.type)).toEqual(['ExecutionStarted']);
    await store.idle();
    expect(mostInHeavy).toBe(slots);
    // First come, first served: two at a time, in the order they started.
    expect(finished.slice(0, 2).sort()).toEqual(['queued-0', 'queued-1']);
    expect(finished.slice(2, 4).sort()).toEqual(['queued-2', 'queued-3']);
    expect(finished.slice(6).sort()).toEqual(['queued-6', 'queued-7']);
    for (const id of ids) expect(store.describe(store.executionArn(id)).status).toBe('SUCCEEDED');
    await store.stop();
  });
});

describe('the embedded runtime with one slot', () => {
  let runtime: TestRuntime;
  beforeAll(async () => {
    runtime = await bootRuntime({ MAX_CONCURRENT_RUNS: '1' });
  });
  afterAll(async () => {
    await runtime?.stop();
  });

  it('tells a waiting run how many runs are ahead through the local Step Functions endpoint, and runs them all', async () => {
    const song = makeTone(path.join(tempDir('queue-songs-'), 'tone.wav'), 3, 440);
    const ids = ['line-0', 'line-1', 'line-2'];
    for (const id of ids) {
      await runtime.upload(id, song);
      // Each upload's execution starts before the next upload, so the order in line is the upload order.
      while (!runtime.executions.list().some((record) => record.name === id)) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const positions = await Promise.all(ids.map((id) => localQueuePosition(runtime.sfnEndpoint, runtime.executions.executionArn(id))));
    expect(positions).toEqual([undefined, 0, 1]);

    const sfn = new SFNClient({ region: runtime.region, endpoint: runtime.sfnEndpoint });
    const waiting = await sfn.send(new DescribeExecutionCommand({ executionArn: runtime.executions.executionArn('line-2') }));
    expect(waiting.status).toBe('RUNNING');
    for (const id of ids) await runtime.settle(id, 120_000);
    for (const id of ids) expect(runtime.executions.describe(runtime.executions.executionArn(id)).status).toBe('SUCCEEDED');
    const stops = ids.map((id) => runtime.executions.describe(runtime.executions.executionArn(id)).stopDate!);
    expect([...stops].sort((a, b) => a - b)).toEqual(stops);
    expect(await localQueuePosition(runtime.sfnEndpoint, runtime.executions.executionArn('line-2'))).toBeUndefined();
    sfn.destroy();
  }, 180_000);
});
