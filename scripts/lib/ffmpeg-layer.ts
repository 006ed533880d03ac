/**
 * The ffmpeg Lambda layer: ffmpeg-static's Linux x86-64 binary copied to layers/ffmpeg/bin/ffmpeg, which Lambda
 * mounts at /opt/bin/ffmpeg (the preprocess function's FFMPEG_BIN).
 *
 * Plain Node (no tsx): the serverless plugin beside this file loads it through Node's own type stripping, so it
 * uses erasable TypeScript only and no import.meta.
 */
import { chmodSync, copyFileSync, mkdirSync, openSync, readSync, closeSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export const LAYER_DIR = join('layers', 'ffmpeg');
export const LAYER_BINARY = join('bin', 'ffmpeg');

/** The ELF machine number of x86-64 (EM_X86_64). */
const EM_X86_64 = 0x3e;
const MACHINE_NAMES: Record<number, string> = {
  0x03: 'x86 (32-bit)',
  0x28: 'ARM (32-bit)',
  0x3e: 'x86-64',
  0xb7: 'ARM64 (aarch64)',
  0xf3: 'RISC-V',
};

const PACKAGING_HINT =
  'Install ffmpeg-static for Lambda with `npm_config_platform=linux npm_config_arch=x64 npm rebuild ffmpeg-static` ' +
  '(without FFMPEG_BIN set, which makes its installer skip the download), or point FFMPEG_LAYER_BINARY at a ' +
  'static Linux x86-64 ffmpeg.';

export class FfmpegBinaryMissing extends Error {
  readonly name = 'FfmpegBinaryMissing';
  readonly path: string;
  constructor(path: string) {
    super(`No ffmpeg binary at ${path}, so the Lambda layer cannot be built. ${PACKAGING_HINT}`);
    this.path = path;
  }
}

export class FfmpegWrongArchitecture extends Error {
  readonly name = 'FfmpegWrongArchitecture';
  readonly path: string;
  readonly found: string;
  constructor(path: string, found: string) {
    super(`${path} is ${found}, but Lambda runs this stack on Linux x86-64. ${PACKAGING_HINT}`);
    this.path = path;
    this.found = found;
  }
}

export interface ElfInfo {
  bits: 32 | 64;
  machine: number;
  machineName: string;
  /** Whether the file asks for a dynamic loader (PT_INTERP): such a binary needs shared libraries Lambda lacks. */
  dynamic: boolean;
}

/** Reads what an ELF header says about the binary; null when the bytes are not ELF. */
export function readElfInfo(header: Buffer): ElfInfo | null {
  if (header.length < 20 || header.readUInt32BE(0) !== 0x7f454c46) return null;
  const bits = header[4] === 2 ? 64 : 32;
  const little = header[5] !== 2;
  const machine = little ? header.readUInt16LE(18) : header.readUInt16BE(18);
  return {
    bits,
    machine,
    machineName: MACHINE_NAMES[machine] ?? `ELF machine 0x${machine.toString(16)}`,
    dynamic: hasInterpreter(header, bits, little),
  };
}

function hasInterpreter(header: Buffer, bits: 32 | 64, little: boolean): boolean {
  const u16 = (at: number) => (little ? header.readUInt16LE(at) : header.readUInt16BE(at));
  const u32 = (at: number) => (little ? header.readUInt32LE(at) : header.readUInt32BE(at));
  const u64 = (at: number) => Number(little ? header.readBigUInt64LE(at) : header.readBigUInt64BE(at));
  const PT_INTERP = 3;
  const [phoff, phentsize, phnum] =
    bits === 64 ? [u64(32), u16(54), u16(56)] : [u32(28), u16(42), u16(44)];
  for (let i = 0; i < phnum; i += 1) {
    const at = phoff + i * phentsize;
    if (at + 4 > header.length) return false;
    if (u32(at) === PT_INTERP) return true;
  }
  return false;
}

function readHeader(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    // The ELF header and the program headers that follow it sit in the first few kilobytes.
    const buffer = Buffer.alloc(4096);
    const read = readSync(fd, buffer, 0, buffer.length, 0);
    return buffer.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

/** Throws FfmpegBinaryMissing / FfmpegWrongArchitecture unless `path` is a Linux x86-64 ELF executable. */
export function checkLambdaBinary(path: string): ElfInfo {
  let isFile = false;
  try {
    isFile = statSync(path).isFile();
  } catch {
    isFile = false;
  }
  if (!isFile) throw new FfmpegBinaryMissing(path);
  const info = readElfInfo(readHeader(path));
  if (!info) throw new FfmpegWrongArchitecture(path, 'not an ELF executable (a macOS or Windows build?)');
  if (info.bits !== 64 || info.machine !== EM_X86_64) {
    throw new FfmpegWrongArchitecture(path, `a ${info.bits}-bit ${info.machineName} ELF executable`);
  }
  return info;
}

/**
 * Where the layer's ffmpeg comes from: FFMPEG_LAYER_BINARY, else the file ffmpeg-static downloads into its package.
 * Not `require('ffmpeg-static')`: that answers FFMPEG_BIN when set, which is the host's ffmpeg, not Lambda's.
 */
export function defaultFfmpegSource(rootDir: string, env: Readonly<Record<string, string | undefined>> = process.env): string {
  if (env.FFMPEG_LAYER_BINARY) return env.FFMPEG_LAYER_BINARY;
  const requireFromRoot = createRequire(join(rootDir, 'package.json'));
  return join(dirname(requireFromRoot.resolve('ffmpeg-static/package.json')), 'ffmpeg');
}

export interface LayerBuild {
  source: string;
  binary: string;
  bytes: number;
  elf: ElfInfo;
}

/** Checks `source` and copies it to `{layerDir}/bin/ffmpeg`, executable. */
export function buildFfmpegLayer(source: string, layerDir: string): LayerBuild {
  const elf = checkLambdaBinary(source);
  const binary = join(layerDir, LAYER_BINARY);
  mkdirSync(dirname(binary), { recursive: true });
  copyFileSync(source, binary);
  chmodSync(binary, 0o755);
  return { source, binary, bytes: statSync(binary).size, elf };
}
