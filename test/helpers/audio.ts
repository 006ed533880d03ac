/** Test audio made with ffmpeg's own generators: real files, known content. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const FFMPEG = process.env.FFMPEG_BIN || '/usr/bin/ffmpeg';

export function tempDir(prefix = 'captioner-test-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export function ffmpeg(args: string[]): void {
  execFileSync(FFMPEG, ['-hide_banner', '-loglevel', 'error', '-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A song-like clip: an A-minor chord over a kick drum at `bpm`, stereo 44.1 kHz, encoded by extension. */
export function makeSong(file: string, seconds: number, options: { bpm?: number; gainDb?: number } = {}): string {
  const bpm = options.bpm ?? 120;
  const beat = 60 / bpm;
  const chord = `0.2*sin(2*PI*220*t)+0.15*sin(2*PI*261.63*t)+0.15*sin(2*PI*329.63*t)`;
  const kick = `0.6*sin(2*PI*55*t)*exp(-30*mod(t,${beat}))`;
  ffmpeg([
    '-f', 'lavfi', '-i', `aevalsrc='${chord}+${kick}':s=44100:d=${seconds}`,
    '-af', `volume=${options.gainDb ?? 0}dB`,
    '-ac', '2', '-ar', '44100', file,
  ]);
  return file;
}

/** A plain tone of `seconds`, mono 16 kHz WAV unless the extension says otherwise. */
export function makeTone(file: string, seconds: number, frequency = 440): string {
  ffmpeg(['-f', 'lavfi', '-i', `sine=frequency=${frequency}:sample_rate=16000:duration=${seconds}`, file]);
  return file;
}

/** Decodes a file the way LP-MusicCaps' loader does (ffmpeg -ac 1 -ar 16000, s16le, ÷ 32768), reading the file itself. */
export function referenceDecode(file: string): Float32Array {
  const pcm = execFileSync(FFMPEG, ['-hide_banner', '-loglevel', 'error', '-i', file, '-f', 's16le', '-acodec', 'pcm_s16le', '-ac', '1', '-ar', '16000', '-'], {
    maxBuffer: 1 << 30,
  });
  const ints = new Int16Array(pcm.buffer, pcm.byteOffset, pcm.length / 2);
  return Float32Array.from(ints, (v) => v / 32768);
}
