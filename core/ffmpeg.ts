/**
 * Decoding with ffmpeg exactly as LP-MusicCaps' loader does: `-ac 1 -ar 16000`, 16-bit PCM, then ÷ 32768.
 * The input streams in (stdin) and samples stream out, so a 60-minute file is never held whole.
 *
 * The same ffmpeg process also writes the file's own channels at its own rate (16-bit with 6 dB headroom, fd 3): one decode,
 * the stream split in two outputs. Those samples are measured as they arrive (BS.1770-4 loudness and true peak,
 * FileLoudnessMeter) and dropped. ffmpeg's ebur128 filter would measure the same, but it resamples to 48 kHz and
 * oversamples to 192 kHz in double precision inside ffmpeg's one filtering thread: 3.2× ffmpeg's CPU for the
 * decode alone; the second output costs ffmpeg about 1.1×, and the measuring runs on Node's side, beside it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { SAMPLE_RATE } from './contract.ts';
import { channelWeights, FileLoudnessMeter, type FileLoudness } from './descriptors/loudness.ts';
import { AudioTooLong, ConfigError, InvalidAudio, NoAudioStream } from './errors.ts';
import { openOutputSocket, READ_BUFFER_BYTES } from './output-socket.ts';

/** ffmpeg's path: FFMPEG_BIN, then ffmpeg-static's binary, then a clear error. */
export function resolveFfmpeg(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env.FFMPEG_BIN;
  if (configured) {
    if (existsSync(configured)) return configured;
    throw new ConfigError(`FFMPEG_BIN is set to ${configured}, but no file is there.`);
  }
  let bundled: string | null = null;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    bundled = require('ffmpeg-static') as string | null;
  } catch {
    bundled = null;
  }
  if (bundled && existsSync(bundled)) return bundled;
  throw new ConfigError(
    'ffmpeg was not found. Set FFMPEG_BIN to an ffmpeg binary (for example /usr/bin/ffmpeg after `apt-get install ffmpeg`), ' +
      'or reinstall ffmpeg-static where it can download its binary.',
  );
}

export interface SourceInfo {
  codec: string;
  sampleRate: number;
  channels: number;
  /** ffmpeg's name for the channel layout ("stereo", "5.1(side)", "3 channels"). */
  channelLayout?: string;
  /** The container's own idea of the duration, when it states one. */
  declaredDurationSec?: number;
}

export interface DecodeOptions {
  ffmpeg: string;
  /** A readable stream (piped to ffmpeg's stdin) or a path/URL ffmpeg opens itself. */
  input: Readable | string;
  /** Stop with AudioTooLong past this many seconds. */
  maxDurationSec?: number;
  /**
   * Called once ffmpeg has described the input (in practice before the first samples, not guaranteed);
   * `measuringLoudness` says whether the file's loudness is being measured, so DecodeResult.loudness will not be null.
   */
  onInfo?: (info: SourceInfo, measuringLoudness: boolean) => void;
  /** Kills ffmpeg and ends the decode with an AbortError. */
  signal?: AbortSignal;
  /** Measure the file's loudness in the same pass (default true). */
  measureLoudness?: boolean;
  /**
   * Yield the chunks in two buffers taken in turn, each valid only until the next chunk is asked for (a consumer
   * that copies the samples, as preprocess does): a 60-minute file then leaves no 230 MB of spent chunks for the GC.
   */
  reuseChunks?: boolean;
}

export interface DecodeResult {
  info: SourceInfo;
  /** BS.1770-4 loudness of the file's own channels; null when not measured. */
  loudness: FileLoudness | null;
}

/** Raised when the container needs a seekable input (an MP4 whose index sits at the end). */
export class NeedsSeekableInput extends Error {
  override readonly name = 'NeedsSeekableInput';
}

/**
 * Raised when ffmpeg could not fetch its input URL at all (a build without https, a TLS or network failure):
 * a fault of the path to the file, not of the file.
 */
export class InputUnreachable extends Error {
  override readonly name = 'InputUnreachable';
}

