import { SAMPLE_RATE, WINDOW_SAMPLES } from '#core/contract';
import { decodeNpyFloat32 } from '#core/npy';
import { planWindows, Windower } from '#core/windows';

const samples = (seconds: number) => Math.round(seconds * SAMPLE_RATE);

/** A ramp whose values encode their own position, so any misplaced sample shows. */
function ramp(length: number): Float32Array {
  return Float32Array.from({ length }, (_, i) => (i % 30_000) / 30_000);
}

function cut(total: number, chunkSize: number) {
  const audio = ramp(total);
  const windower = new Windower();
  const windows = [];
  for (let offset = 0; offset < total; offset += chunkSize) windows.push(...windower.push(audio.subarray(offset, offset + chunkSize)));
  windows.push(...windower.finish());
  return { audio, windows };
}

describe('planWindows', () => {
  it.each([
    [0.3, [[0, 0.3]]],
    [3, [[0, 3]]],
    [10.0, [[0, 10]]],
    [10.5, [[0, 10]]],
    [11, [[0, 10], [1, 11]]],
    [20, [[0, 10], [10, 20]]],
    [37.3, [[0, 10], [10, 20], [20, 30], [27.3, 37.3]]],
  ])('cuts a %s s track into windows at 0, 10, 20 … with an end-aligned tail when ≥ 1 s remains', (seconds, expected) => {
    // Act
    const ranges = planWindows(samples(seconds));
    // Assess
    expect(ranges.map((r) => [r.startSec, r.endSec])).toEqual(expected);
    expect(ranges.map((r) => r.index)).toEqual(expected.map((_, i) => i));
  });

  it('returns no window for an empty track', () => {
    expect(planWindows(0)).toEqual([]);
  });
});

describe('Windower', () => {
  it.each([0.3, 3, 10, 10.5, 11, 20, 37.3])('streams a %s s track into the planned windows whatever the chunk size', (seconds) => {
    for (const chunkSize of [4096, 70_001, WINDOW_SAMPLES * 3]) {
      // Act
      const { windows } = cut(samples(seconds), chunkSize);
      // Assess
      expect(windows.map(({ index, startSec, endSec }) => ({ index, startSec, endSec }))).toEqual(planWindows(samples(seconds)));
      for (const window of windows) expect(window.samples).toHaveLength(WINDOW_SAMPLES);
    }
  });

  it('fills every window with exactly the audio of its time range', () => {
    // Prepare
    const total = samples(37.3);
    // Act
    const { audio, windows } = cut(total, 12_345);
    // Assess
    for (const window of windows) {
      const start = Math.round(window.startSec * SAMPLE_RATE);
      expect(window.samples).toEqual(audio.subarray(start, start + WINDOW_SAMPLES));
      expect(window.realSamples).toBe(WINDOW_SAMPLES);
      expect(decodeNpyFloat32(window.npy)).toEqual(window.samples);
    }
  });

  it('reuses released buffers without touching windows still held, the tail included', () => {
    // Prepare
    const total = samples(57.5);
    const audio = ramp(total);
    const windower = new Windower();
    const kept: Array<{ start: number; copy: Float32Array }> = [];
    const seen = new Set<Float32Array>();
    // Act: release every window as soon as it is copied, as preprocess does once it is stored.
    for (let offset = 0; offset < total; offset += 50_000) {
      for (const window of [...windower.push(audio.subarray(offset, offset + 50_000))]) {
        seen.add(window.samples);
        kept.push({ start: Math.round(window.startSec * SAMPLE_RATE), copy: window.samples.slice() });
        windower.release(window);
      }
    }
    for (const window of windower.finish()) kept.push({ start: Math.round(window.startSec * SAMPLE_RATE), copy: window.samples.slice() });
    // Assess
    expect(seen.size).toBeLessThan(5);
    for (const { start, copy } of kept) expect(copy).toEqual(audio.subarray(start, start + WINDOW_SAMPLES));
  });

  it('zero-pads a track shorter than one window and records how much of it is real', () => {
    // Act
    const { audio, windows } = cut(samples(3), 1000);
    // Assess
    expect(windows).toHaveLength(1);
    expect(windows[0].realSamples).toBe(samples(3));
    expect(windows[0].samples.subarray(0, samples(3))).toEqual(audio);
    expect(windows[0].samples.subarray(samples(3)).every((v) => v === 0)).toBe(true);
  });
});
