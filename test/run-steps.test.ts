import { executionError, formatClock, stepsFromHistory, type HistoryEventLike } from '#core/run-steps';

/**
 * Builds a history the way GetExecutionHistory returns it: ascending ids, one timestamp per event, the
 * details object named for the event type. `at` is seconds after the execution started.
 */
function history() {
  const events: HistoryEventLike[] = [];
  const t0 = Date.parse('2026-03-01T12:00:00.000Z');
  const push = (at: number, type: string, details: Record<string, unknown> = {}) => {
    events.push({ id: events.length + 1, type, timestamp: new Date(t0 + at * 1000), ...details } as HistoryEventLike);
  };
  const lambdaCause = (errorType: string, errorMessage: string) =>
    JSON.stringify({ errorType, errorMessage, trace: [`${errorType}: ${errorMessage}`, '    at handler (index.js:1:1)'] });
  const api = {
    events,
    started(at = 0) {
      push(at, 'ExecutionStarted');
      return api;
    },
    enter(at: number, name: string, kind = 'Task') {
      push(at, `${kind}StateEntered`, { stateEnteredEventDetails: { name } });
      return api;
    },
    exit(at: number, name: string, kind = 'Task') {
      push(at, `${kind}StateExited`, { stateExitedEventDetails: { name } });
      return api;
    },
    scheduled(at: number) {
      push(at, 'TaskScheduled');
      push(at, 'TaskStarted');
      return api;
    },
    succeeded(at: number) {
      push(at, 'TaskSucceeded');
      return api;
    },
    failed(at: number, errorType: string, errorMessage: string) {
      push(at, 'TaskFailed', { taskFailedEventDetails: { error: errorType, cause: lambdaCause(errorType, errorMessage) } });
      return api;
    },
    task(from: number, to: number, name: string) {
      return api.enter(from, name).scheduled(from).succeeded(to).exit(to, name);
    },
    executionSucceeded(at: number) {
      push(at, 'ExecutionSucceeded');
      return api;
    },
    executionFailed(at: number, error: string, cause: string) {
      push(at, 'ExecutionFailed', { executionFailedEventDetails: { error, cause } });
      return api;
    },
    executionTimedOut(at: number) {
      push(at, 'ExecutionTimedOut', { executionTimedOutEventDetails: { error: 'States.Timeout', cause: 'The execution ran longer than its timeout.' } });
      return api;
    },
    recordFailure(from: number, step: string, error: string, message: string) {
      return api
        .enter(from, `${step}Failed`, 'Pass')
        .exit(from, `${step}Failed`, 'Pass')
        .enter(from, 'RecordFailure')
        .scheduled(from)
        .succeeded(from + 1)
        .exit(from + 1, 'RecordFailure')
        .enter(from + 1, 'Failed', 'Fail')
        .executionFailed(from + 1, error, message);
    },
  };
  return api;
}

const byName = (steps: ReturnType<typeof stepsFromHistory>) => Object.fromEntries(steps.map((step) => [step.name, step]));

