/**
 * Preprocess for the embedded runtime in processes of their own, one per queue slot (runtime/preprocess-process.mts
 * says why), reused from run to run. The first starts with the runtime, the others when two runs are in
 * Preprocess at once; a call waits for a free one (the queue already lets no more runs in than there are slots).
 * A process that dies mid-run fails that step with Runtime.ExitError, as a Lambda that crashes does, and the next
 * call starts a new one.
 *
 * The first run in goes first: a call for the run that has held its queue slot longest runs at the normal CPU
 * priority, any other at a lower one (nice 10; ffmpeg, started by the call, inherits it). Two runs in their
 * heavy steps on two cores then do not halve each other's speed: the later one takes what the first leaves
 * idle, so the first finishes about as soon as a run alone while the machine stays as busy as before (the
 * batch takes no longer). Raising a process's priority back needs a privilege most users lack (Linux's
 * RLIMIT_NICE), so a call for the first run takes a process still at the normal priority when one is free.
 */
import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import type { PreprocessEvent } from '../functions/preprocess/preprocess.ts';
import type { PreprocessResult } from '#core/preprocess';

export interface PreprocessPoolOptions {
  size: number;
  region: string;
  s3Endpoint: string;
  ffmpeg: string;
  limits: { maxUploadBytes: number; maxDurationSec: number; minDurationSec: number };
  /** Whether the call is for the run that has held its slot longest (runtime/queue.ts's `oldest`). */
  isFirstRun?: (event: PreprocessEvent) => boolean;
}

/** The nice value of a call for any run but the first: low enough to yield the CPU, not to starve. */
export const LATER_RUN_NICE = 10;

type FromChild =
  | { type: 'ready' }
  | { type: 'done'; id: number; result: PreprocessResult }
  | { type: 'failed'; id: number; error: { name: string; message: string } };

interface Worker {
  child: ChildProcess;
  /** Its nice value as last set. */
  nice: number;
  ready: Promise<void>;
  /** The call it is running, if any. */
  current?: { id: number; resolve: (result: PreprocessResult) => void; reject: (error: Error) => void };
}

const named = (name: string, message: string) => Object.assign(new Error(message), { name });

/**
 * V8 flags of every process that runs Preprocess (each slot's here; the Lambda's NODE_OPTIONS in serverless.yml,
 * which test/template.test.ts holds to this list). Preprocess reads ffmpeg's two outputs as ~10 000 short-lived
 * 64 KB Buffers per hour of audio, memory outside V8's heap that is freed only when a collection finds their
 * handles dead. With V8's default young generation (semi-spaces up to 16 MB) collections came seldom and that
 * memory piled up: a 60-minute file peaked at 141–149 MB (six runs; the budget is 150). 2 MB semi-spaces collect
 * about eight times as often: 128–133 MB, at the same speed (the 3-minute preprocess's CPU did not rise).
 */
export const PREPROCESS_V8_FLAGS = ['--max-semi-space-size=2'] as const;

