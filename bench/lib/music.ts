/**
 * Music-like test files made by ffmpeg for the pipeline bench: a I–vi–IV–V progression of sine chords (two
 * seconds each) over a kick on every beat at 120 BPM and a noisy off-beat hat, 44.1 kHz stereo mp3.
 *
 * One 8-second bar pattern is synthesised (aevalsrc is slow) and looped while encoding; the 60-minute file
 * is the 3-minute one joined to itself without re-encoding.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Frequency of chord note `voice` (0..2) in the progression C – Am – F – G, changing every 2 s. */
function chordNote(voice: 0 | 1 | 2): string {
  const chords = [
    [261.63, 329.63, 392.0], // C
    [220.0, 261.63, 329.63], // Am
    [174.61, 220.0, 261.63], // F
    [196.0, 246.94, 293.66], // G
  ];
  const [c, am, f, g] = chords.map((chord) => chord[voice]);
  return `if(lt(mod(t,8),2),${c},if(lt(mod(t,8),4),${am},if(lt(mod(t,8),6),${f},${g})))`;
}

const PATTERN_EXPRESSION = [
  `0.12*(sin(2*PI*t*${chordNote(0)})+sin(2*PI*t*${chordNote(1)})+sin(2*PI*t*${chordNote(2)}))`,
  '0.5*sin(2*PI*55*t)*exp(-18*mod(t,0.5))',
  '0.05*random(0)*exp(-60*mod(t+0.25,0.5))',
].join('+');

async function ffmpegRun(ffmpeg: string, args: string[]): Promise<void> {
  await run(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...args], { maxBuffer: 1 << 20 });
}

export interface MusicFiles {
  threeMinutes: string;
  threeSeconds: string;
  sixtyMinutes: string;
}

/** Makes the bench's files in `dir`. The 60-minute file stays just under 60:00 so the product's limit accepts it. */
export async function makeMusicFiles(ffmpeg: string, dir: string): Promise<MusicFiles> {
  const pattern = path.join(dir, 'bar.wav');
  await ffmpegRun(ffmpeg, ['-f', 'lavfi', '-i', `aevalsrc='${PATTERN_EXPRESSION}|${PATTERN_EXPRESSION}':s=44100:d=8`, pattern]);
  const encode = (seconds: number, file: string) =>
    ffmpegRun(ffmpeg, ['-stream_loop', '-1', '-i', pattern, '-t', String(seconds), '-c:a', 'libmp3lame', '-b:a', '192k', file]);
  const files: MusicFiles = {
    threeMinutes: path.join(dir, 'three-minutes.mp3'),
    threeSeconds: path.join(dir, 'three-seconds.mp3'),
    sixtyMinutes: path.join(dir, 'sixty-minutes.mp3'),
  };
  await Promise.all([encode(180, files.threeMinutes), encode(3, files.threeSeconds)]);
  const list = path.join(dir, 'twenty-times.txt');
  await writeFile(list, Array.from({ length: 20 }, () => `file '${files.threeMinutes}'\n`).join(''));
  await ffmpegRun(ffmpeg, ['-f', 'concat', '-safe', '0', '-i', list, '-t', '3599', '-c', 'copy', files.sixtyMinutes]);
  return files;
}