describe('stepsFromHistory', () => {
  it('shows every step pending before the first state is entered', () => {
    // Prepare
    const events = history().started().events;

    // Act
    const steps = stepsFromHistory(events);

    // Assess
    expect(steps.map((step) => [step.name, step.status])).toEqual([
      ['Preprocess', 'pending'],
      ['Caption', 'pending'],
      ['Summarize', 'pending'],
    ]);
  });

  it('marks finished steps succeeded with their durations and the current one running', () => {
    // Prepare
    const events = history().started().task(0, 4.5, 'Preprocess').enter(5, 'Caption').scheduled(5).events;

    // Act
    const steps = byName(stepsFromHistory(events));

    // Assess
    expect(steps.Preprocess).toMatchObject({ status: 'succeeded', durationMs: 4500, retries: 0 });
    expect(steps.Preprocess.startedAt).toBe('2026-03-01T12:00:00.000Z');
    expect(steps.Caption).toMatchObject({ status: 'running', startedAt: '2026-03-01T12:00:05.000Z', retries: 0 });
    expect(steps.Caption.durationMs).toBeUndefined();
    expect(steps.Summarize.status).toBe('pending');
  });

  it('marks all three steps succeeded once the execution succeeds', () => {
    // Prepare
    const events = history().started().task(0, 3, 'Preprocess').task(3, 40, 'Caption').task(40, 42, 'Summarize').executionSucceeded(42)
      .events;

    // Act
    const steps = stepsFromHistory(events);

    // Assess
    expect(steps.map((step) => [step.status, step.durationMs])).toEqual([
      ['succeeded', 3000],
      ['succeeded', 37000],
      ['succeeded', 2000],
    ]);
  });

  it('shows a failed attempt as retrying, then counts the retry once the task is scheduled again', () => {
    // Prepare
    const h = history().started().enter(0, 'Preprocess').scheduled(0).failed(1, 'Lambda.ServiceException', 'Service unavailable');
    const whileWaiting = byName(stepsFromHistory([...h.events]));
    h.scheduled(3).succeeded(5).exit(5, 'Preprocess');

    // Act
    const afterRetry = byName(stepsFromHistory(h.events));

    // Assess
    expect(whileWaiting.Preprocess).toMatchObject({
      status: 'retrying',
      retries: 0,
      error: { name: 'Lambda.ServiceException', message: 'Service unavailable' },
    });
    expect(afterRetry.Preprocess).toMatchObject({ status: 'succeeded', retries: 1, durationMs: 5000 });
    expect(afterRetry.Preprocess.error).toBeUndefined();
  });

  it('reports a caught failure on its step with the error name and the sentence from the Lambda cause', () => {
    // Prepare
    const events = history()
      .started()
      .enter(0, 'Preprocess')
      .scheduled(0)
      .failed(2, 'InvalidAudio', 'ffmpeg could not decode "notes.mp3": it is not an audio file.')
      .exit(2, 'Preprocess')
      .recordFailure(2, 'Preprocess', 'InvalidAudio', 'ffmpeg could not decode "notes.mp3": it is not an audio file.').events;

    // Act
    const steps = byName(stepsFromHistory(events));

    // Assess
    expect(steps.Preprocess).toMatchObject({
      status: 'failed',
      retries: 0,
      durationMs: 2000,
      error: { name: 'InvalidAudio', message: 'ffmpeg could not decode "notes.mp3": it is not an audio file.' },
    });
    expect(steps.Caption.status).toBe('pending');
    expect(steps.Summarize.status).toBe('pending');
  });

  it('does not count the failure-recording task as a retry or a success of the failed step', () => {
    // Prepare
    const events = history()
      .started()
      .task(0, 2, 'Preprocess')
      .enter(2, 'Caption')
      .scheduled(2)
      .failed(30, 'SageMaker.AmazonSageMakerException', 'ClientError: the job failed')
      .scheduled(40)
      .failed(70, 'SageMaker.AmazonSageMakerException', 'ClientError: the job failed again')
      .exit(70, 'Caption')
      .recordFailure(70, 'Caption', 'CaptionFailed', 'The captioning job failed.').events;

    // Act
    const steps = byName(stepsFromHistory(events));

    // Assess
    expect(steps.Caption).toMatchObject({
      status: 'failed',
      retries: 1,
      durationMs: 68000,
      error: { name: 'SageMaker.AmazonSageMakerException', message: 'ClientError: the job failed again' },
    });
    expect(steps.Summarize.status).toBe('pending');
  });

  it('keeps the Caption step running through the quota explanation and fails it after', () => {
    // Prepare
    const events = history()
      .started()
      .task(0, 2, 'Preprocess')
      .enter(2, 'Caption')
      .scheduled(2)
      .failed(3, 'SageMaker.ResourceLimitExceededException', 'The account-level service limit is 0 Instances')
      .exit(3, 'Caption')
      .enter(3, 'ExplainMissingQuota', 'Pass')
      .exit(3, 'ExplainMissingQuota', 'Pass')
      .recordFailure(3, 'Caption', 'ProcessingQuotaMissing', 'Your AWS account has no SageMaker quota').events;

    // Act
    const steps = byName(stepsFromHistory(events));

    // Assess
    expect(steps.Caption).toMatchObject({ status: 'failed', retries: 0, durationMs: 1000 });
    expect(steps.Caption.error?.name).toBe('SageMaker.ResourceLimitExceededException');
  });

  it('shows Caption retrying while it waits out a capacity shortage, and counts the new attempt', () => {
    // Prepare
    const waiting = history()
      .started()
      .task(0, 2, 'Preprocess')
      .enter(2, 'FirstCaptionAttempt', 'Pass')
      .exit(2, 'FirstCaptionAttempt', 'Pass')
      .enter(2, 'Caption')
      .scheduled(2)
      .failed(40, 'States.TaskFailed', 'CapacityError: Unable to provision requested ML compute capacity.')
      .exit(40, 'Caption')
      .enter(40, 'RetryOnCapacityError', 'Choice')
      .exit(40, 'RetryOnCapacityError', 'Choice')
      .enter(40, 'WaitForCapacity', 'Wait');
    // Act
    const duringWait = byName(stepsFromHistory(waiting.events));
    const done = byName(
      stepsFromHistory(
        waiting
          .exit(160, 'WaitForCapacity', 'Wait')
          .enter(160, 'NextCaptionAttempt', 'Pass')
          .exit(160, 'NextCaptionAttempt', 'Pass')
          .enter(160, 'Caption')
          .scheduled(160)
          .succeeded(200)
          .exit(200, 'Caption').events,
      ),
    );
    // Assess
    expect(duringWait.Caption).toMatchObject({ status: 'retrying', retries: 0 });
    expect(done.Caption).toMatchObject({ status: 'succeeded', retries: 1, durationMs: 198_000 });
  });

  it('marks Summarize as fallen back and succeeded when the local summary stands in for the LLM', () => {
    // Prepare
    const events = history()
      .started()
      .task(0, 2, 'Preprocess')
      .task(2, 20, 'Caption')
      .enter(20, 'Summarize')
      .scheduled(20)
      .failed(21, 'SummaryServiceUnavailable', 'The LLM answered 503')
      .scheduled(23)
      .failed(24, 'SummaryServiceUnavailable', 'The LLM answered 503')
      .exit(24, 'Summarize')
      .enter(24, 'SummarizeLocally')
      .scheduled(24)
      .succeeded(25)
      .exit(25, 'SummarizeLocally')
      .executionSucceeded(25).events;

    // Act
    const steps = byName(stepsFromHistory(events));

    // Assess
    expect(steps.Summarize).toMatchObject({ status: 'succeeded', fellBack: true, retries: 1, durationMs: 5000 });
  });

  it('fails the running step with the execution error when the execution times out', () => {
    // Prepare
    const events = history().started().task(0, 2, 'Preprocess').enter(2, 'Caption').scheduled(2).executionTimedOut(3600).events;

    // Act
    const steps = byName(stepsFromHistory(events));

    // Assess
    expect(steps.Caption).toMatchObject({
      status: 'failed',
      durationMs: 3_598_000,
      error: { name: 'States.Timeout', message: 'The execution ran longer than its timeout.' },
    });
    expect(steps.Preprocess.status).toBe('succeeded');
    expect(steps.Summarize.status).toBe('pending');
  });

  it('accepts ISO strings as timestamps, as JSON from the status API carries them', () => {
    // Prepare
    const events = history()
      .started()
      .task(0, 1.25, 'Preprocess')
      .events.map((event) => ({ ...event, timestamp: (event.timestamp as Date).toISOString() }));

    // Act
    const [preprocess] = stepsFromHistory(events);

    // Assess
    expect(preprocess).toMatchObject({ status: 'succeeded', durationMs: 1250, endedAt: '2026-03-01T12:00:01.250Z' });
  });
});

describe('executionError', () => {
  it('returns the error the failed execution ended with', () => {
    // Prepare
    const events = history()
      .started()
      .enter(0, 'Preprocess')
      .scheduled(0)
      .failed(1, 'AudioTooShort', 'The song is 0.4 s long')
      .exit(1, 'Preprocess')
      .recordFailure(1, 'Preprocess', 'AudioTooShort', 'The song is 0.4 s long; it needs at least 1 s.').events;

    // Act
    const error = executionError(events);

    // Assess
    expect(error).toEqual({ name: 'AudioTooShort', message: 'The song is 0.4 s long; it needs at least 1 s.' });
  });

  it('returns nothing for an execution that has not failed', () => {
    // Prepare
    const events = history().started().task(0, 1, 'Preprocess').events;

    // Act + Assess
    expect(executionError(events)).toBeUndefined();
  });
});

describe('formatClock', () => {
  it.each([
    [0, '0:00'],
    [9.99, '0:09'],
    [65, '1:05'],
    [600, '10:00'],
    [-3, '0:00'],
  ])('writes %p seconds as %p', (seconds, clock) => {
    expect(formatClock(seconds)).toBe(clock);
  });
});
