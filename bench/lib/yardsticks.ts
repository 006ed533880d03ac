/**
 * Yardsticks for the descriptor bench: well-known analysers run on the same files as the product, and mir_eval
 * scoring every measurer. None is a dependency of the product (aubio and bpm-tools are GPL); each one that is
 * not installed is skipped with a note.
 *
 *   aubio      Debian's aubio-tools: `aubio beat` (its beat tracker, Davies & Plumbley); the track tempo is
 *              60 / median inter-beat interval, a window's from the beats inside it. (`aubio tempo` prints the
 *              *mean* of the beat rates, which one missed beat drags far off, so it would be a weaker yardstick.)
 *   bpm-tools  Debian's bpm-tools: `bpm` on 44.1 kHz mono float samples, its default 84–146 BPM range; track only.
 *   librosa    bench/lib/yardsticks.py: beat_track tempo and a chroma + Krumhansl–Kessler key ("librosa-KS"),
 *              per track and per window.
 *   mir_eval   bench/lib/yardsticks.py scores every measurer's track tempo and key as the field does, to
 *              cross-check the bench's own TypeScript scoring.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { acceptedTempi, ffmpegPath, hasFittingKey, isConstantTempo, keyString, parseKey, runProcess, truthKey, type Estimate, type KeyTruth, type ScoredPiece, type TempoTruth, type WindowEstimate } from './real-corpus.ts';

export const YARDSTICK_NAMES = ['librosa', 'aubio', 'bpm-tools'] as const;
export type YardstickName = (typeof YARDSTICK_NAMES)[number];

async function available(command: string, args: string[]): Promise<boolean> {
  try {
    await runProcess(command, args);
    return true;
  } catch {
    return false;
  }
}

function median(values: number[]): number {
  const sorted = values.slice().sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Tempo from beat times: 60 / median interval; null with fewer than 4 beats. */
function tempoFromBeats(beats: number[]): number | null {
  if (beats.length < 4) return null;
  const intervals = beats.slice(1).map((b, i) => b - beats[i]).filter((d) => d > 0);
  return intervals.length >= 3 ? 60 / median(intervals) : null;
}

export async function aubioEstimate(file: string, windows: Array<{ startSec: number; endSec: number }>): Promise<Estimate> {
  const started = performance.now();
  const { stdout, stderr, code } = await runProcess('aubio', ['beat', file]);
  if (code !== 0) return { error: `aubio beat failed: ${stderr.trim().split('\n').pop()}` };
  const beats = stdout.split('\n').map((line) => Number(line.trim())).filter((t) => Number.isFinite(t) && t >= 0);
  return {
    bpm: tempoFromBeats(beats),
    windows: windows.map((w): WindowEstimate => ({ ...w, bpm: tempoFromBeats(beats.filter((b) => b >= w.startSec && b < w.endSec)) })),
    seconds: (performance.now() - started) / 1000,
  };
}

