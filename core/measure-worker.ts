/**
 * The decode's measuring, on a worker thread: the file's own loudness (FileLoudnessMeter on ffmpeg's fd-3 output)
 * and, when asked, the 16 kHz mono descriptors (TrackAnalyzer). ffmpeg decodes on one core; Node's main thread
 * reads both of ffmpeg's outputs, cuts windows and uploads them; this thread measures beside them, so Node's work
 * spreads over the machine's cores instead of making ffmpeg wait on one thread.
 *
 * The main thread hands over bytes (copies, transferred) exactly as ffmpeg wrote them; the worker keeps the
 * carries (an odd byte, a partial frame) and converts them itself, with the same arithmetic as the in-thread code.
 * Flow control: the worker acknowledges what it has measured, and the main thread stops reading ffmpeg while more
 * than MAX_OUTSTANDING_BYTES wait in the worker (ffmpeg then waits too), so a 60-minute file never piles up.
 *
 * One module for both sides: the worker runs this same file (`new Worker(__filename)`), so it is packaged
 * wherever its importer is, including a bundled Lambda (esbuild inlines it; the worker loads the bundle).
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { TrackAnalyzer, type TimeRange, type TrackTags, type WindowTags } from './descriptors/index.ts';
import type { SongSection, TrackAnalysis } from './descriptors/types.ts';
import { SAMPLE_RATE } from './contract.ts';
import { channelWeights, FileLoudnessMeter, type FileLoudness } from './descriptors/loudness.ts';

const WORKER_TAG = 'music-captioner:measure-worker';

/** Bytes handed to the worker and not yet measured, above which the main thread stops reading ffmpeg. */
export const MAX_OUTSTANDING_BYTES = 2 << 20;
/** The worker acknowledges after measuring this many bytes (and whenever its queue runs dry). */
const ACK_BYTES = 256 << 10;

/** 16-bit units of the fd-3 samples in full scale: 6 dB down (ffmpeg's `volume=0.5`). */
export const LOUDNESS_SAMPLE_SCALE = 2 / 32768;

export interface TrackMeasurements {
  track: TrackTags;
  windows: WindowTags[];
  analysis: TrackAnalysis;
  sections: SongSection[];
}

export interface LoudnessFormat {
  sampleRate: number;
  channels: number;
  channelLayout?: string;
}

type Request =
  | { type: 'begin'; job: number; analyze: boolean }
  | { type: 'format'; format: LoudnessFormat }
  | { type: 'file'; bytes: Uint8Array }
  | { type: 'mono'; bytes: Uint8Array }
  | { type: 'end' }
  | { type: 'finish'; windows: TimeRange[] };

type Reply =
  | { type: 'ack'; bytes: number }
  | { type: 'loudness'; loudness: FileLoudness | null }
  | { type: 'measurements'; measurements: TrackMeasurements }
  | { type: 'error'; message: string };

/** A worker thread, reused from one decode to the next (its start costs tens of milliseconds, more from source). */
class MeasureThread {
  readonly worker: Worker;
  job: MeasureWorker | undefined;
  dead = false;

  constructor() {
    // A small young generation: the pieces of audio it is handed are garbage at once, and are freed soon.
    this.worker = new Worker(__filename, { workerData: { [WORKER_TAG]: true }, resourceLimits: { maxYoungGenerationSizeMb: 1 } });
    this.worker.on('message', (reply: Reply) => this.job?.onReply(reply));
    this.worker.on('error', (error: Error) => {
      this.dead = true;
      this.job?.fail(error);
    });
    this.worker.on('exit', (code) => {
      this.dead = true;
      removeIdle(this);
      this.job?.fail(new Error(`the measuring worker stopped (exit code ${code})`));
    });
    // After the listeners (a 'message' listener refs the port again): an idle thread never keeps the process alive.
    this.worker.unref();
  }
}

/** Threads whose last job ended cleanly, waiting for the next decode. */
const idle: MeasureThread[] = [];
const MAX_IDLE_THREADS = 2;
let jobs = 0;

