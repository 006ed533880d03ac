/**
 * The Lambdas' structured logger: every line of an invocation carries its request id and the execution
 * (upload id) it works for, as JSON, and nothing of one invocation leaks into the next.
 */
import { lambdaLogger, logInvocations, type LambdaContext } from '../functions/shared/lambda-log.ts';

const context = (awsRequestId: string): LambdaContext => ({
  awsRequestId,
  functionName: 'music-captioner-ci-preprocess',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:000000000000:function:music-captioner-ci-preprocess',
  memoryLimitInMB: '1769',
});

/** The JSON lines the logger writes while `work` runs. */
async function linesOf(work: () => Promise<unknown>): Promise<Array<Record<string, unknown>>> {
  const written: string[] = [];
  const capture = (chunk: unknown) => {
    written.push(String(chunk));
    return true;
  };
  const out = jest.spyOn(process.stdout, 'write').mockImplementation(capture);
  const err = jest.spyOn(process.stderr, 'write').mockImplementation(capture);
  const log = jest.spyOn(console, 'log').mockImplementation((...parts) => void written.push(parts.join(' ')));
  const info = jest.spyOn(console, 'info').mockImplementation((...parts) => void written.push(parts.join(' ')));
  const error = jest.spyOn(console, 'error').mockImplementation((...parts) => void written.push(parts.join(' ')));
  try {
    await work().catch(() => undefined);
  } finally {
    for (const spy of [out, err, log, info, error]) spy.mockRestore();
  }
  return written.join('\n').split('\n').filter((line) => line.trim().startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
}

it('each line of an invocation names its request id, function, cold start and execution; the factory log goes the same way', async () => {
  const { logger, log } = lambdaLogger('preprocess');
  const handler = logInvocations(logger, async (event: { id: string }) => {
    log('info', 'decoded', { windows: 3 });
    return { id: event.id };
  });
  const lines = await linesOf(() => handler({ id: '20261127T200000Z-abc123' }, context('req-1')));
  expect(lines.map((line) => line.message)).toEqual(['invocation started', 'decoded', 'invocation finished']);
  for (const line of lines) {
    expect(line).toMatchObject({ level: 'INFO', service: 'preprocess', function_request_id: 'req-1', executionName: '20261127T200000Z-abc123' });
    expect(line.function_name).toBe('music-captioner-ci-preprocess');
    expect(typeof line.cold_start).toBe('boolean');
  }
  expect(lines[1].windows).toBe(3);
  expect(typeof lines[2].ms).toBe('number');
});

it('a failed invocation logs the error name the state machine matches on and rethrows; the next invocation starts clean', async () => {
  const { logger } = lambdaLogger('summarize');
  const failing = Object.assign(new Error('not audio'), { name: 'InvalidAudio' });
  const handler = logInvocations(logger, async (event: { id?: string }) => {
    if (event.id) throw failing;
    return 'ok';
  });
  await expect(handler({ id: 'run-1' }, context('req-2'))).rejects.toBe(failing);
  const failed = await linesOf(() => handler({ id: 'run-1' }, context('req-3')));
  expect(failed.at(-1)).toMatchObject({ level: 'ERROR', message: 'invocation failed', errorType: 'InvalidAudio', errorMessage: 'not audio', executionName: 'run-1', function_request_id: 'req-3' });

  const next = await linesOf(() => handler({}, context('req-4')));
  expect(next.length).toBeGreaterThan(0);
  for (const line of next) {
    expect(line.function_request_id).toBe('req-4');
    expect(line).not.toHaveProperty('executionName');
  }
});
