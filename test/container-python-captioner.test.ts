import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Ajv from 'ajv';
import { SAMPLE_RATE, WINDOW_SAMPLES, keys, type CaptionEntry } from '#core/contract';
import { encodeNpyFloat32 } from '#core/npy';
import captionsSchema from '../core/schema/captions.schema.json';
import { createPythonCaptioner } from '../runtime/captioners/python.ts';
import type { LocalCaptionJob } from '../runtime/captioners/types.ts';

const DEBIAN_PYTHON = '/usr/bin/python3';
// A test double launcher: Debian's python with the stand-in model (`--backend stub`), since torch is absent here.
const STAND_IN_PYTHON = path.resolve('sagemaker/tests/python-with-stand-in-model');

function tone(frequencyHz: number, amplitude: number): Float32Array {
  const samples = new Float32Array(WINDOW_SAMPLES);
  for (let i = 0; i < samples.length; i += 1) samples[i] = amplitude * Math.sin((2 * Math.PI * frequencyHz * i) / SAMPLE_RATE);
  return samples;
}

async function writeSong(folder: string, windows: Float32Array[], durationSec: number): Promise<LocalCaptionJob> {
  const windowsDir = path.join(folder, 'windows');
  await mkdir(windowsDir, { recursive: true });
  const entries = await Promise.all(
    windows.map(async (samples, index) => {
      await writeFile(path.join(windowsDir, keys.windowFile(index)), encodeNpyFloat32(samples));
      const startSec = Math.min(index * 10, durationSec - 10);
      return { index, file: keys.windowFile(index), startSec, endSec: startSec + 10 };
    }),
  );
  const manifestPath = path.join(folder, 'manifest.json');
  await writeFile(manifestPath, JSON.stringify({ version: 1, windows: entries }));
  return { windowsDir, manifestPath, outputDir: path.join(folder, 'out'), modelDir: path.join(folder, 'model') };
}

async function failureOf(run: Promise<unknown>): Promise<Error> {
  try {
    await run;
  } catch (error) {
    return error as Error;
  }
  throw new Error('the run succeeded, but a failure was expected');
}

describe('the python captioner', () => {
  let folder: string;
  beforeEach(async () => {
    folder = await mkdtemp(path.join(tmpdir(), 'python-captioner-'));
  });
  afterEach(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('names torch, transformers, LP-MusicCaps and the weights when Python lacks them', async () => {
    // Prepare
    const job = await writeSong(folder, [tone(440, 0.5)], 10);
    const captioner = createPythonCaptioner({ python: DEBIAN_PYTHON });
    // Act
    const failure = await failureOf(captioner.run(job));
    // Assess
    expect(failure.name).toBe('CaptionerUnavailable');
    expect(failure.message).toContain('torch (pip install torch)');
    expect(failure.message).toContain('transformers (pip install transformers==4.26.1)');
    expect(failure.message).toContain('LP-MusicCaps (lpmc)');
    expect(failure.message).toContain(path.join(folder, 'model', 'transfer.pth'));
  });

  it('says so when the interpreter does not exist', async () => {
    // Prepare
    const job = await writeSong(folder, [tone(440, 0.5)], 10);
    const captioner = createPythonCaptioner({ python: path.join(folder, 'no-such-python') });
    // Act
    const failure = await failureOf(captioner.run(job));
    // Assess
    expect(failure.name).toBe('CaptionerUnavailable');
    expect(failure.message).toMatch(/was not found; set CAPTION_PYTHON/);
  });

  it('runs the container entrypoint on local folders, streams its log and writes captions by the schema', async () => {
    // Prepare
    const job = await writeSong(folder, [tone(220, 0.5), tone(440, 0.5), tone(880, 0.5)], 25);
    const lines: string[] = [];
    const captioner = createPythonCaptioner({ python: STAND_IN_PYTHON, batchSize: 2 });
    // Act
    const info = await captioner.run({ ...job, log: (line) => lines.push(line) });
    // Assess
    const captions = JSON.parse(await readFile(path.join(job.outputDir, 'captions.json'), 'utf8')) as CaptionEntry[];
    const validate = new Ajv().compile(captionsSchema);
    expect(validate(captions)).toBe(true);
    expect(captions.map((entry) => [entry.index, entry.startSec, entry.endSec])).toEqual([
      [0, 0, 10],
      [1, 10, 20],
      [2, 15, 25],
    ]);
    expect(captions[2].caption).toContain('880 Hz');
    expect(info.backend).toBe('stub');
    expect(lines.some((line) => line.startsWith('captioned 2/3 windows'))).toBe(true);
    expect(lines.some((line) => line.startsWith('captioned 3/3 windows'))).toBe(true);
  });

  it('fails with the reason the entrypoint left in its failure file', async () => {
    // Prepare
    const job = await writeSong(folder, [tone(440, 0.5)], 10);
    await writeFile(path.join(job.windowsDir, '00007.npy'), encodeNpyFloat32(tone(440, 0.5)));
    const captioner = createPythonCaptioner({ python: STAND_IN_PYTHON });
    // Act
    const failure = await failureOf(captioner.run(job));
    // Assess
    expect(failure.name).toBe('CaptionFailed');
    expect(failure.message).toBe('InvalidInput: window file 00007.npy has no entry in the manifest');
  });
});