const CHANNEL_LAYOUTS: Record<string, number> = {
  mono: 1, stereo: 2, downmix: 2, '2.1': 3, '3.0': 3, quad: 4, '4.0': 4, '3.1': 4, '5.0': 5, '4.1': 5, '5.1': 6, '6.0': 6,
  hexagonal: 6, '6.1': 7, '7.0': 7, '7.1': 8, octagonal: 8, hexadecagonal: 16, '22.2': 24,
};

/** Reads the first input audio stream's description from ffmpeg's log. */
export function parseSourceInfo(log: string): SourceInfo | undefined {
  const inputSection = log.split(/\nOutput #0/)[0];
  const stream = /Stream #0:\d+[^:]*: Audio: ([^,\s]+)[^,]*, (\d+) Hz, ([^,]+)/.exec(inputSection);
  if (!stream) return undefined;
  const layout = stream[3].trim();
  const counted = /^(\d+) channels/.exec(layout);
  const channels = counted ? Number(counted[1]) : CHANNEL_LAYOUTS[layout.replace(/\(.*\)/, '')] ?? 0;
  const duration = /Duration: (\d+):(\d+):(\d+(?:\.\d+)?)/.exec(inputSection);
  const declaredDurationSec = duration ? Number(duration[1]) * 3600 + Number(duration[2]) * 60 + Number(duration[3]) : undefined;
  return { codec: stream[1], sampleRate: Number(stream[2]), channels, channelLayout: layout, declaredDurationSec };
}

/** ffmpeg arguments for the LP-MusicCaps decoding path, reading `input`. */
export function decodeArguments(input: string): string[] {
  // Over HTTP, ffmpeg reconnects after a dropped connection instead of ending the track early.
  const network = /^https?:/.test(input) ? ['-reconnect', '1', '-reconnect_on_network_error', '1', '-reconnect_delay_max', '4'] : [];
  return ['-hide_banner', '-nostdin', ...network, '-i', input, '-map', '0:a:0', '-vn', '-ac', '1', '-ar', String(SAMPLE_RATE), '-f', 's16le', '-acodec', 'pcm_s16le',
    // Without this ffmpeg flushes the pipe after every packet: ~6,000 writes of 1 KB per 3 minutes instead of ~170 of 32 KB.
    '-flush_packets', '0', 'pipe:1'];
}

/**
 * The LP-MusicCaps decode, plus a second output of the same decoded stream on fd 3: its own channels and rate,
 * 6 dB down in 16 bits. The headroom keeps a decoded MP3's overs (above full scale, which true peak must see)
 * from clipping; 16 bits (a quantisation floor near -90 dBFS, far below the -70 LUFS gate) halve what Node reads
 * compared with float32.
 */
export function decodeWithLoudnessArguments(input: string): string[] {
  return [...decodeArguments(input), '-map', '0:a:0', '-vn', '-af', 'volume=0.5', '-f', 's16le', '-acodec', 'pcm_s16le', '-flush_packets', '0', 'pipe:3'];
}

/**
 * Decodes to 16 kHz mono float32, yielding chunks as ffmpeg produces them. Backpressure is real: once 4 s of
 * samples wait for a busy consumer, reading stops and ffmpeg waits. Throws the pipeline's named errors for input
 * it cannot use. Both outputs arrive through local sockets read into reused buffers (core/output-socket.ts).
 *
 * The file's loudness is measured on this thread as ffmpeg's fd-3 bytes arrive. (A worker thread for the measuring
 * was tried: on two cores ffmpeg already has one, so it finished no sooner, and its second copy of the bundle cost
 * 30 MB of peak memory on a 60-minute file.)
 */
export async function* decodeAudio(options: DecodeOptions): AsyncGenerator<Float32Array, DecodeResult> {
  const fromStream = typeof options.input !== 'string';
  const measure = options.measureLoudness ?? true;
  options.signal?.throwIfAborted();
  const inputArgument = fromStream ? 'pipe:0' : (options.input as string);
  let log = '';
  let info: SourceInfo | undefined;
  const loudness = measure ? new LoudnessTap() : undefined;
  const samples = new SampleQueue();
  let readerEnded = false;
  let readerError: Error | undefined;
  /** Wakes the loop below when samples, the end or an error arrive. */
  let wake: (() => void) | undefined;
  const wakeUp = () => {
    const waiting = wake;
    wake = undefined;
    waiting?.();
  };

  /** Reading stopped because enough samples wait for the consumer; ffmpeg waits meanwhile (backpressure). */
  let paused = false;
  const output = await openOutputSocket((bytes) => {
    samples.append(bytes);
    wakeUp();
    paused = samples.length >= SampleQueue.HIGH_WATER;
    return !paused;
  });
  const tap = loudness ? await openOutputSocket((bytes) => {
    loudness.push(bytes);
    return true;
  }).catch((error: Error) => {
    output.reader.destroy();
    output.childEnd.destroy();
    throw error;
  }) : undefined;
  let child: ChildProcess;
  try {
    child = spawn(options.ffmpeg, measure ? decodeWithLoudnessArguments(inputArgument) : decodeArguments(inputArgument), {
      stdio: [fromStream ? 'pipe' : 'ignore', output.childEnd, 'pipe', ...(tap ? [tap.childEnd] : [])],
      signal: options.signal,
      killSignal: 'SIGKILL',
    });
  } finally {
    // ffmpeg holds its own copies now; with these closed, each reader ends when ffmpeg closes its output.
    output.childEnd.destroy();
    tap?.childEnd.destroy();
  }
  output.reader.on('end', () => {
    readerEnded = true;
    wakeUp();
  });
  output.reader.on('error', (error: Error) => {
    readerError = error;
    wakeUp();
  });
  tap?.reader.on('error', () => undefined);
  const tapEnded = tap ? new Promise<void>((resolve) => tap.reader.once('close', () => resolve())) : Promise.resolve();
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (text: string) => {
    if (log.length < 64_000) log += text;
    if (!info) {
      info = parseSourceInfo(log);
      if (info) {
        loudness?.start(info);
        options.onInfo?.(info, loudness?.measuring ?? false);
      }
    }
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', (error) => {
      reject(error);
      // No process, so no end will come on its outputs.
      readerError ??= error;
      wakeUp();
    });
    child.on('close', (code) => resolve(code));
  });
  // A reader that stops early (the runtime stopping mid-run aborts the decode) never awaits `exited`; the
  // AbortError it then carries must not become an unhandled rejection that ends the process. Awaited, it still
  // rejects below.
  exited.catch(() => undefined);
  if (fromStream) {
    const source = options.input as Readable;
    // ffmpeg stops reading when the input is unusable; the broken pipe that follows is not the error to report.
    child.stdin!.on('error', () => undefined);
    source.on('error', () => child.kill('SIGKILL'));
    source.pipe(child.stdin!);
    options.signal?.addEventListener('abort', () => source.destroy(), { once: true });
  }

  const maxSamples = options.maxDurationSec === undefined ? Infinity : Math.ceil(options.maxDurationSec * SAMPLE_RATE);
  let total = 0;
  let readToTheEnd = false;
  try {
    for (;;) {
      if (samples.length === 0) {
        if (readerError || readerEnded) break;
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      if (info?.declaredDurationSec !== undefined && options.maxDurationSec !== undefined && info.declaredDurationSec > options.maxDurationSec + 1) {
        throw tooLong(info.declaredDurationSec, options.maxDurationSec);
      }
      const chunk = samples.take();
      if (paused) {
        paused = false;
        output.reader.resume();
      }
      total += chunk.length;
      if (total > maxSamples) throw tooLong(total / SAMPLE_RATE, options.maxDurationSec!);
      yield options.reuseChunks ? chunk : chunk.slice();
    }
    readToTheEnd = !readerError;
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    output.reader.destroy();
    // Stopped early: the file's loudness is not wanted any more. Otherwise its last bytes are still to be read.
    if (!readToTheEnd) tap?.reader.destroy();
  }
  const code = await exited.catch((error: Error) => {
    throw error.name === 'AbortError' ? error : new InvalidAudio(`ffmpeg could not run: ${error.message}`);
  });
  await tapEnded;
  options.signal?.throwIfAborted();
  info ??= parseSourceInfo(log);
  if (code !== 0) throw explainFailure(log, fromStream);
  if (total === 0 || !info) {
    throw new InvalidAudio('No audio could be decoded from the file: it holds no sound ffmpeg can read.');
  }
  return { info, loudness: loudness ? loudness.finish() : null };
}