function removeIdle(thread: MeasureThread): void {
  const at = idle.indexOf(thread);
  if (at >= 0) idle.splice(at, 1);
}

/** What decodeAudio hands ffmpeg's bytes to: a MeasureWorker, or LocalMeasure on the calling thread. */
export interface Measurer {
  readonly analyze: boolean;
  readonly busy: boolean;
  whenReady(): Promise<void>;
  onDrain(listener: () => void): void;
  format(format: LoudnessFormat): void;
  file(piece: Uint8Array, give?: boolean): void;
  mono(piece: Uint8Array, give?: boolean): void;
  end(): Promise<FileLoudness | null>;
}

/** The file's loudness measured on the calling thread, as the piece arrives (no analyzer). */
export class LocalMeasure implements Measurer {
  readonly analyze = false;
  readonly busy = false;
  private readonly sink = new LoudnessSink();
  whenReady(): Promise<void> {
    return Promise.resolve();
  }
  onDrain(): void {}
  format(format: LoudnessFormat): void {
    this.sink.start(format);
  }
  file(piece: Uint8Array): void {
    this.sink.push(piece);
  }
  mono(): void {}
  end(): Promise<FileLoudness | null> {
    return Promise.resolve(this.sink.finish());
  }
}

/**
 * The main thread's handle on one decode's measuring (a worker thread of its own while it lasts). Call `end()`
 * once ffmpeg has finished (it returns the file's loudness), then `finish(windows)` when the analyzer was asked
 * for, and `close()` in every case.
 */
export class MeasureWorker implements Measurer {
  private readonly thread: MeasureThread;
  private readonly job = ++jobs;
  private outstanding = 0;
  private failure: Error | undefined;
  private readonly drained = new Set<() => void>();
  private pendingReply: { type: Reply['type']; resolve: (reply: Reply) => void; reject: (error: Error) => void } | undefined;
  private closed = false;
  private answered = false;
  /** Whether the worker analyses the 16 kHz samples too (TrackAnalyzer). */
  readonly analyze: boolean;

  constructor(analyze: boolean) {
    this.analyze = analyze;
    this.thread = idle.pop() ?? new MeasureThread();
    this.thread.job = this;
    this.thread.worker.ref(); // a job waiting on the worker keeps the process alive
    this.post({ type: 'begin', job: this.job, analyze });
  }

  /** True while the worker has more than MAX_OUTSTANDING_BYTES to measure. */
  get busy(): boolean {
    return this.outstanding > MAX_OUTSTANDING_BYTES && !this.failure;
  }

