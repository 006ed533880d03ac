/**
 * NumPy .npy (format version 1.0) for one-dimensional little-endian float32 arrays: what the captioning
 * container loads with numpy.load. https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 */
const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

function header(length: number): Buffer {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${length},), }`;
  // magic (6) + version (2) + header length (2) + dict + padding + '\n' must be a multiple of 64.
  const unpadded = 10 + dict.length + 1;
  const padding = (64 - (unpadded % 64)) % 64;
  const text = `${dict}${' '.repeat(padding)}\n`;
  const out = Buffer.alloc(10 + text.length);
  MAGIC.copy(out, 0);
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(text.length, 8);
  out.write(text, 10, 'latin1');
  return out;
}

/**
 * A .npy file of `length` float32 zeros and a view of its samples: audio written into `samples` is already
 * the file, with no copy to make when it is stored.
 */
export function allocateNpyFloat32(length: number): { file: Buffer; samples: Float32Array } {
  const head = header(length);
  // The header length is a multiple of 64, so the samples start 4-byte aligned.
  const file = Buffer.alloc(head.length + length * 4);
  head.copy(file, 0);
  return { file, samples: new Float32Array(file.buffer, file.byteOffset + head.length, length) };
}

export function encodeNpyFloat32(samples: Float32Array): Buffer {
  const head = header(samples.length);
  const body = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
  // Float32Array is little-endian on every platform Node runs on here (x86-64, arm64).
  return Buffer.concat([head, body]);
}

export function decodeNpyFloat32(file: Buffer): Float32Array {
  if (!file.subarray(0, 6).equals(MAGIC)) throw new Error('not a .npy file');
  const major = file[6];
  const headerLength = major === 1 ? file.readUInt16LE(8) : file.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + headerLength;
  const dict = file.subarray(major === 1 ? 10 : 12, start).toString('latin1');
  if (!dict.includes("'descr': '<f4'")) throw new Error(`unsupported dtype in .npy header: ${dict.trim()}`);
  if (dict.includes("'fortran_order': True")) throw new Error('fortran-ordered .npy is not supported');
  const shape = /'shape': \((\d+),?\)/.exec(dict);
  if (!shape) throw new Error(`only one-dimensional .npy arrays are supported: ${dict.trim()}`);
  const length = Number(shape[1]);
  const copy = new Float32Array(length);
  Buffer.from(copy.buffer).set(file.subarray(start, start + length * 4));
  return copy;
}