/** LP-MusicCaps' ÷ 32768 as a product: 2⁻¹⁵ is exact, so the samples are the same to the bit. */
const INT16_SCALE = 1 / 32768;

/**
 * ffmpeg's 16-bit little-endian samples, as they arrive, turned into float32 (÷ 32768, LP-MusicCaps' scaling) in
 * one buffer while the consumer works on the other: what `take` returns stays valid until the next `take`.
 */
class SampleQueue {
  /** Samples held before the socket is paused: 4 s of 16 kHz audio. */
  static readonly HIGH_WATER = 65_536;
  /** Room for a read that arrives just under the high-water mark. */
  private static readonly CAPACITY = SampleQueue.HIGH_WATER + READ_BUFFER_BYTES / 2 + 1;
  private filling = new Float32Array(SampleQueue.CAPACITY);
  private spare = new Float32Array(SampleQueue.CAPACITY);
  length = 0;
  /** The low byte of a sample split between two reads, or -1. */
  private odd = -1;

  append(bytes: Buffer): void {
    if (bytes.length === 0) return;
    const needed = this.length + ((bytes.length + 1) >> 1);
    if (needed > this.filling.length) {
      const grown = new Float32Array(Math.max(needed, 2 * this.filling.length));
      grown.set(this.filling.subarray(0, this.length));
      this.filling = grown;
    }
    const out = this.filling;
    let n = this.length;
    let at = 0;
    if (this.odd >= 0) {
      out[n++] = (((this.odd | (bytes[0] << 8)) << 16) >> 16) / 32768;
      this.odd = -1;
      at = 1;
    }
    const pairs = (bytes.length - at) >> 1;
    if (((bytes.byteOffset + at) & 1) === 0) {
      const pcm = new Int16Array(bytes.buffer, bytes.byteOffset + at, pairs);
      // × 2⁻¹⁵ is ÷ 32768 exactly (a power of two), and V8 does not turn the division into it by itself.
      for (let i = 0; i < pairs; i++) out[n + i] = pcm[i] * INT16_SCALE;
    } else {
      for (let i = 0, j = at; i < pairs; i++, j += 2) out[n + i] = (((bytes[j] | (bytes[j + 1] << 8)) << 16) >> 16) * INT16_SCALE;
    }
    n += pairs;
    if (at + 2 * pairs < bytes.length) this.odd = bytes[bytes.length - 1];
    this.length = n;
  }

