/**
 * How the definition treats SageMaker's errors, run for real by aws-local-stepfunctions. SageMaker itself is
 * the one part replaced: a test double for createProcessingJob.sync that fails the way AWS reports it.
 */
import { StateMachine } from 'aws-local-stepfunctions';
import type { BlobStore } from '#core/blob-store';
import type { FailureDocument } from '#core/contract';
import { createRecordFailureHandler } from '../functions/record-failure/record-failure.ts';
import { lambdaStates, loadLocalDefinition, localCustom } from '../runtime/definition.ts';

/** Just enough of a bucket for the failure document. */
function memoryStore(): BlobStore & { objects: Map<string, string> } {
  const objects = new Map<string, string>();
  return {
    bucket: 'b',
    objects,
    head: async (key) => (objects.has(key) ? { sizeBytes: objects.get(key)!.length } : undefined),
    getStream: async () => {
      throw new Error('not used');
    },
    getBytes: async (key) => Buffer.from(objects.get(key) ?? ''),
    getJson: async (key) => (objects.has(key) ? JSON.parse(objects.get(key)!) : undefined),
    put: async (key, body) => void objects.set(key, body.toString()),
    list: async (prefix) => [...objects.keys()].filter((key) => key.startsWith(prefix)),
    presignGet: async (key) => `memory://${key}`,
  };
}

const awsError = (name: string, message: string) => Object.assign(new Error(message), { name });

async function runWithCaption(caption: () => Promise<unknown>) {
  const definition = loadLocalDefinition(localCustom({ bucket: 'b' }));
  const store = memoryStore();
  const recordFailure = createRecordFailureHandler({ storeFor: () => store });
  const calls: string[] = [];
  const lambda = async ({ Payload }: { FunctionName: string; Payload: Record<string, unknown> }, state: string) => {
    calls.push(state);
    if (state === 'Preprocess') return { Payload: { manifestKey: 'chunks/r/manifest.json', windowPrefix: 'chunks/r/windows/', captionPrefix: 'captions/r/', windowCount: 3 } };
    if (state === 'RecordFailure') return { Payload: await recordFailure(Payload as never) };
    return { Payload: { resultKey: 'results/r.json', source: 'local' } };
  };
  const handlers = Object.fromEntries(lambdaStates(definition).map(({ state }) => [state, (input: never) => lambda(input, state)]));
  const machine = new StateMachine(definition as never);
  const execution = machine.run({ id: 'r', bucket: 'b', key: 'uploads/r/song.mp3' }, {
    overrides: {
      taskResourceLocalHandlers: { ...handlers, Caption: () => (calls.push('Caption'), caption()) as never },
      // The retry waits are the definition's business; the test does not sit through them.
      retryIntervalOverrides: { Caption: 0 },
    },
    context: { Execution: { Name: 'r' } },
  });
  const outcome = await execution.result.then(
    (output) => ({ output, error: undefined as undefined | Error }),
    (error: Error) => ({ output: undefined, error }),
  );
  return { outcome, calls, failure: (await store.getJson<FailureDocument>('results/r.json')) ?? undefined };
}

describe('the Caption step against SageMaker errors', () => {
  it('fails fast on a missing processing quota, telling the user what to ask AWS for', async () => {
    // Act
    const { outcome, calls, failure } = await runWithCaption(async () => {
      throw awsError(
        'SageMaker.ResourceLimitExceededException',
        "The account-level service limit 'local for processing job usage' is 0 Instances, with current utilization of 0 Instances and a request delta of 1 Instances.",
      );
    });
    // Assess
    expect(calls.filter((c) => c === 'Caption')).toHaveLength(1);
    expect(outcome.error).toBeDefined();
    expect(failure?.error).toMatchObject({ name: 'ProcessingQuotaMissing', step: 'Caption' });
    expect(failure?.error.message).toMatch(/^Your AWS account has no SageMaker quota for 1 × local processing instance\(s\)\. In the Service Quotas console/);
  });

  it('retries throttling and transient SageMaker errors, then goes on to Summarize', async () => {
    // Prepare
    let attempts = 0;
    // Act
    const { outcome, calls } = await runWithCaption(async () => {
      attempts += 1;
      if (attempts < 3) throw awsError('SageMaker.AmazonSageMakerException', 'Rate exceeded (Service: AmazonSageMaker; Status Code: 400; Error Code: ThrottlingException)');
      return { ProcessingJobName: 'caption-r', ProcessingJobStatus: 'Completed' };
    });
    // Assess
    expect(outcome.error).toBeUndefined();
    expect(calls).toEqual(['Preprocess', 'Caption', 'Caption', 'Caption', 'Summarize']);
  });

  it('records a failed job with the reason SageMaker gives', async () => {
    // Act
    const { calls, failure } = await runWithCaption(async () => {
      throw awsError('States.TaskFailed', JSON.stringify({ ProcessingJobStatus: 'Failed', FailureReason: 'AlgorithmError: CUDA out of memory' }));
    });
    // Assess
    expect(calls).toEqual(['Preprocess', 'Caption', 'RecordFailure']);
    expect(failure?.error).toEqual({ name: 'AlgorithmError', message: 'The captioning job failed: CUDA out of memory', step: 'Caption' });
  });
});

describe('the Caption step when SageMaker has no capacity', () => {
  it('runs the job again under a new name after a wait, twice at most, then records the failure', async () => {
    // Prepare
    const definition = loadLocalDefinition(localCustom({ bucket: 'b' }));
    const names: string[] = [];
    const store = memoryStore();
    const recordFailure = createRecordFailureHandler({ storeFor: () => store });
    const handlers = Object.fromEntries(
      lambdaStates(definition).map(({ state }) => [
        state,
        async ({ Payload }: { Payload: never }) =>
          state === 'RecordFailure'
            ? { Payload: await recordFailure(Payload) }
            : { Payload: { manifestKey: 'm', windowPrefix: 'w/', captionPrefix: 'c/', windowCount: 1 } },
      ]),
    );
    const execution = new StateMachine(definition as never).run({ id: 'r', bucket: 'b', key: 'uploads/r/a.mp3' }, {
      overrides: {
        taskResourceLocalHandlers: {
          ...handlers,
          Caption: (async (input: { ProcessingJobName: string }) => {
            names.push(input.ProcessingJobName);
            throw awsError('States.TaskFailed', JSON.stringify({ FailureReason: 'CapacityError: Unable to provision requested ML compute capacity.' }));
          }) as never,
        },
        waitTimeOverrides: { WaitForCapacity: 0 },
      },
      context: { Execution: { Name: 'run-7' } },
    });
    // Act
    const error = await execution.result.then(() => undefined, (e: Error) => e);
    // Assess
    expect(names).toEqual(['caption-run-7-1', 'caption-run-7-2', 'caption-run-7-3']);
    expect(error).toBeDefined();
    expect(await store.getJson<FailureDocument>('results/r.json')).toMatchObject({
      error: { name: 'CapacityError', message: 'The captioning job failed: Unable to provision requested ML compute capacity.', step: 'Caption' },
    });
  });
});