export function createPreprocessPool(options: PreprocessPoolOptions) {
  const workers: Worker[] = [];
  const idle: Worker[] = [];
  const waiting: Array<(worker: Worker) => void> = [];
  let calls = 0;
  let closed = false;

  function start(): Worker {
    const child = fork(
      path.join(__dirname, 'preprocess-process.mts'),
      [JSON.stringify({ region: options.region, s3Endpoint: options.s3Endpoint, ffmpeg: options.ffmpeg, limits: options.limits })],
      {
        // Plain Node, not the parent's loader: it transforms the TypeScript of the functions and the core itself.
        execArgv: ['--experimental-transform-types', '--disable-warning=ExperimentalWarning', '--disable-warning=MODULE_TYPELESS_PACKAGE_JSON', ...PREPROCESS_V8_FLAGS],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        // This process's environment as it is now (the runtime set the embedded S3's credentials in it), named
        // explicitly: a host that sandboxes process.env (jest) would otherwise hand on the one it started with.
        env: { ...process.env },
      },
    );
    const worker: Worker = { child, nice: 0, ready: Promise.resolve() };
    worker.ready = new Promise<void>((resolve, reject) => {
      child.on('message', (message: FromChild) => {
        if (message.type === 'ready') return resolve();
        const call = worker.current;
        if (!call || call.id !== message.id) return;
        worker.current = undefined;
        if (message.type === 'done') call.resolve(message.result);
        else call.reject(named(message.error.name, message.error.message));
        release(worker);
      });
      child.once('exit', (code, signal) => {
        const reason = `The Preprocess process ended (${signal ?? `exit code ${code}`})`;
        reject(named('Runtime.ExitError', `${reason} before it was ready.`));
        workers.splice(workers.indexOf(worker), 1);
        if (idle.includes(worker)) idle.splice(idle.indexOf(worker), 1);
        worker.current?.reject(named('Runtime.ExitError', `${reason} while it was measuring.`));
        worker.current = undefined;
      });
    });
    worker.ready.catch(() => undefined);
    workers.push(worker);
    return worker;
  }

  function release(worker: Worker): void {
    const next = waiting.shift();
    if (next) next(worker);
    else idle.push(worker);
  }

  function acquire(first: boolean): Promise<Worker> {
    // The first run prefers a process at the normal priority; the others one already lowered. Among those, the one
    // used last: its compiled code is warm, where taking turns would leave every process half warmed up.
    let preferred = -1;
    for (let i = idle.length - 1; i >= 0 && preferred < 0; i--) if ((idle[i].nice === 0) === first) preferred = i;
    const free = idle.splice(preferred >= 0 ? preferred : idle.length - 1, 1)[0];
    if (free) return Promise.resolve(free);
    if (workers.length < options.size) return Promise.resolve(start());
    return new Promise((resolve) => waiting.push(resolve));
  }

  function prioritise(worker: Worker, nice: number): void {
    if (worker.nice === nice || worker.child.pid === undefined) return;
    try {
      os.setPriority(worker.child.pid, nice);
      worker.nice = nice;
    } catch {
      // Not allowed to raise it back (EACCES): this call runs at the lower priority.
    }
  }

  // Ready before the first uploads arrive: loading the SDK and the descriptors takes most of a second. As many as
  // there are cores at most; beyond that (MAX_CONCURRENT_RUNS above the cores) they start when needed.
  for (let i = 0; i < Math.min(options.size, os.availableParallelism()); i++) idle.push(start());

  return {
    /** The preprocess function's handler, as lambda.ts calls it. */
    async handler(event: PreprocessEvent, context: { signal?: AbortSignal } = {}): Promise<PreprocessResult> {
      if (closed) throw named('Runtime.ExitError', 'the runtime is stopping');
      const first = options.isFirstRun?.(event) ?? true;
      const worker = await acquire(first);
      await worker.ready;
      prioritise(worker, first ? 0 : LATER_RUN_NICE);
      const id = ++calls;
      const abort = () => worker.child.send({ type: 'abort', id });
      context.signal?.addEventListener('abort', abort, { once: true });
      try {
        return await new Promise<PreprocessResult>((resolve, reject) => {
          worker.current = { id, resolve, reject };
          worker.child.send({ type: 'run', id, event });
        });
      } finally {
        context.signal?.removeEventListener('abort', abort);
      }
    },
    /** The processes now running, with the nice value each was given. */
    processes(): Array<{ pid: number; nice: number }> {
      return workers.filter((worker) => worker.child.pid !== undefined).map((worker) => ({ pid: worker.child.pid!, nice: worker.nice }));
    },
    /** Ends every process (the runtime has stopped its runs first). */
    async close(): Promise<void> {
      closed = true;
      await Promise.all(
        workers.map(
          (worker) =>
            new Promise<void>((resolve) => {
              if (worker.child.exitCode !== null || worker.child.signalCode !== null) return resolve();
              worker.child.once('exit', () => resolve());
              worker.child.send({ type: 'close' });
            }),
        ),
      );
    },
  };
}