  /** Resolves once the worker is below MAX_OUTSTANDING_BYTES (or has failed). */
  whenReady(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => this.drained.add(resolve));
  }

  /** Calls `listener` each time the worker comes back below the limit. */
  onDrain(listener: () => void): void {
    this.drained.add(listener);
  }

  format(format: LoudnessFormat): void {
    this.post({ type: 'format', format });
  }

  /**
   * fd-3 bytes as ffmpeg wrote them. With `give`, the caller is done with `piece`: when it owns its whole memory (a
   * pipe read does) that memory moves to the worker without a copy, and `piece` is left empty.
   */
  file(piece: Uint8Array, give = false): void {
    this.postBytes('file', piece, give);
  }

  /** 16 kHz mono s16le bytes as ffmpeg wrote them, for the TrackAnalyzer; `give` as for file(). */
  mono(piece: Uint8Array, give = false): void {
    if (this.analyze) this.postBytes('mono', piece, give);
  }

  /** No more bytes: the file's loudness (null when it could not be measured). */
  async end(): Promise<FileLoudness | null> {
    const reply = await this.request({ type: 'end' }, 'loudness');
    if (!this.analyze) this.answered = true;
    return reply.type === 'loudness' ? reply.loudness : null;
  }

  /** The TrackAnalyzer's tags for the track and `windows`, with the file's loudness; after end(). */
  async finish(windows: TimeRange[]): Promise<TrackMeasurements> {
    const reply = await this.request({ type: 'finish', windows }, 'measurements');
    if (reply.type !== 'measurements') throw new Error('the measuring worker answered out of turn');
    this.answered = true;
    return reply.measurements;
  }

  /** Ends the job: the thread waits for the next decode if this one ended cleanly, else it is stopped. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const thread = this.thread;
    thread.job = undefined;
    thread.worker.unref();
    if (this.answered && !this.failure && !thread.dead && this.outstanding === 0 && idle.length < MAX_IDLE_THREADS) idle.push(thread);
    else {
      thread.dead = true;
      void thread.worker.terminate();
    }
    this.release();
  }

  private postBytes(type: 'file' | 'mono', piece: Uint8Array, give: boolean): void {
    if (this.failure || this.closed || piece.length === 0) return;
    const whole = give && piece.byteOffset === 0 && piece.buffer instanceof ArrayBuffer && piece.buffer.byteLength === piece.length;
    const bytes = whole ? piece : new Uint8Array(piece); // else a copy of exactly these bytes
    this.outstanding += bytes.length;
    this.thread.worker.postMessage({ type, bytes } satisfies Request, [bytes.buffer as ArrayBuffer]);
  }

  private post(request: Request): void {
    if (!this.failure && !this.closed) this.thread.worker.postMessage(request);
  }

  private request(request: Request, type: Reply['type']): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error('the measuring worker is closed'));
    return new Promise((resolve, reject) => {
      this.pendingReply = { type, resolve, reject };
      this.thread.worker.postMessage(request);
    });
  }

  /** @internal a message from the thread, while this job holds it */
  onReply(reply: Reply): void {
    if (reply.type === 'ack') {
      this.outstanding -= reply.bytes;
      if (!this.busy) this.release();
      return;
    }
    if (reply.type === 'error') {
      this.fail(new Error(`measuring failed: ${reply.message}`));
      return;
    }
    const pending = this.pendingReply;
    if (pending && pending.type === reply.type) {
      this.pendingReply = undefined;
      pending.resolve(reply);
    }
  }

  /** @internal */
  fail(error: Error): void {
    this.failure ??= error;
    const pending = this.pendingReply;
    this.pendingReply = undefined;
    pending?.reject(this.failure);
    this.release();
  }

  private release(): void {
    const listeners = [...this.drained];
    this.drained.clear();
    for (const listener of listeners) listener();
  }
}

// ─── The worker's side ────────────────────────────────────────────────────────────────────────────────────────

/** ffmpeg's fd-3 bytes into a FileLoudnessMeter: whole frames only, a partial one carried to the next piece. */
export class LoudnessSink {
  private meter: FileLoudnessMeter | undefined;
  private frameBytes = 2;
  private carry = new Uint8Array(0);
  private samples = new Int16Array(0);
  private failed = false;

  start(format: LoudnessFormat): void {
    if (this.meter || !(format.channels >= 1) || !(format.sampleRate > 0)) return;
    this.frameBytes = 2 * format.channels;
    this.meter = new FileLoudnessMeter(format.sampleRate, format.channels, channelWeights(format.channelLayout ?? '', format.channels));
  }

  push(bytes: Uint8Array): void {
    // ffmpeg names its input before it writes a sample; if it somehow did not, do without a measurement.
    if (!this.meter) this.failed = true;
    if (this.failed) return;
    const total = this.carry.length + bytes.length;
    const whole = total - (total % this.frameBytes);
    if (whole > 0 && this.carry.length === 0 && (bytes.byteOffset & 1) === 0) {
      // The usual case, a pipe read of whole frames: measure the bytes where they lie, without copying them.
      this.meter!.push(new Int16Array(bytes.buffer, bytes.byteOffset, whole / 2), LOUDNESS_SAMPLE_SCALE);
      this.carry = bytes.slice(whole);
    } else if (whole > 0) {
      const count = whole / 2;
      if (this.samples.length < count) this.samples = new Int16Array(Math.max(count, 2 * this.samples.length));
      const target = new Uint8Array(this.samples.buffer, 0, whole);
      target.set(this.carry);
      target.set(bytes.subarray(0, whole - this.carry.length), this.carry.length);
      this.meter!.push(this.samples.subarray(0, count), LOUDNESS_SAMPLE_SCALE);
      this.carry = bytes.slice(whole - this.carry.length);
    } else {
      const joined = new Uint8Array(total);
      joined.set(this.carry);
      joined.set(bytes, this.carry.length);
      this.carry = joined;
    }
  }