  /** The samples so far; the buffer they lie in is filled again only after the next `take`. */
  take(): Float32Array {
    const full = this.filling;
    this.filling = this.spare;
    this.spare = full;
    const taken = full.subarray(0, this.length);
    this.length = 0;
    return taken;
  }
}

/** The layout of ffmpeg's fd-3 output: the file's own channels at its own rate. */
export interface LoudnessFormat {
  sampleRate: number;
  channels: number;
  channelLayout?: string;
}

/** 16-bit units of the fd-3 samples in full scale: 6 dB down (ffmpeg's `volume=0.5`). */
export const LOUDNESS_SAMPLE_SCALE = 2 / 32768;

/**
 * The fd-3 side of the decode: 16-bit samples of the file's channels (6 dB down) into a FileLoudnessMeter. Bytes
 * that arrive before ffmpeg's log has named the layout (there are none in practice: ffmpeg describes its input
 * first) wait in a short queue.
 */
class LoudnessTap {
  private started = false;
  private waiting: Buffer[] = [];
  private failed = false;
  private readonly sink = new LoudnessSink();

  /** Started on the file's layout and not failed: `finish` will give a measurement. */
  get measuring(): boolean {
    return this.started && !this.failed;
  }

  start(info: SourceInfo): void {
    if (this.started || this.failed || !(info.channels >= 1) || !(info.sampleRate > 0)) return;
    this.started = true;
    this.sink.start({ sampleRate: info.sampleRate, channels: info.channels, channelLayout: info.channelLayout });
    const waiting = this.waiting;
    this.waiting = [];
    for (const piece of waiting) this.sink.push(piece);
  }

  push(piece: Buffer): void {
    if (this.failed) return;
    if (!this.started) {
      // A copy: the reader's buffer is read into again.
      this.waiting.push(Buffer.from(piece));
      // ffmpeg names its input before it writes a sample; if it somehow did not, do without a measurement.
      if (this.waiting.length > 64) this.fail();
      return;
    }
    this.sink.push(piece);
  }

