/**
 * Cutting a decoded track into the model's 10-second windows, as the track streams past.
 *
 * Windows start at 0, 10, 20 … s. When what remains after the last full window is at least 1 s, one more
 * window is aligned to the end of the track, [duration − 10, duration]: it overlaps the previous one but
 * holds only real audio (the reference code dropped that tail). A track shorter than 10 s gives one window,
 * zero-padded to 10 s. Each window records its real start and end.
 */
import { SAMPLE_RATE, WINDOW_SAMPLES } from './contract.ts';
import { allocateNpyFloat32 } from './npy.ts';

type NpyBuffer = ReturnType<typeof allocateNpyFloat32>;

/** A remainder shorter than this after the last full window is not worth its own window. */
export const MIN_TAIL_SAMPLES = SAMPLE_RATE;

export interface Window {
  index: number;
  startSec: number;
  endSec: number;
  /** Exactly WINDOW_SAMPLES samples (zero-padded for a track shorter than one window). */
  samples: Float32Array;
  /** The window as a .npy file; `samples` is a view into it. */
  npy: Buffer;
  /** How many of `samples` are real audio. */
  realSamples: number;
}

export interface WindowRange {
  index: number;
  startSec: number;
  endSec: number;
}

const seconds = (samples: number) => Math.round((samples / SAMPLE_RATE) * 1e6) / 1e6;

/** The windows a track of `totalSamples` samples is cut into (what the streaming windower emits). */
export function planWindows(totalSamples: number): WindowRange[] {
  if (totalSamples <= 0) return [];
  if (totalSamples < WINDOW_SAMPLES) return [{ index: 0, startSec: 0, endSec: seconds(totalSamples) }];
  const full = Math.floor(totalSamples / WINDOW_SAMPLES);
  const ranges: WindowRange[] = [];
  for (let i = 0; i < full; i++) {
    ranges.push({ index: i, startSec: seconds(i * WINDOW_SAMPLES), endSec: seconds((i + 1) * WINDOW_SAMPLES) });
  }
  if (totalSamples - full * WINDOW_SAMPLES >= MIN_TAIL_SAMPLES) {
    ranges.push({ index: full, startSec: seconds(totalSamples - WINDOW_SAMPLES), endSec: seconds(totalSamples) });
  }
  return ranges;
}

/**
 * Streams samples in and windows out, holding at most two windows of audio: the one filling up and the
 * last full one (the end-aligned tail window is made from both).
 */
export class Windower {
  private fillingFile = allocateNpyFloat32(WINDOW_SAMPLES);
  private filled = 0;
  /** The last full window: the end-aligned tail is cut from it, so it is never reused before the next one. */
  private previous: NpyBuffer | undefined;
  private previousReleased = false;
  /** Buffers handed back with release(), filled again so a long track does not wait on the GC for memory. */
  private readonly spare: NpyBuffer[] = [];
  private emitted = 0;
  private total = 0;

  get totalSamples(): number {
    return this.total;
  }

  /** Adds samples; returns the windows they completed. */
  push(chunk: Float32Array): Window[] {
    const done: Window[] = [];
    let offset = 0;
    this.total += chunk.length;
    while (offset < chunk.length) {
      const take = Math.min(WINDOW_SAMPLES - this.filled, chunk.length - offset);
      this.fillingFile.samples.set(chunk.subarray(offset, offset + take), this.filled);
      this.filled += take;
      offset += take;
      if (this.filled === WINDOW_SAMPLES) {
        const index = this.emitted++;
        const completed = this.fillingFile;
        done.push({
          index,
          startSec: seconds(index * WINDOW_SAMPLES),
          endSec: seconds((index + 1) * WINDOW_SAMPLES),
          samples: completed.samples,
          npy: completed.file,
          realSamples: WINDOW_SAMPLES,
        });
        if (this.previous && this.previousReleased) this.spare.push(this.previous);
        this.previous = completed;
        this.previousReleased = false;
        this.fillingFile = this.spare.pop() ?? allocateNpyFloat32(WINDOW_SAMPLES);
        this.filled = 0;
      }
    }
    return done;
  }

  /** Hands a full window's buffer back once it is stored; the windower fills it again later. */
  release(window: Window): void {
    if (this.previous && window.samples === this.previous.samples) {
      this.previousReleased = true;
    } else if (window.npy !== this.fillingFile.file && window.realSamples === WINDOW_SAMPLES && window.samples.length === WINDOW_SAMPLES) {
      this.spare.push({ file: window.npy, samples: window.samples });
    }
  }

  /** Ends the track; returns the last window, if there is one. */
  finish(): Window[] {
    const remainder = this.filled;
    const filling = this.fillingFile.samples;
    if (this.emitted === 0) {
      if (remainder === 0) return [];
      this.emitted = 1;
      return [{ index: 0, startSec: 0, endSec: seconds(remainder), samples: filling, npy: this.fillingFile.file, realSamples: remainder }];
    }
    if (remainder < MIN_TAIL_SAMPLES || !this.previous) return [];
    const tail = allocateNpyFloat32(WINDOW_SAMPLES);
    tail.samples.set(this.previous.samples.subarray(remainder), 0);
    tail.samples.set(filling.subarray(0, remainder), WINDOW_SAMPLES - remainder);
    const index = this.emitted++;
    return [
      { index, startSec: seconds(this.total - WINDOW_SAMPLES), endSec: seconds(this.total), samples: tail.samples, npy: tail.file, realSamples: WINDOW_SAMPLES },
    ];
  }
}
