/**
 * Executions of the state machine on one machine: aws-local-stepfunctions runs the definition, and this
 * store keeps each execution's status and a history in the shapes of the Step Functions API
 * (DescribeExecution, GetExecutionHistory), persisted under DATA_DIR so a restart shows past runs.
 * A run cut short by a restart runs again from the start on boot (every step is idempotent), so no upload
 * is left without a terminal status.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { StateMachine, type RunOptions } from 'aws-local-stepfunctions';
import { executionArn } from '#core/run-reader';
import type { Log } from '../functions/shared/log.ts';
import type { RunQueue } from './queue.ts';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface HistoryEvent {
  id: number;
  previousEventId: number;
  /** Epoch milliseconds. */
  timestamp: number;
  type: string;
  [details: string]: unknown;
}

export interface ExecutionRecord {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  input: string;
  status: ExecutionStatus;
  startDate: number;
  stopDate?: number;
  output?: string;
  error?: string;
  cause?: string;
  /** How many times a restart made this execution run again from the start. */
  restarts: number;
  events: HistoryEvent[];
}

export class ExecutionAlreadyExists extends Error {
  override readonly name = 'ExecutionAlreadyExists';
}
export class ExecutionDoesNotExist extends Error {
  override readonly name = 'ExecutionDoesNotExist';
}

/** A Task's local implementation; the signal fires when the runtime stops mid-run, so the work stops too. */
export type TaskHandler = (input: never, context: { signal: AbortSignal }) => Promise<unknown>;
type LocalHandlers = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>;

interface StoreOptions {
  dataDir: string;
  definition: Record<string, unknown>;
  stateMachineArn: string;
  handlers: Record<string, TaskHandler>;
  log: Log;
  /** Runs that may be in their heavy states at once; without it, every execution runs at once. */
  queue?: { runs: RunQueue; heavyStates: ReadonlySet<string> };
}

const terminal = (status: ExecutionStatus) => status !== 'RUNNING';

/** "arn:aws:states:::lambda:invoke" → { resourceType: "lambda", resource: "invoke" }, as the history names them. */
function taskResource(resourceArn: string): { resourceType: string; resource: string } {
  const match = /^arn:aws:states:::([^:]+):(.+)$/.exec(resourceArn);
  return match ? { resourceType: match[1], resource: match[2] } : { resourceType: 'lambda', resource: resourceArn };
}

export class ExecutionStore {
  private readonly records = new Map<string, ExecutionRecord>();
  private readonly running = new Map<string, { abort: () => void; done: Promise<void> }>();
  /** Handler calls still running, including those of executions already aborted. */
  private readonly tasks = new Set<Promise<unknown>>();
  private readonly machine: StateMachine;
  private readonly dir: string;
  private readonly states: Record<string, { Type: string; Resource?: string }>;
  private stopped = false;

  constructor(private readonly options: StoreOptions) {
    this.dir = path.join(options.dataDir, 'executions');
    mkdirSync(this.dir, { recursive: true });
    this.machine = new StateMachine(options.definition as never);
    this.states = options.definition.States as Record<string, { Type: string; Resource?: string }>;
  }

  /** Loads past executions; those a restart cut short run again from the start. */
  recover(): string[] {
    const resumed: string[] = [];
    for (const file of readdirSync(this.dir).filter((name) => name.endsWith('.json'))) {
      try {
        const record = JSON.parse(readFileSync(path.join(this.dir, file), 'utf8')) as ExecutionRecord;
        this.records.set(record.executionArn, record);
        if (record.status === 'RUNNING') {
          record.restarts += 1;
          this.options.log('warn', 'execution was interrupted by a restart; running it again from the start', { name: record.name });
          this.launch(record);
          resumed.push(record.name);
        }
      } catch (error) {
        this.options.log('error', 'unreadable execution record skipped', { file, error: String(error) });
      }
    }
    return resumed;
  }

  executionArn(name: string): string {
    return executionArn(this.options.stateMachineArn, name);
  }

