/**
 * A labelled corpus for the music descriptors, synthesised by ffmpeg (aevalsrc) and decoded the way the
 * pipeline decodes uploads (-ac 1 -ar 16000 -f s16le, ÷ 32768). Shared by `npm run bench:descriptors` and
 * the small accuracy slice in `npm test`.
 */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';

export const ffmpegBin = () => process.env.FFMPEG_BIN || 'ffmpeg';
export const CORPUS_RATE = 16_000;

export class FfmpegError extends Error {
  override readonly name = 'FfmpegError';
}

interface RunResult { stdout: Buffer; stderr: string; seconds: number }

/** Runs ffmpeg with an argument array (never a shell string). */
export function runFfmpeg(args: string[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(ffmpegBin(), ['-hide_banner', '-nostdin', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code === 0) resolve({ stdout: Buffer.concat(out), stderr: err, seconds });
      else reject(new FfmpegError(`ffmpeg exited ${code}: ${err.slice(-600)}`));
    });
  });
}

/** Decodes like the preprocess step: mono, 16 kHz, s16le, then ÷ 32768. */
export async function decode(file: string): Promise<{ samples: Float32Array; seconds: number }> {
  const { stdout, seconds } = await runFfmpeg(['-i', file, '-ac', '1', '-ar', '16000', '-f', 's16le', '-']);
  const count = Math.floor(stdout.length / 2);
  const samples = new Float32Array(count);
  for (let i = 0; i < count; i++) samples[i] = stdout.readInt16LE(2 * i) / 32768;
  return { samples, seconds };
}

/** ffmpeg's own EBU R128 meter on the file: integrated loudness (LUFS) and loudness range (LU). */
/**
 * ffmpeg's own EBU R128 meter on the file as it is (its channels, its rate): integrated loudness (LUFS),
 * loudness range (LU) and true peak (dBTP) — the reference the product's loudness is held to.
 */
export async function ffmpegEbur128(file: string): Promise<{ integrated: number; range: number; truePeak: number }> {
  const { stderr } = await runFfmpeg(['-nostats', '-i', file, '-af', 'ebur128=peak=true', '-f', 'null', '-']);
  const summary = stderr.slice(stderr.lastIndexOf('Summary:'));
  const integrated = Number(/I:\s+(-?[\d.]+|-inf) LUFS/.exec(summary)?.[1]);
  const range = Number(/LRA:\s+(-?[\d.]+) LU/.exec(summary)?.[1]);
  const peak = /True peak:\s+Peak:\s+(-?[\d.]+|-inf) dBFS/.exec(summary)?.[1];
  return { integrated, range, truePeak: peak === '-inf' || peak === undefined ? -Infinity : Number(peak) };
}

/** Writes `expression` (a function of t) as a 16 kHz mono 16-bit WAV of `seconds`, with optional extra filters. */
export async function synthesize(file: string, expression: string, seconds: number, filters: string[] = []): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const source = `aevalsrc=exprs='${expression}':s=${CORPUS_RATE}:d=${seconds}`;
  await runFfmpeg(['-y', '-f', 'lavfi', '-i', [source, ...filters].join(','), '-ac', '1', '-c:a', 'pcm_s16le', file]);
}

// ---------------------------------------------------------------- drums

/** τ: time since the last event of a train with period `period`, first event at `offset` (seconds). */
const since = (period: number, offset: number) => `mod(t-${offset.toFixed(6)},${period.toFixed(6)})`;

/** A kick: a sine gliding from 150 to 50 Hz with a fast decay. */
function kick(tau: string, gain: number): string {
  return `${gain}*sin(2*PI*(50*${tau}+4*(1-exp(-25*${tau}))))*exp(-8*${tau})`;
}
/** A snare: noise plus a 190 Hz body. */
function snare(tau: string, gain: number, noise: number): string {
  return `${gain}*(0.6*(2*random(${noise})-1)+0.4*sin(2*PI*190*${tau}))*exp(-18*${tau})`;
}
/** A hi-hat: a short burst of noise (`decay` 60 closed, 20 open). */
function hat(tau: string, gain: number, noise: number, decay = 60): string {
  return `${gain}*(2*random(${noise})-1)*exp(-${decay}*${tau})`;
}

export interface DrumPattern {
  name: string;
  beatsPerBar: number;
  /** aevalsrc expression for one beat period B (seconds). */
  expression(beat: number): string;
}