  finish(): FileLoudness | null {
    return this.meter && !this.failed ? this.meter.finish() : null;
  }
}

/** 16 kHz mono s16le bytes into a TrackAnalyzer, converted exactly as decodeAudio converts them (÷ 32768). */
class MonoSink {
  readonly analyzer: TrackAnalyzer;
  private odd = -1;
  private samples = new Float32Array(0);

  constructor(sampleRate: number) {
    this.analyzer = new TrackAnalyzer(sampleRate);
  }

  push(bytes: Uint8Array): void {
    let at = 0;
    const out = this.reserve(Math.floor((bytes.length + 1) / 2));
    let n = 0;
    if (this.odd >= 0 && bytes.length > 0) {
      out[n++] = toInt16(this.odd | (bytes[0] << 8)) / 32768;
      this.odd = -1;
      at = 1;
    }
    const pairs = Math.floor((bytes.length - at) / 2);
    if (((bytes.byteOffset + at) & 1) === 0) {
      const pcm = new Int16Array(bytes.buffer, bytes.byteOffset + at, pairs);
      for (let i = 0; i < pairs; i++) out[n + i] = pcm[i] / 32768;
    } else {
      for (let i = 0; i < pairs; i++) out[n + i] = toInt16(bytes[at + 2 * i] | (bytes[at + 2 * i + 1] << 8)) / 32768;
    }
    n += pairs;
    at += 2 * pairs;
    if (at < bytes.length) this.odd = bytes[at];
    if (n > 0) this.analyzer.push(out.subarray(0, n));
  }

  private reserve(count: number): Float32Array {
    if (this.samples.length < count) this.samples = new Float32Array(Math.max(count, 2 * this.samples.length));
    return this.samples;
  }
}

const toInt16 = (word: number) => (word << 16) >> 16;

function runWorker(port: NonNullable<typeof parentPort>, sampleRate: number): void {
  let loudness = new LoudnessSink();
  let mono: MonoSink | undefined;
  let fileLoudness: FileLoudness | null = null;
  let unacknowledged = 0;
  const reply = (message: Reply) => port.postMessage(message);
  const acknowledge = () => {
    if (unacknowledged > 0) reply({ type: 'ack', bytes: unacknowledged });
    unacknowledged = 0;
  };
  port.on('message', (request: Request) => {
    try {
      switch (request.type) {
        case 'begin':
          loudness = new LoudnessSink();
          mono = request.analyze ? new MonoSink(sampleRate) : undefined;
          fileLoudness = null;
          unacknowledged = 0;
          break;
        case 'format':
          loudness.start(request.format);
          break;
        case 'file':
        case 'mono':
          if (request.type === 'file') loudness.push(request.bytes);
          else mono?.push(request.bytes);
          unacknowledged += request.bytes.length;
          if (unacknowledged >= ACK_BYTES) acknowledge();
          else setImmediate(acknowledge); // runs once the queued messages are all measured
          break;
        case 'end':
          acknowledge();
          fileLoudness = loudness.finish();
          reply({ type: 'loudness', loudness: fileLoudness });
          break;
        case 'finish':
          if (!mono) throw new Error('no analyzer was asked for');
          reply({ type: 'measurements', measurements: mono.analyzer.finish(request.windows, { fileLoudness }) });
          mono = undefined;
          break;
      }
    } catch (error) {
      reply({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    }
  });
}

if (!isMainThread && parentPort && (workerData as Record<string, unknown> | null)?.[WORKER_TAG]) {
  runWorker(parentPort, SAMPLE_RATE);
}