  /** StartExecution: the same name and input while running is the same execution, as in AWS. */
  start(name: string, input: string): ExecutionRecord {
    if (this.stopped) throw new Error('the runtime is stopping');
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(name)) throw Object.assign(new Error(`Invalid execution name: ${name}`), { name: 'InvalidName' });
    const executionArn = this.executionArn(name);
    const existing = this.records.get(executionArn);
    if (existing) {
      if (existing.status === 'RUNNING' && existing.input === input) return existing;
      throw new ExecutionAlreadyExists(`Execution Already Exists: '${executionArn}'`);
    }
    const record: ExecutionRecord = {
      executionArn,
      stateMachineArn: this.options.stateMachineArn,
      name,
      input,
      status: 'RUNNING',
      startDate: Date.now(),
      restarts: 0,
      events: [],
    };
    this.records.set(executionArn, record);
    this.launch(record);
    return record;
  }

  describe(executionArn: string): ExecutionRecord {
    const record = this.records.get(executionArn);
    if (!record) throw new ExecutionDoesNotExist(`Execution Does Not Exist: '${executionArn}'`);
    return record;
  }

  list(): ExecutionRecord[] {
    return [...this.records.values()].sort((a, b) => b.startDate - a.startDate);
  }

  /** Resolves when every running execution has ended. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running.values()].map((run) => run.done));
  }

  /** Stops running executions without ending them: they stay RUNNING on disk and run again on the next boot. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const run of this.running.values()) run.abort();
    await Promise.allSettled([...this.running.values()].map((run) => run.done));
    await Promise.allSettled([...this.tasks]);
  }

  private persist(record: ExecutionRecord): void {
    const file = path.join(this.dir, `${record.name}.json`);
    writeFileSync(`${file}.tmp`, JSON.stringify(record));
    renameSync(`${file}.tmp`, file);
  }

  private launch(record: ExecutionRecord): void {
    record.events = [];
    record.status = 'RUNNING';
    delete record.stopDate;
    delete record.error;
    delete record.cause;
    const input = JSON.parse(record.input) as never;
    const arn = record.executionArn;
    const controller = new AbortController();
    const queue = this.options.queue;
    const handlers: LocalHandlers = Object.fromEntries(
      Object.entries(this.options.handlers).map(([state, handler]) => [
        state,
        (taskInput: unknown) => {
          // A heavy step runs in this execution's slot; a light one means its heavy part is over: the slot
          // goes to the next run in line.
          let admitted = Promise.resolve();
          if (queue?.heavyStates.has(state)) admitted = queue.runs.enter(arn, controller.signal);
          else queue?.runs.leave(arn);
          const task = admitted.then(() => handler(taskInput as never, { signal: controller.signal }));
          const tracked = task.then(
            () => void this.tasks.delete(tracked),
            () => void this.tasks.delete(tracked),
          );
          this.tasks.add(tracked);
          return task as never;
        },
      ]),
    );
    let aborted = false;
    let execution: ReturnType<StateMachine['run']> | undefined;
    // States of this execution whose failure a Catch took over: their StateExited is not a TaskSucceeded.
    // Per execution, since concurrent executions pass through the same state names.
    const caught = new Set<string>();
    const add = (type: string, details: Record<string, unknown> = {}, timestamp = Date.now()) => {
      const id = record.events.length + 1;
      record.events.push({ id, previousEventId: id - 1, timestamp, type, ...details });
    };
    // As in AWS, the history starts when StartExecution is called, also for a run that then waits in line.
    add('ExecutionStarted', { executionStartedEventDetails: { input: record.input, roleArn: 'arn:aws:iam::000000000000:role/local' } });

    const done = (async () => {
      if (queue) {
        try {
          await queue.runs.enter(arn, controller.signal);
        } catch {
          return; // stopped while waiting: it stays RUNNING on disk and runs on the next boot
        }
      }
      if (aborted) return;
      const run = this.machine.run(input, {
        overrides: { taskResourceLocalHandlers: handlers },
        noThrowOnAbort: true,
        context: {
          Execution: { Id: arn, Name: record.name, Input: input, StartTime: new Date(record.startDate).toISOString(), RoleArn: 'arn:aws:iam::000000000000:role/local' },
          StateMachine: { Id: record.stateMachineArn, Name: record.stateMachineArn.split(':').pop() },
        },
      });
      execution = run;
      const follow = (async () => {
        for await (const event of run.eventLogs) {
          if (aborted) break;
          this.translate(event as never, add, caught);
          this.persist(record);
        }
      })();
      try {
        const output = await run.result;
        await follow.catch(() => undefined);
        if (aborted) return;
        record.status = 'SUCCEEDED';
        record.output = JSON.stringify(output);
      } catch (error) {
        await follow.catch(() => undefined);
        if (aborted) return;
        const failed = [...record.events].reverse().find((e) => e.type === 'ExecutionFailed' || e.type === 'ExecutionTimedOut');
        const details = (failed?.executionFailedEventDetails ?? failed?.executionTimedOutEventDetails ?? {}) as { error?: string; cause?: string };
        record.status = failed?.type === 'ExecutionTimedOut' ? 'TIMED_OUT' : 'FAILED';
        record.error = details.error ?? (error as Error).name;
        record.cause = details.cause ?? (error as Error).message;
      }
      record.stopDate = Date.now();
      this.persist(record);
      this.options.log('info', `execution ${record.status.toLowerCase()}`, { name: record.name, seconds: (record.stopDate - record.startDate) / 1000 });
    })().finally(() => {
      queue?.runs.leave(arn);
      this.running.delete(arn);
    });

    this.running.set(arn, {
      abort: () => {
        aborted = true;
        controller.abort();
        execution?.abort();
      },
      done,
    });
    this.persist(record);
  }

  /** How many runs are in line before this execution, or undefined when it is not waiting for a slot. */
  runsAhead(executionArn: string): number | undefined {
    return this.options.queue?.runs.ahead(executionArn);
  }

  /** aws-local-stepfunctions' event log → the Step Functions history events AWS would record. */
  private translate(
    event: { type: string; timestamp: number; input?: unknown; output?: unknown; Error?: string; Cause?: unknown; state?: { name: string; type: string; input?: unknown; output?: unknown } },
    add: (type: string, details?: Record<string, unknown>, timestamp?: number) => void,
    caught: Set<string>,
  ): void {
    const json = (value: unknown) => JSON.stringify(value ?? null);
    const cause = (value: unknown) => (typeof value === 'string' ? value : json(value));
    const at = event.timestamp;
    const state = event.state;
    const isTask = state?.type === 'Task';
    const resource = state && isTask ? taskResource(this.states[state.name]?.Resource ?? '') : undefined;
    switch (event.type) {
      case 'StateCaught':
        // The task failed and its Catch took over: what follows is not a success of the task.
        caught.add(state!.name);
        break;
      case 'ExecutionStarted':
        // Recorded by launch() when the execution was started, before any wait for a slot.
        break;
      case 'ExecutionSucceeded':
        add('ExecutionSucceeded', { executionSucceededEventDetails: { output: json(event.output) } }, at);
        break;
      case 'ExecutionFailed':
        add('ExecutionFailed', { executionFailedEventDetails: { error: event.Error, cause: cause(event.Cause) } }, at);
        break;
      case 'ExecutionTimeout':
        add('ExecutionTimedOut', { executionTimedOutEventDetails: { error: 'States.Timeout', cause: 'The execution ran past its TimeoutSeconds.' } }, at);
        break;
      case 'ExecutionAborted':
        add('ExecutionAborted', { executionAbortedEventDetails: {} }, at);
        break;
      case 'StateEntered':
        add(`${state!.type}StateEntered`, { stateEnteredEventDetails: { name: state!.name, input: json(state!.input) } }, at);
        if (isTask) {
          add('TaskScheduled', { taskScheduledEventDetails: { ...resource, region: 'us-east-1', parameters: json(state!.input) } }, at);
          add('TaskStarted', { taskStartedEventDetails: { ...resource } }, at);
        }
        break;
      case 'StateRetried':
        // AWS records a retry as the task being scheduled and started again.
        add('TaskScheduled', { taskScheduledEventDetails: { ...resource, region: 'us-east-1', parameters: json(state!.input) } }, at);
        add('TaskStarted', { taskStartedEventDetails: { ...resource } }, at);
        break;
      case 'StateFailed':
        if (isTask) {
          const timedOut = event.Error === 'States.Timeout';
          add(timedOut ? 'TaskTimedOut' : 'TaskFailed', {
            [timedOut ? 'taskTimedOutEventDetails' : 'taskFailedEventDetails']: { ...resource, error: event.Error, cause: cause(event.Cause) },
          }, at);
        }
        break;
      case 'StateExited':
        if (isTask && !caught.delete(state!.name)) add('TaskSucceeded', { taskSucceededEventDetails: { ...resource, output: json(state!.output) } }, at);
        add(`${state!.type}StateExited`, { stateExitedEventDetails: { name: state!.name, output: json(state!.output) } }, at);
        break;
      default:
        break;
    }
  }
}

export { terminal as isTerminal };
