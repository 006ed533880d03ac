import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { WINDOW_SAMPLES } from '#core/contract';
import { allocateNpyFloat32, decodeNpyFloat32, encodeNpyFloat32 } from '#core/npy';
import { tempDir } from './helpers/audio.ts';

const PYTHON = '/usr/bin/python3';

describe('.npy windows', () => {
  it('load in numpy as float32 arrays of shape (160000,) with the same values', () => {
    // Prepare
    const samples = Float32Array.from({ length: WINDOW_SAMPLES }, (_, i) => Math.sin(i / 7) * 0.5);
    const file = path.join(tempDir(), '00000.npy');
    writeFileSync(file, encodeNpyFloat32(samples));
    // Act
    const report = execFileSync(PYTHON, [
      '-c',
      'import sys, numpy as np\n' +
        'a = np.load(sys.argv[1])\n' +
        'print(a.dtype, a.shape, repr(float(a[0])), repr(float(a[12345])), repr(float(a[-1])))',
      file,
    ]).toString().trim();
    // Assess
    const [dtype, shape, first, middle, last] = report.split(/ (?![^(]*\))/);
    expect(dtype).toBe('float32');
    expect(shape).toBe('(160000,)');
    expect(Number(first)).toBe(samples[0]);
    expect(Number(middle)).toBe(samples[12345]);
    expect(Number(last)).toBe(samples[WINDOW_SAMPLES - 1]);
  });

  it('have a NumPy 1.0 header padded so the data starts on a 64-byte boundary', () => {
    // Act
    const file = encodeNpyFloat32(new Float32Array(WINDOW_SAMPLES));
    // Assess
    expect(file.subarray(0, 8)).toEqual(Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]));
    const dataStart = 10 + file.readUInt16LE(8);
    expect(dataStart % 64).toBe(0);
    expect(file.length - dataStart).toBe(WINDOW_SAMPLES * 4);
  });

  it('are the same bytes whether encoded from samples or written into an allocated file', () => {
    // Prepare
    const samples = Float32Array.from({ length: 1000 }, (_, i) => i / 1000);
    const allocated = allocateNpyFloat32(1000);
    // Act
    allocated.samples.set(samples);
    // Assess
    expect(allocated.file.equals(encodeNpyFloat32(samples))).toBe(true);
    expect(decodeNpyFloat32(allocated.file)).toEqual(samples);
  });

  it('read back what numpy writes', () => {
    // Prepare
    const file = path.join(tempDir(), 'numpy.npy');
    execFileSync(PYTHON, ['-c', 'import sys, numpy as np\nnp.save(sys.argv[1], np.linspace(-1, 1, 1000, dtype=np.float32))', file]);
    // Act
    const samples = decodeNpyFloat32(require('node:fs').readFileSync(file));
    // Assess
    expect(samples).toHaveLength(1000);
    expect(samples[0]).toBe(-1);
    expect(samples[999]).toBe(1);
  });
});
