/**
 * The CLI as a person runs it: a real process, real ffmpeg, the real embedded runtime on a temporary DATA_DIR.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { RunDocument } from '#core/contract';
import { resolveFfmpeg } from '#core/ffmpeg';
import { startRuntime } from '#runtime/main';

const root = path.resolve(__dirname, '..');
const ffmpeg = resolveFfmpeg();

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment the user's shell would have: none of what a runtime booted in this process put there. */
const shellEnv = { ...process.env };

function runCli(args: string[], dataDir: string): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'runtime/cli.ts', ...args], { cwd: root, env: { ...shellEnv, DATA_DIR: dataDir }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let dir: string;
let song: string;
let notAudio: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cli-test-'));
  song = path.join(dir, 'Generated Song.mp3');
  notAudio = path.join(dir, 'notes.mp3');
  // A chord-like tone over a kick drum on every half second (120 BPM), 15 s of stereo 44.1 kHz mp3.
  await promisify(execFile)(ffmpeg, [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', 'sine=frequency=220:duration=15:sample_rate=44100',
    '-f', 'lavfi', '-i', "aevalsrc='0.8*sin(2*PI*60*t)*exp(-20*mod(t,0.5))':d=15:s=44100",
    '-filter_complex', '[0][1]amix=inputs=2[mix]', '-map', '[mix]', '-ac', '2', '-ar', '44100', song,
  ]);
  await writeFile(notAudio, 'These are my notes, not a song.\n');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('captions a generated song: exit 0, the SUCCEEDED document alone on stdout with --json, the three steps on stderr', async () => {
  // Prepare
  const dataDir = path.join(dir, 'data-song');

  // Act
  const run = await runCli([song, '--json'], dataDir);

  // Assess
  expect(run.stderr).not.toMatch(/^\s+at /m);
  expect(run.code).toBe(0);
  const document = JSON.parse(run.stdout) as RunDocument;
  expect(document.status).toBe('SUCCEEDED');
  if (document.status !== 'SUCCEEDED') return;
  expect(document.file.name).toBe('Generated-Song.mp3');
  expect(document.file.durationSec).toBeCloseTo(15, 0);
  expect(document.chunks.length).toBeGreaterThanOrEqual(2);
  for (const chunk of document.chunks) expect(chunk.caption.trim()).not.toBe('');
  expect(document.summary.text.trim()).not.toBe('');
  for (const step of ['Preprocess', 'Caption', 'Summarize']) expect(run.stderr).toMatch(new RegExp(`✓ ${step}\\s+\\d+\\.\\d s`));
});

test('prints readable text by default: duration, tags, one m:ss–m:ss line per window and the summary with its source', async () => {
  // Prepare
  const dataDir = path.join(dir, 'data-text');

  // Act
  const run = await runCli([song], dataDir);

  // Assess
  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(/Generated-Song\.mp3 — 0:1[45]/);
  expect(run.stdout).toMatch(/Tempo .* · Key .* · Loudness /);
  expect(run.stdout).toMatch(/^0:00–0:10 {2}\S/m);
  expect(run.stdout).toMatch(/^Summary \(written (locally|by )/m);
});

test('fails a text file named .mp3 with exit 1 and one readable line naming InvalidAudio, no stack trace', async () => {
  // Prepare
  const dataDir = path.join(dir, 'data-invalid');

  // Act
  const run = await runCli([notAudio], dataDir);

  // Assess
  expect(run.code).toBe(1);
  expect(run.stdout).toBe('');
  const reasons = run.stderr.split('\n').filter((line) => line.startsWith('Failed at'));
  expect(reasons).toHaveLength(1);
  expect(reasons[0]).toMatch(/^Failed at Preprocess: InvalidAudio — The file is not audio/);
  expect(run.stderr).not.toMatch(/^\s+at /m);
});

test('answers a usage error with exit 2 and the usage: no file, a missing file, an unknown option', async () => {
  // Prepare
  const dataDir = path.join(dir, 'data-usage');

  // Act
  const [none, missing, unknown] = await Promise.all([
    runCli([], dataDir),
    runCli([path.join(dir, 'no-such-song.mp3')], dataDir),
    runCli([song, '--loud'], dataDir),
  ]);

  // Assess
  for (const run of [none, missing, unknown]) {
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^Usage: npm run caption -- <files or folders…>/m);
  }
  expect(missing.stderr).toContain('no-such-song.mp3');
  expect(unknown.stderr).toContain('--loud');
});

test('uses the runtime already running on its DATA_DIR instead of booting its own', async () => {
  // Prepare
  const dataDir = path.join(dir, 'data-shared');
  const runtime = await startRuntime({ DATA_DIR: dataDir, SITE: 'off', PORT: '0', FFMPEG_BIN: ffmpeg }, () => undefined);
  try {
    // Act
    const run = await runCli([song, '--json'], dataDir);

    // Assess
    expect(run.code).toBe(0);
    const document = JSON.parse(run.stdout) as RunDocument;
    expect(runtime.executions.list().map((record) => [record.name, record.status])).toContainEqual([document.id, 'SUCCEEDED']);
    expect(run.stderr).toContain(`Using the runtime of process ${process.pid}`);
  } finally {
    await runtime.stop();
  }
});
