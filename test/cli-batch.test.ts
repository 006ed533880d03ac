/**
 * The CLI over many files, as a person runs it: a real process on a temporary DATA_DIR, a folder of
 * generated songs (subfolders too) and a file that is not audio.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { RunDocument } from '#core/contract';
import { outputStems } from '#runtime/batch';
import { collectFiles, formatResult, parseArguments, UsageError } from '#runtime/cli';
import { FFMPEG, makeSong, makeTone, tempDir } from './helpers/audio.ts';

const root = path.resolve(__dirname, '..');
const shellEnv = { ...process.env, FFMPEG_BIN: FFMPEG };

interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], dataDir: string, onStdout?: (text: string, child: ReturnType<typeof spawn>) => void): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    // Its own process group, so Ctrl-C can reach it as a terminal sends it: to the whole group.
    const child = spawn(process.execPath, ['--import', 'tsx', 'runtime/cli.ts', ...args], { cwd: root, env: { ...shellEnv, DATA_DIR: dataDir }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      stdout += text;
      onStdout?.(stdout, child);
    });
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

let dir: string;
let folder: string;
let notAudio: string;

beforeAll(() => {
  dir = tempDir('cli-batch-');
  folder = path.join(dir, 'music');
  mkdirSync(path.join(folder, 'live'), { recursive: true });
  makeSong(path.join(folder, 'first song.wav'), 12, { bpm: 120 });
  makeTone(path.join(folder, 'live', 'tone.wav'), 4, 440);
  // Same name in another folder: its outputs must not overwrite the first one's.
  makeTone(path.join(folder, 'live', 'first song.wav'), 3, 330);
  writeFileSync(path.join(folder, 'cover.txt'), 'not a song and not named like one\n');
  notAudio = path.join(dir, 'notes.mp3');
  writeFileSync(notAudio, 'These are my notes, not a song.\n'.repeat(100));
});

describe('arguments', () => {
  it('takes files and folders, --json, --out, --concurrency; refuses unknown options and bad counts as usage errors', () => {
    expect(parseArguments(['a.mp3', 'dir', '--json', '--out', 'res', '--concurrency', '3'])).toEqual({
      inputs: ['a.mp3', 'dir'],
      json: true,
      verbose: false,
      out: 'res',
      concurrency: 3,
    });
    expect(parseArguments(['--help'])).toBe('help');
    expect(() => parseArguments(['a.mp3', '--loud'])).toThrow(UsageError);
    expect(() => parseArguments(['a.mp3', '--concurrency', '0'])).toThrow(/--concurrency/);
    expect(() => parseArguments(['a.mp3', '--concurrency', 'many'])).toThrow(/--concurrency/);
    expect(() => parseArguments(['a.mp3', '--out'])).toThrow(UsageError);
    expect(() => parseArguments([])).toThrow(UsageError);
  });

  it('walks folders for audio files, sorted, and keeps a named file whatever its extension', () => {
    const files = collectFiles([folder, notAudio]);
    expect(files.map((file) => path.relative(dir, file))).toEqual([
      path.join('music', 'first song.wav'),
      path.join('music', 'live', 'first song.wav'),
      path.join('music', 'live', 'tone.wav'),
      'notes.mp3',
    ]);
    expect(() => collectFiles([path.join(dir, 'missing')])).toThrow(/No file or folder/);
    const empty = path.join(dir, 'empty');
    mkdirSync(empty, { recursive: true });
    expect(() => collectFiles([empty])).toThrow(/No audio files/);
    expect([...outputStems(files).values()]).toEqual(['first-song', 'first-song-2', 'tone', 'notes']);
  });

  it('takes a link to an audio file in a folder as the file, passes over a broken link, and walks a link back to a parent folder without taking a file twice', () => {
    // Prepare: a folder of links, as a music library often is, with a link back to itself.
    const links = path.join(dir, 'links');
    mkdirSync(links, { recursive: true });
    symlinkSync(path.join(folder, 'live', 'tone.wav'), path.join(links, 'linked tone.wav'));
    symlinkSync(path.join(dir, 'nowhere.wav'), path.join(links, 'broken.wav'));
    symlinkSync(links, path.join(links, 'again'));
    // Act
    const files = collectFiles([links, path.join(folder, 'live', 'tone.wav')]);
    // Assess
    expect(files.map((file) => path.relative(dir, file))).toEqual([path.join('links', 'linked tone.wav')]);
  });
});

it('captions a folder and a bad file: a line per file, --out documents, SRT, WebVTT and the index, exit 1 naming the failure', async () => {
  const out = path.join(dir, 'out');
  const run = await runCli([folder, notAudio, '--out', out, '--concurrency', '2'], path.join(dir, 'data-batch'));

  expect(run.stderr).not.toMatch(/^\s+at /m);
  expect(run.code).toBe(1);
  const lines = run.stdout.trim().split('\n');
  expect(lines).toHaveLength(4);
  expect(lines.filter((line) => line.startsWith('✓'))).toHaveLength(3);
  expect(lines).toContainEqual(expect.stringMatching(/^✓ first song\.wav {2}0:12 {2}(\d+ BPM|no steady beat) {2}\S.* {2}succeeded$/));
  expect(lines).toContainEqual(expect.stringMatching(/^✗ notes\.mp3 {2}Failed at Preprocess: InvalidAudio — /));
  expect(run.stderr).toMatch(/3 of 4 succeeded, 1 failed/);

  const index = JSON.parse(readFileSync(path.join(out, 'index.json'), 'utf8')) as { complete: boolean; files: Array<Record<string, unknown>> };
  expect(index.complete).toBe(true);
  expect(index.files.map((entry) => [path.basename(String(entry.path)), entry.status, entry.result])).toEqual([
    ['first song.wav', 'SUCCEEDED', 'first-song.json'],
    ['first song.wav', 'SUCCEEDED', 'first-song-2.json'],
    ['tone.wav', 'SUCCEEDED', 'tone.json'],
    ['notes.mp3', 'FAILED', 'notes.json'],
  ]);
  for (const stem of ['first-song', 'first-song-2', 'tone']) {
    const document = JSON.parse(readFileSync(path.join(out, `${stem}.json`), 'utf8')) as RunDocument;
    expect(document.status).toBe('SUCCEEDED');
    expect(readFileSync(path.join(out, `${stem}.srt`), 'utf8')).toMatch(/^1\r?\n00:00:00,000 --> 00:00:/);
    expect(readFileSync(path.join(out, `${stem}.vtt`), 'utf8')).toMatch(/^WEBVTT/);
  }
  const failure = JSON.parse(readFileSync(path.join(out, 'notes.json'), 'utf8')) as RunDocument;
  expect(failure.status).toBe('FAILED');
  const csv = readFileSync(path.join(out, 'index.csv'), 'utf8').trim().split(/\r\n/);
  expect(csv[0]).toBe('path,id,status,result,durationSec,bpm,key,error');
  expect(csv).toHaveLength(5);
  expect(csv[4]).toMatch(/notes\.mp3,[^,]+,FAILED,notes\.json,,,,"?Failed at Preprocess: InvalidAudio/);
  // Nothing half-written is left behind.
  expect(readdirSync(out).filter((name) => name.endsWith('.tmp'))).toEqual([]);
}, 300_000);

it('--json prints one JSON line per file, the document and the path it came from; exit 0 when all succeed', async () => {
  const run = await runCli([path.join(folder, 'live'), '--json'], path.join(dir, 'data-json'));
  expect(run.code).toBe(0);
  const lines = run.stdout.trim().split('\n').map((line) => JSON.parse(line) as RunDocument & { path: string });
  expect(lines.map((line) => [path.basename(line.path), line.status]).sort()).toEqual([
    ['first song.wav', 'SUCCEEDED'],
    ['tone.wav', 'SUCCEEDED'],
  ]);
  for (const line of lines) if (line.status === 'SUCCEEDED') expect(line.chunks.length).toBeGreaterThan(0);
}, 300_000);

it('delete <run id> removes a finished run from the data folder, and says so when there is no such run (exit 1)', async () => {
  const data = path.join(dir, 'data-delete');
  const captioned = await runCli([path.join(folder, 'live', 'tone.wav'), '--json'], data);
  expect(captioned.code).toBe(0);
  const { id } = JSON.parse(captioned.stdout.trim()) as RunDocument;

  const deleted = await runCli(['delete', id], data);
  expect(deleted.code).toBe(0);
  expect(deleted.stdout).toMatch(new RegExp(`Deleted run ${id} \\(\\d+ objects\\)`));

  const again = await runCli(['delete', id], data);
  expect(again.code).toBe(1);
  expect(again.stderr).toContain(`There is no run ${id}.`);
  expect((await runCli(['delete'], data)).code).toBe(2);
}, 300_000);

it('Ctrl-C after the first file (even relayed twice by a launcher) keeps what finished, writes a whole index of it, and exits 130', async () => {
  const many = path.join(dir, 'many');
  mkdirSync(many, { recursive: true });
  for (let i = 0; i < 6; i++) makeTone(path.join(many, `tone-${i}.wav`), 8, 220 + 40 * i);
  const out = path.join(dir, 'out-interrupted');
  let interrupted = false;
  const run = await runCli([many, '--out', out, '--concurrency', '1'], path.join(dir, 'data-interrupt'), (stdout, child) => {
    if (!interrupted && stdout.includes('\n')) {
      interrupted = true;
      // As a terminal does (SIGINT to the whole process group), and then the same keypress again 5 ms later, as a
      // launcher that relays it delivers it (tsx does when the CLI has not confirmed within 30 ms): one Ctrl-C.
      process.kill(-child.pid!, 'SIGINT');
      setTimeout(() => process.kill(-child.pid!, 'SIGINT'), 5);
    }
  });
  expect(interrupted).toBe(true);
  expect(`${run.stderr}\nexit ${run.code}`).toMatch(/\nexit 130$/);
  expect(run.stderr).toMatch(/stopped by Ctrl-C/);
  const index = JSON.parse(readFileSync(path.join(out, 'index.json'), 'utf8')) as { complete: boolean; files: Array<{ result: string; status: string }> };
  expect(index.complete).toBe(false);
  expect(index.files.length).toBeGreaterThanOrEqual(1);
  expect(index.files.length).toBeLessThan(6);
  for (const entry of index.files) {
    expect(entry.status).toBe('SUCCEEDED');
    expect(existsSync(path.join(out, entry.result))).toBe(true);
  }
  expect(readdirSync(out).filter((name) => name.endsWith('.tmp'))).toEqual([]);
}, 300_000);

describe('the printed result', () => {
  it('heads a track that changes key twelve times with its first two keys, its last and the count', () => {
    // Prepare
    const keys = ['C# minor', 'D minor', 'C# major', 'B minor', 'E major', 'C minor', 'F minor', 'D major', 'G major', 'C major', 'Eb major', 'E minor'];
    const result = {
      id: 'r', status: 'SUCCEEDED', createdAt: '2026-11-28T00:00:00Z', chunks: [],
      file: { name: 'suite.opus', sizeBytes: 5_000_000, durationSec: 847, sampleRate: 48_000, channels: 2, codec: 'opus' },
      tags: { bpm: 60, bpmConfidence: 0.9, meter: null, meterConfidence: 0, key: 'C# minor', keyConfidence: 0.8, loudnessLufs: -14.9, loudnessRangeLu: 6.6, truePeakDbtp: 1.6 },
      analysis: { beats: [], downbeats: [], tempoChanges: [], loudnessCurve: [], keySections: keys.map((key, i) => ({ startSec: 60 * i, endSec: 60 * (i + 1), key, confidence: 0.8 })) },
      summary: { text: '…', source: 'local' },
      captioner: { backend: 'builtin', model: 'measurements-v2' },
    } as unknown as Parameters<typeof formatResult>[0];
    // Act
    const header = formatResult(result).split('\n')[1];
    // Assess
    expect(header).toBe('Tempo 60 BPM · Key C# minor → D minor → … → E minor (12 keys) · Loudness -14.9 LUFS (range 6.6 LU, true peak 1.6 dBTP)');
  });
});