export const DRUM_PATTERNS: DrumPattern[] = [
  {
    name: 'rock 4/4 (kick 1+3, snare 2+4, eighth hats)',
    beatsPerBar: 4,
    expression: (B) => [
      kick(since(2 * B, 0), 0.8), snare(since(2 * B, B), 0.5, 0), hat(since(B / 2, 0), 0.15, 1),
    ].join('+'),
  },
  {
    name: 'four-on-the-floor 4/4 (kick every beat, clap 2+4, offbeat open hats)',
    beatsPerBar: 4,
    expression: (B) => [
      kick(since(B, 0), 0.8), snare(since(2 * B, B), 0.4, 0), hat(since(B, B / 2), 0.2, 1, 20),
    ].join('+'),
  },
  {
    name: 'syncopated 4/4 (kick 1 and the and of 3, snare 2+4, sixteenth hats)',
    beatsPerBar: 4,
    expression: (B) => [
      kick(since(4 * B, 0), 0.8), kick(since(4 * B, 2.5 * B), 0.7), snare(since(2 * B, B), 0.5, 0),
      hat(since(B / 4, 0), 0.08, 1),
    ].join('+'),
  },
  {
    name: 'waltz 3/4 (kick 1, snare 2+3, eighth hats)',
    beatsPerBar: 3,
    expression: (B) => [
      kick(since(3 * B, 0), 0.8), snare(since(3 * B, B), 0.35, 0), snare(since(3 * B, 2 * B), 0.35, 2),
      hat(since(B / 2, 0), 0.12, 1),
    ].join('+'),
  },
];

/**
 * A figure grouped in threes over a straight beat: a kick every three eighths (a dotted quarter), eighth hats.
 * It repeats more strongly at ⅔ of the beat rate than at the beat, as a 3+3+2 riff or an intro in threes does.
 */
export const DOTTED_FIGURE: DrumPattern = {
  name: 'dotted figure (kick every three eighths, eighth hats)',
  beatsPerBar: 4,
  expression: (B) => [kick(since(1.5 * B, 0), 0.8), hat(since(B / 2, 0), 0.12, 1)].join('+'),
};

// ---------------------------------------------------------------- chords

export const PITCH_CLASS_NAMES = ['C', 'C#', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'Ab', 'A', 'Bb', 'B'];

export interface Timbre {
  name: string;
  /** Relative amplitudes of harmonics 1, 2, 3, … */
  harmonics: number[];
  /** Per-chord amplitude envelope decay (1/s); 0 for a sustained organ-like sound. */
  decay: number;
}

export const TIMBRES: Timbre[] = [
  { name: 'sine', harmonics: [1], decay: 0 },
  { name: 'organ', harmonics: [1, 0.5, 0.3, 0.2], decay: 0 },
  { name: 'bright (sawtooth-like)', harmonics: [1, 1 / 2, 1 / 3, 1 / 4, 1 / 5, 1 / 6], decay: 0 },
  { name: 'plucked', harmonics: [1, 0.6, 0.3, 0.15], decay: 1.5 },
];

/** Triads as (semitones from the tonic to the chord root, quality). */
type Triad = [number, 'maj' | 'min' | 'dim'];
export const PROGRESSIONS: Record<'major' | 'minor', Array<{ name: string; chords: Triad[] }>> = {
  major: [
    { name: 'I–IV–V–I', chords: [[0, 'maj'], [5, 'maj'], [7, 'maj'], [0, 'maj']] },
    { name: 'I–vi–IV–V', chords: [[0, 'maj'], [9, 'min'], [5, 'maj'], [7, 'maj']] },
    { name: 'I–ii–V–I', chords: [[0, 'maj'], [2, 'min'], [7, 'maj'], [0, 'maj']] },
  ],
  minor: [
    { name: 'i–iv–V–i', chords: [[0, 'min'], [5, 'min'], [7, 'maj'], [0, 'min']] },
    { name: 'i–VI–iv–V', chords: [[0, 'min'], [8, 'maj'], [5, 'min'], [7, 'maj']] },
    { name: 'i–iv–i–V', chords: [[0, 'min'], [5, 'min'], [0, 'min'], [7, 'maj']] },
  ],
};

const QUALITY_INTERVALS = { maj: [0, 4, 7], min: [0, 3, 7], dim: [0, 3, 6] } as const;
const midiHz = (midi: number) => 440 * 2 ** ((midi - 69) / 12);

/** MIDI notes of a chord: its root in the bass (octave 2–3) and a close triad from middle C up. */
function voicing(tonic: number, [root, quality]: Triad): number[] {
  const rootPc = (tonic + root) % 12;
  const bass = 43 + ((rootPc - 7 + 12) % 12); // G2..F#3
  const triadRoot = 60 + rootPc - (rootPc > 7 ? 12 : 0); // around middle C
  return [bass, ...QUALITY_INTERVALS[quality].map((i) => triadRoot + i)];
}