/** bpm-tools' `bpm` on the file's 44.1 kHz mono float samples (its documented input). */
export function bpmToolsEstimate(file: string, ffmpeg = ffmpegPath()): Promise<Estimate> {
  const started = performance.now();
  return new Promise((resolve) => {
    const decoder = spawn(ffmpeg, ['-nostdin', '-v', 'error', '-i', file, '-ac', '1', '-ar', '44100', '-f', 'f32le', '-'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const bpm = spawn('bpm', [], { stdio: ['pipe', 'pipe', 'pipe'] });
    decoder.stdout.pipe(bpm.stdin);
    bpm.stdin.on('error', () => undefined);
    let out = '';
    let err = '';
    bpm.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    bpm.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    bpm.on('error', (error) => resolve({ error: `bpm: ${error.message}` }));
    bpm.on('close', (code) => {
      const value = Number(out.trim());
      resolve(code === 0 && Number.isFinite(value) && value > 0
        ? { bpm: value, seconds: (performance.now() - started) / 1000 }
        : { error: `bpm failed (${code}): ${err.trim()}` });
    });
  });
}

export interface YardstickPieceInput {
  id: string;
  file: string;
  windows: Array<{ startSec: number; endSec: number }>;
  truth: ScoredPiece;
  /** Every measurer's track estimates, for mir_eval to score. */
  estimates: Record<string, Estimate>;
}

export interface PythonAnswer {
  librosa: string | null;
  mir_eval: string | null;
  notes: string[];
  pieces: Array<{
    id: string;
    librosa?: { bpm: number | null; key: string | null; windows: Array<{ bpm: number | null; key: string | null }>; seconds: number } | { error: string; seconds: number };
    mir_eval?: Record<string, { tempoExact?: boolean; tempoOctave?: boolean; keyWeighted?: number }>;
  }>;
}

/** Which yardsticks this machine has, with a note for each one that is missing. */
export async function detectYardsticks(): Promise<{ aubio: boolean; bpmTools: boolean; python: { librosa: boolean; mirEval: boolean } | null; notes: string[] }> {
  const notes: string[] = [];
  const aubio = await available('aubio', ['--version']);
  if (!aubio) notes.push('aubio is not installed (apt-get install aubio-tools): its column is n/a');
  const bpmTools = await available('bpm', ['-h']);
  if (!bpmTools) notes.push('bpm-tools is not installed (apt-get install bpm-tools): its column is n/a');
  let python: { librosa: boolean; mirEval: boolean } | null = null;
  try {
    const probe = await runProcess('python3', ['-c', 'import importlib.util as u; print(int(bool(u.find_spec("librosa"))), int(bool(u.find_spec("mir_eval"))))']);
    const [librosa, mirEval] = probe.stdout.trim().split(' ').map((v) => v === '1');
    python = { librosa, mirEval };
    if (!librosa) notes.push('python3 has no librosa (pip install librosa soundfile): its column is n/a');
    if (!mirEval) notes.push('python3 has no mir_eval (pip install mir_eval): no mir_eval cross-check of the scores');
  } catch {
    notes.push('no python3: librosa and mir_eval are skipped');
  }
  return { aubio, bpmTools, python, notes };
}

/** Runs bench/lib/yardsticks.py: librosa on every file (when asked and installed) and mir_eval on every estimate. */
export async function runPythonYardsticks(pieces: YardstickPieceInput[], options: { librosa: boolean; workers: number; ffmpeg?: string }): Promise<PythonAnswer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'yardsticks-'));
  try {
    const request = {
      ffmpeg: options.ffmpeg ?? ffmpegPath(),
      workers: options.workers,
      librosa: options.librosa,
      pieces: pieces.map((p) => ({
        id: p.id,
        file: p.file,
        windows: p.windows.map((w) => [w.startSec, w.endSec]),
        tempi: isConstantTempo(p.truth) ? acceptedTempi(p.truth.tempo as TempoTruth) : null,
        key: hasFittingKey(p.truth) ? keyString(truthKey(p.truth.key as KeyTruth)) : null,
        estimates: Object.fromEntries(Object.entries(p.estimates).filter(([, e]) => !e.error).map(([name, e]) => {
          const track: Record<string, unknown> = {};
          if ('bpm' in e) track.bpm = e.bpm ?? null;
          if ('key' in e) track.key = keyString(parseKey(e.key));
          return [name, track];
        })),
      })),
    };
    const requestFile = path.join(dir, 'request.json');
    await writeFile(requestFile, JSON.stringify(request));
    const { stdout, stderr, code } = await runProcess('python3', [path.join(__dirname, 'yardsticks.py'), requestFile], {
      // One thread per worker process: the workers are the parallelism.
      env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1', NUMBA_NUM_THREADS: '1' },
    });
    if (code !== 0) throw new Error(`yardsticks.py failed (${code}): ${stderr.trim().split('\n').slice(-3).join(' ')}`);
    return JSON.parse(stdout) as PythonAnswer;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