  finish(): FileLoudness | null {
    return this.started && !this.failed ? this.sink.finish() : null;
  }

  private fail(): void {
    this.failed = true;
    this.waiting = [];
  }
}

const NO_BYTES = new Uint8Array(0);

/** ffmpeg's fd-3 bytes into a FileLoudnessMeter: whole frames only, a partial one carried to the next piece. */
export class LoudnessSink {
  private meter: FileLoudnessMeter | undefined;
  private frameBytes = 2;
  private carry = NO_BYTES;
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
      // The usual case, a read of whole frames: measure the bytes where they lie, without copying them.
      this.meter!.push(new Int16Array(bytes.buffer, bytes.byteOffset, whole / 2), LOUDNESS_SAMPLE_SCALE);
      // A copy of a partial frame (a Buffer's slice would be a view): the reader's buffer is read into again.
      this.carry = whole === bytes.length ? NO_BYTES : new Uint8Array(bytes.subarray(whole));
    } else if (whole > 0) {
      const count = whole / 2;
      if (this.samples.length < count) this.samples = new Int16Array(Math.max(count, 2 * this.samples.length));
      const target = new Uint8Array(this.samples.buffer, 0, whole);
      target.set(this.carry);
      target.set(bytes.subarray(0, whole - this.carry.length), this.carry.length);
      this.meter!.push(this.samples.subarray(0, count), LOUDNESS_SAMPLE_SCALE);
      this.carry = new Uint8Array(bytes.subarray(whole - this.carry.length));
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

function tooLong(seconds: number, max: number): AudioTooLong {
  return new AudioTooLong(
    `The recording is longer than the ${formatMinutes(max)} this service accepts (it runs ${formatMinutes(seconds)}). Trim it and upload it again.`,
  );
}

function formatMinutes(seconds: number): string {
  return seconds >= 120 ? `${Math.round(seconds / 60)} minutes` : `${Math.round(seconds)} seconds`;
}

/** What ffmpeg says when the URL, not the file, is the problem. */
const UNREACHABLE =
  /Protocol not found|Protocol not on whitelist|Connection refused|Connection reset|Connection timed out|Failed to resolve hostname|Server returned [45]\d\d|HTTP error|Error in the pull function|Error in the push function|TLS|tls_|certificate|Input\/output error|End of file while/i;

/** Turns ffmpeg's log into the error a person can act on. */
export function explainFailure(log: string, fromStream: boolean): Error {
  const reason = ffmpegReason(log);
  if (/matches no streams|does not contain any stream|Output file (#0 )?does not contain any stream/i.test(log)) {
    return new NoAudioStream('The file has no audio track (it may be a video without sound, or an image).');
  }
  // The URL itself (the file's name is in it) must not decide: only what ffmpeg says about it.
  if (!fromStream && UNREACHABLE.test(log.replace(/https?:\/\/\S+/g, ''))) {
    return new InputUnreachable(`ffmpeg could not fetch the file (${reason}).`);
  }
  if (fromStream && /moov atom not found|partial file/i.test(log)) {
    return new NeedsSeekableInput('The container keeps its index at the end of the file; decoding needs a seekable copy.');
  }
  return new InvalidAudio(`The file is not audio that ffmpeg can decode (${reason}).`);
}

/**
 * ffmpeg's own words for what went wrong, without the input's name: the input may be a presigned URL, whose
 * signature must not end up in an error message.
 */
export function ffmpegReason(log: string): string {
  const lines = log
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !/^(Input|Output|Stream|Duration|Metadata|Press \[q\]|Stream mapping|\s)/.test(line));
  const named = lines.map((line) => line.replace(/^(?:\[[^\]]*\]\s*)?(?:https?:\/\/\S+?|pipe:\d|\/\S+?):\s+/, ''));
  const scrubbed = named.map((line) => line.replace(/https?:\/\/\S+/g, 'the file'));
  const last = scrubbed.filter((line) => !/^Error opening input files?/i.test(line)).slice(-1)[0] ?? scrubbed.slice(-1)[0];
  return (last || 'no details').replace(/\.$/, '').slice(0, 200);
}