/** aevalsrc expression: the progression in `tonic`'s key, `chordSeconds` per chord, looped. */
export function chordExpression(tonic: number, chords: Triad[], timbre: Timbre, chordSeconds: number, gain = 0.12): string {
  const cycle = chords.length * chordSeconds;
  const tau = `mod(t,${chordSeconds})`;
  const envelope = timbre.decay > 0 ? `min(1,${tau}*100)*exp(-${timbre.decay}*${tau})` : `min(1,${tau}*100)`;
  const chordTerm = (triad: Triad) => voicing(tonic, triad)
    .flatMap((midi) => timbre.harmonics.map((amp, h) => {
      const hz = midiHz(midi) * (h + 1);
      return hz < CORPUS_RATE / 2 - 200 ? `${(amp * gain).toFixed(4)}*sin(${(2 * Math.PI * hz).toFixed(4)}*t)` : '';
    }))
    .filter(Boolean)
    .join('+');
  // Nested ifs evaluate only the sounding chord (ffmpeg's if() is lazy).
  let expression = '0';
  for (let i = chords.length - 1; i >= 0; i--) {
    expression = `if(lt(mod(t,${cycle}),${(i + 1) * chordSeconds}),${chordTerm(chords[i])},${expression})`;
  }
  return `${envelope}*(${expression})`;
}

// ---------------------------------------------------------------- corpus items

export interface TempoItem { kind: 'tempo'; file: string; bpm: number; pattern: string; seconds: number }
export interface KeyItem { kind: 'key'; file: string; tonic: number; mode: 'major' | 'minor'; label: string; seconds: number }
export interface LevelItem { kind: 'level'; file: string; source: string; peakDbfs: number }

export async function makeTempoItem(dir: string, pattern: DrumPattern, bpm: number, seconds: number): Promise<TempoItem> {
  const file = path.join(dir, `tempo-${pattern.name.split(' ')[0]}-${bpm}.wav`);
  await synthesize(file, pattern.expression(60 / bpm), seconds);
  return { kind: 'tempo', file, bpm, pattern: pattern.name, seconds };
}

export async function makeKeyItem(
  dir: string, tonic: number, mode: 'major' | 'minor', progression: number, timbre: Timbre, seconds: number, withDrumsAtBpm?: number,
): Promise<KeyItem> {
  const { chords, name } = PROGRESSIONS[mode][progression % PROGRESSIONS[mode].length];
  const label = `${PITCH_CLASS_NAMES[tonic]} ${mode}`;
  const file = path.join(dir, `key-${PITCH_CLASS_NAMES[tonic]}-${mode}-${progression}-${timbre.name.split(' ')[0]}${withDrumsAtBpm ? '-drums' : ''}.wav`);
  let expression = chordExpression(tonic, chords, timbre, 2);
  if (withDrumsAtBpm) expression = `${expression}+0.5*(${DRUM_PATTERNS[0].expression(60 / withDrumsAtBpm)})`;
  await synthesize(file, expression, seconds);
  return { kind: 'key', file, tonic, mode, label: `${label} (${name}, ${timbre.name}${withDrumsAtBpm ? ', with drums' : ''})`, seconds };
}

/** The same material scaled to a given sample peak (dBFS), through ffmpeg's volume filter. */
export async function makeLevelItem(dir: string, source: string, sourcePeakDbfs: number, peakDbfs: number): Promise<LevelItem> {
  const file = path.join(dir, `level-${path.basename(source, '.wav')}-${Math.abs(peakDbfs)}.wav`);
  const gain = peakDbfs - sourcePeakDbfs;
  await runFfmpeg(['-y', '-i', source, '-af', `volume=${gain.toFixed(3)}dB`, '-ac', '1', '-c:a', 'pcm_s16le', file]);
  return { kind: 'level', file, source, peakDbfs };
}

/** Standard 10-second windows, the last one aligned to the end of the track (as the preprocess step cuts them). */
export function tenSecondWindows(durationSec: number): Array<{ startSec: number; endSec: number }> {
  if (durationSec < 10) return [{ startSec: 0, endSec: durationSec }];
  const windows: Array<{ startSec: number; endSec: number }> = [];
  for (let start = 0; start + 10 <= durationSec + 1e-9; start += 10) windows.push({ startSec: start, endSec: start + 10 });
  if (windows[windows.length - 1].endSec < durationSec - 1e-9) windows.push({ startSec: durationSec - 10, endSec: durationSec });
  return windows;
}

/** Within ±3 % of the labelled tempo (an octave error is far outside that). */
export const tempoCorrect = (measured: number | null, truth: number) => measured !== null && Math.abs(measured / truth - 1) <= 0.03;
