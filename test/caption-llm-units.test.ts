/** The audio-LLM backend's parts: the WAV it sends, the 60-word cut, a loop guard that judges as BART's does, the per-song budgets. */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { captionWithAudioLlm, clampWords, encodeWav, type AudioLlm } from '#core/audio-llm-captioner';
import { judgeLoop } from '#core/caption-loop-guard';
import { WINDOW_SAMPLES, type Manifest } from '#core/contract';
import { productManifest } from '../bench/lib/real-corpus.ts';
import { makeSong, tempDir } from './helpers/audio.ts';

describe('the WAV a window is sent as', () => {
  it('holds the window samples exactly as 16-bit PCM, 16 kHz mono, with a RIFF header that adds up', () => {
    // Prepare: s16 ÷ 32768, as preprocess decodes, including both extremes
    const ints = Int16Array.from([0, 1, -1, 32767, -32768, 12345, -23456]);
    const samples = Float32Array.from(ints, (v) => v / 32768);
    // Act
    const wav = encodeWav(samples);
    // Assess
    expect(wav.toString('latin1', 0, 4)).toBe('RIFF');
    expect(wav.readUInt32LE(4)).toBe(wav.length - 8);
    expect(wav.toString('latin1', 8, 16)).toBe('WAVEfmt ');
    expect([wav.readUInt16LE(20), wav.readUInt16LE(22), wav.readUInt32LE(24), wav.readUInt32LE(28), wav.readUInt16LE(32), wav.readUInt16LE(34)]).toEqual([1, 1, 16000, 32000, 2, 16]);
    expect(wav.toString('latin1', 36, 40)).toBe('data');
    expect(wav.readUInt32LE(40)).toBe(ints.length * 2);
    expect(Array.from(new Int16Array(wav.buffer.slice(wav.byteOffset + 44, wav.byteOffset + wav.length)))).toEqual(Array.from(ints));
  });
});

describe('the 60-word cut', () => {
  it('keeps whole sentences within the limit, cuts a single long sentence at it, and drops wrapping quotes', () => {
    const twenty = 'one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty.';
    expect(clampWords(`"${twenty} ${twenty} ${twenty} ${twenty}"`)).toBe(`${twenty} ${twenty} ${twenty}`);
    const long = Array.from({ length: 70 }, (_, i) => `w${i}`).join(' ');
    expect(clampWords(long).split(' ')).toHaveLength(60);
    expect(clampWords(long).endsWith('…')).toBe(true);
  });
});

describe('the loop guard', () => {
  // The report's looping captions, upstream's good ones, and edge cases of each rule.
  const captions = [
    'very first notes p p long notes long notes long, children like notes long notes long notes',
    'first notes of first notes of first notes of the first notes of the song first notes',
    'This is a hip hop music piece. There is a male vocalist rapping. The beat is composed of a bass guitar and a drum machine.',
    'The low quality recording features a ballad song that contains sustained strings, mellow piano melody and soft female vocal singing over it.',
    'a piano a piano',
    'drums drums drums and a bass',
    'A calm synth pad over a soft kick drum, warm and unhurried, with no voice and a clean, sparse mix.',
    '',
  ];

  it('judges every caption as the BART container\'s loop guard does', () => {
    // Prepare: sagemaker/music_captioner/loop_guard.py on the same captions
    const script = 'import json,sys\nfrom music_captioner.loop_guard import judge\nprint(json.dumps([judge(t).looping for t in json.load(sys.stdin)]))';
    const python = execFileSync('python3', ['-c', script], {
      input: JSON.stringify(captions),
      env: { ...process.env, PYTHONPATH: path.resolve(__dirname, '..', 'sagemaker') },
      encoding: 'utf8',
    });
    // Act
    const ours = captions.map((caption) => judgeLoop(caption).looping);
    // Assess
    expect(ours).toEqual(JSON.parse(python));
    expect(ours).toEqual([true, true, false, false, true, true, false, true]);
  });
});

describe('the per-song budgets', () => {
  // A real manifest (preprocess on a 45 s song: 5 windows); the model is the only stand-in, answering in-process.
  let manifest: Manifest;
  const dir = tempDir('caption-llm-budget-');
  beforeAll(async () => {
    manifest = await productManifest(makeSong(path.join(dir, 'song.wav'), 45, { bpm: 100 }), 'budget-song');
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const caption = 'A soft synth pad over a muffled kick drum, calm and unhurried, with a clean and sparse mix.';
  const silence = async () => new Float32Array(WINDOW_SAMPLES);

  it('starts no window once the reported usage has spent the cost budget, and says so', async () => {
    // Prepare: each answer reports 12,500 audio tokens, $0.40 at gpt-audio-1.5's $32 per million
    const asked: string[] = [];
    const llm: AudioLlm = {
      model: 'gpt-audio-1.5',
      caption: async (prompt) => {
        asked.push(prompt.user);
        return { text: caption, usage: { promptTokens: 12_500, audioTokens: 12_500, completionTokens: 0 } };
      },
    };
    // Act
    const { captions, info } = await captionWithAudioLlm(manifest, { llm, samples: silence, settings: { concurrency: 1, maxSeconds: 600, maxCostUsd: 1 } });
    // Assess: $0.40, $0.80, then $1.20 is over the budget
    expect(asked).toHaveLength(3);
    expect(captions.map((entry) => entry.quality)).toEqual(['ok', 'ok', 'ok', 'unavailable', 'unavailable']);
    expect(info).toMatchObject({ backend: 'audio-llm', windows: 5, fallbacks: 2, estimatedCostUsd: 1.2 });
    expect(info.fallbackReason).toMatch(/2 of 5 windows.*cost budget of \$1 per song was spent/);
  });

  it('starts no window after the time budget, and says so', async () => {
    // Prepare: a clock that moves 100 s with every answer
    let clock = 0;
    const llm: AudioLlm = {
      model: 'some-vllm-model',
      caption: async () => {
        clock += 100_000;
        return { text: caption };
      },
    };
    // Act
    const { captions, info } = await captionWithAudioLlm(manifest, { llm, samples: silence, now: () => clock, settings: { concurrency: 1, maxSeconds: 250, maxCostUsd: 1 } });
    // Assess: windows start at 0, 100 and 200 s; at 300 s the budget is over
    expect(captions.map((entry) => entry.quality)).toEqual(['ok', 'ok', 'ok', 'unavailable', 'unavailable']);
    expect(info).toMatchObject({ backend: 'audio-llm', model: 'some-vllm-model', fallbacks: 2 });
    // No published price for the model: no estimate, and no cost budget to keep.
    expect(info.estimatedCostUsd).toBeUndefined();
    expect(info.fallbackReason).toMatch(/time budget of 250 s per song ran out/);
  });
});
