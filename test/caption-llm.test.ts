/**
 * The audio-LLM caption backend (CAPTION_BACKEND=audio-llm) through whole runs of statemachine/pipeline.asl.json
 * on the embedded runtime: the Choice takes the caption-llm function, which sends each window through the real
 * OpenAI SDK to a real HTTP server on loopback. The server checks what arrives (one 10 s, 16 kHz mono WAV of the
 * window's own samples per request, the measurements in the prompt) and answers as the case needs.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { AudioLlmBusy } from '#core/audio-llm-captioner';
import { captionWindows } from '#core/builtin-captioner';
import type { Manifest, ResultDocument } from '#core/contract';
import { ConfigError } from '#core/errors';
import { decodeNpyFloat32 } from '#core/npy';
import { formatClock } from '#core/run-steps';
import { analysisOrFallback } from '#core/song-shape';
import { createAudioLlm } from '../functions/caption-llm/audio-llm.ts';
import { loadRuntimeConfig } from '../runtime/config.ts';
import { makeSong, tempDir } from './helpers/audio.ts';
import { completion, failure, FakeOpenAi, userParts, type RecordedRequest, type Reply } from './helpers/fake-openai.ts';
import { bootRuntime, type TestRuntime } from './helpers/runtime.ts';

const dir = tempDir('caption-llm-');
// 25 s: windows at 0:00–0:10, 0:10–0:20 and the tail-aligned 0:15–0:25.
const song = makeSong(path.join(dir, 'song.wav'), 25, { bpm: 90 });
const MODEL = 'gpt-audio-1.5';
const CONCURRENCY = 2;
const USAGE = { prompt_tokens: 400, prompt_tokens_details: { audio_tokens: 100 }, completion_tokens: 40, total_tokens: 440 };

const excerptOf = (request: RecordedRequest) => /Excerpt (\d+:\d\d)–/.exec(userParts(request).text)?.[1] ?? '?';
const good = (excerpt: string) =>
  `A warm synth pad and a soft kick drum carry a calm, unhurried instrumental groove from ${excerpt}; the mix is clean and sparse, with no voice.`;
/** Answers every window with its good caption, except where `special` answers first. */
const answering =
  (special: (excerpt: string, nthForWindow: number, request: RecordedRequest) => Reply | undefined = () => undefined) =>
  () => {
    const seen = new Map<string, number>();
    return (request: RecordedRequest): Reply => {
      const excerpt = excerptOf(request);
      const nth = seen.get(excerpt) ?? 0;
      seen.set(excerpt, nth + 1);
      return special(excerpt, nth, request) ?? { ...completion(good(excerpt), USAGE), delayMs: 100 };
    };
  };

let llm: FakeOpenAi;
let runtime: TestRuntime;

beforeAll(async () => {
  llm = new FakeOpenAi(() => completion('unused'));
  const baseUrl = await llm.start();
  runtime = await bootRuntime({
    CAPTION_BACKEND: 'audio-llm',
    CAPTION_LLM_API_KEY: 'sk-caption',
    CAPTION_LLM_BASE_URL: baseUrl,
    CAPTION_LLM_MODEL: MODEL,
    CAPTION_LLM_CONCURRENCY: String(CONCURRENCY),
  });
}, 60_000);

afterAll(async () => {
  await runtime?.stop();
  await llm?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function getObject(key: string): Promise<Buffer> {
  const object = await runtime.s3.send(new GetObjectCommand({ Bucket: runtime.bucket, Key: key }));
  return Buffer.from(await object.Body!.transformToByteArray());
}

async function runWith(id: string, respond: (request: RecordedRequest, nth: number) => Reply) {
  llm.reset(respond);
  await runtime.upload(id, song);
  await runtime.settle(id, 90_000);
  const record = runtime.executions.list().find((r) => r.name === id)!;
  const result = (await runtime.result(id)) as ResultDocument;
  const manifest = JSON.parse((await getObject(`chunks/${id}/manifest.json`)).toString()) as Manifest;
  const builtin = captionWindows(manifest.windows, {
    track: manifest.tags,
    analysis: analysisOrFallback(manifest.analysis, manifest.tags, manifest.file.durationSec),
  }).map((entry) => entry.caption);
  const byWindow = (excerpt: string) => llm.requests.filter((request) => excerptOf(request) === excerpt);
  return { record, result, manifest, builtin, requests: llm.requests, byWindow };
}

/** A 16-bit PCM WAV's format and samples (÷ 32768), read from its RIFF header. */
function readWav(base64: string) {
  const wav = Buffer.from(base64, 'base64');
  const dataBytes = wav.readUInt32LE(40);
  const ints = new Int16Array(wav.buffer.slice(wav.byteOffset + 44, wav.byteOffset + 44 + dataBytes));
  return {
    riff: wav.toString('latin1', 0, 4) + wav.toString('latin1', 8, 12),
    pcm: wav.readUInt16LE(20),
    channels: wav.readUInt16LE(22),
    sampleRate: wav.readUInt32LE(24),
    bits: wav.readUInt16LE(34),
    samples: Float32Array.from(ints, (v) => v / 32768),
  };
}

describe('the audio-LLM caption backend', () => {
  it('captions every window from its own audio, one window per request, with the measurements as facts', async () => {
    // Act
    const { record, result, manifest, requests } = await runWith('llm-captions', answering()());
    // Assess
    expect(record.status).toBe('SUCCEEDED');
    expect(result.chunks.map((chunk) => [chunk.caption, chunk.quality])).toEqual(
      manifest.windows.map((window) => [good(formatClock(window.startSec)), 'ok']),
    );
    expect(result.captioner).toMatchObject({ backend: 'audio-llm', model: MODEL, windows: 3, fallbacks: 0, seconds: expect.any(Number) });
    expect(result.captioner.fallbackReason).toBeUndefined();
    // 300 text and 100 audio tokens in, 40 out, per window, at the published prices of gpt-audio-1.5.
    expect(result.captioner.estimatedCostUsd).toBeCloseTo((3 * (300 * 2.5 + 100 * 32 + 40 * 10)) / 1e6, 9);

    expect(requests).toHaveLength(3);
    expect(llm.maxInFlight).toBe(CONCURRENCY);
    for (const request of requests) {
      const { text, audio } = userParts(request);
      expect(request.model).toBe(MODEL);
      expect(request.authorization).toBe('Bearer sk-caption');
      // One window's audio and nothing more.
      expect(audio).toHaveLength(1);
      expect(audio[0].format).toBe('wav');
      const wav = readWav(audio[0].data);
      expect({ riff: wav.riff, pcm: wav.pcm, channels: wav.channels, sampleRate: wav.sampleRate, bits: wav.bits, samples: wav.samples.length }).toEqual({
        riff: 'RIFFWAVE',
        pcm: 1,
        channels: 1,
        sampleRate: 16_000,
        bits: 16,
        samples: 160_000,
      });
      const window = manifest.windows.find((w) => formatClock(w.startSec) === excerptOf(request))!;
      const npy = decodeNpyFloat32(await getObject(`chunks/llm-captions/windows/${window.file}`));
      expect(Buffer.from(wav.samples.buffer).equals(Buffer.from(npy.buffer))).toBe(true);
      // The measurements it must not contradict.
      expect(text).toContain(`tempo: ${Math.round(manifest.tags.bpm!)} BPM`);
      expect(text).toMatch(/meter: (\d+\/\d|not determined)/);
      expect(text).toContain('key: A minor');
      expect(text).toMatch(/level: -\d+ LUFS/);
      expect(request.messages[0].content).toMatch(/never contradict them/i);
      expect(request.messages[0].content).toMatch(/at most 60 words/);
    }
  }, 120_000);

  it('retries a window rate-limited twice and keeps the caption that comes after', async () => {
    // Act
    const { record, result, byWindow, requests } = await runWith(
      'llm-rate-limited',
      answering((excerpt, nth) => (excerpt === '0:00' && nth < 2 ? failure(429, 'rate_limit_exceeded', 'Rate limit reached') : undefined))(),
    );
    // Assess
    expect(record.status).toBe('SUCCEEDED');
    expect(byWindow('0:00')).toHaveLength(3);
    expect(requests).toHaveLength(5);
    expect(result.chunks[0]).toMatchObject({ caption: good('0:00'), quality: 'ok' });
    expect(result.captioner).toMatchObject({ backend: 'audio-llm', fallbacks: 0 });
  }, 120_000);

  it('gives a window whose requests keep failing the built-in caption, marked unavailable, and the run succeeds with a note', async () => {
    // Act
    const { record, result, builtin, byWindow } = await runWith(
      'llm-one-window-down',
      answering((excerpt) => (excerpt === '0:10' ? failure(503, 'server_error', 'Overloaded') : undefined))(),
    );
    // Assess
    expect(record.status).toBe('SUCCEEDED');
    expect(byWindow('0:10')).toHaveLength(4); // the first try and three retries
    expect(result.chunks.map((chunk) => chunk.quality)).toEqual(['ok', 'unavailable', 'ok']);
    expect(result.chunks[1].caption).toBe(builtin[1]);
    expect(result.captioner).toMatchObject({ backend: 'audio-llm', windows: 3, fallbacks: 1 });
    expect(result.captioner.fallbackReason).toMatch(/1 of 3 windows.*HTTP 503/);
  }, 120_000);

  it.each([
    ['a rejected key (401)', failure(401, 'invalid_api_key', 'Incorrect API key provided'), /refused the API key \(HTTP 401\)/],
    ['no quota left', failure(429, 'insufficient_quota', 'You exceeded your current quota'), /no quota left/],
    ['a model that does not take audio', failure(400, 'invalid_request_error', 'This model does not support audio input.'), /rejected the request .*does not support audio/],
  ])('stops at once on %s, retries nothing, and lets the built-in result stand, saying why', async (_label, reply, reason) => {
    // Act
    const code = (reply.body as { error: { code: string } }).error.code.replace(/_/g, '-');
    const { record, result, builtin, requests } = await runWith(`llm-final-${reply.status}-${code}`, () => reply);
    // Assess
    expect(record.status).toBe('SUCCEEDED');
    expect(requests.length).toBeLessThanOrEqual(CONCURRENCY);
    expect(new Set(requests.map(excerptOf)).size).toBe(requests.length);
    expect(result.chunks.map((chunk) => [chunk.caption, chunk.quality])).toEqual(builtin.map((caption) => [caption, 'ok']));
    expect(result.captioner).toMatchObject({ backend: 'builtin', windows: 3, fallbacks: 3 });
    expect(result.captioner.fallbackReason).toMatch(/every window \(3\)/);
    expect(result.captioner.fallbackReason).toMatch(reason);
  }, 120_000);

  it('asks again once when a caption contradicts the measured tempo, keeps a corrected one and replaces one that insists', async () => {
    // Prepare
    const wrong = 'An energetic 174 BPM drum and bass roller with a heavy sub bass.';
    // Act
    const { record, result, builtin, byWindow } = await runWith(
      'llm-contradiction',
      answering((excerpt, nth) => (excerpt === '0:00' || (excerpt === '0:10' && nth === 0) ? completion(wrong) : undefined))(),
    );
    // Assess
    expect(record.status).toBe('SUCCEEDED');
    expect(byWindow('0:00')).toHaveLength(2);
    expect(userParts(byWindow('0:00')[1]).text).toMatch(/Your previous caption states 174 BPM but the measured tempo is \d+ BPM/);
    expect(byWindow('0:10')).toHaveLength(2);
    expect(result.chunks[0]).toMatchObject({ caption: builtin[0], quality: 'unavailable' });
    expect(result.chunks[1]).toMatchObject({ caption: good('0:10'), quality: 'ok' });
    expect(result.captioner).toMatchObject({ backend: 'audio-llm', fallbacks: 1 });
    expect(result.captioner.fallbackReason).toMatch(/states 174 BPM/);
  }, 120_000);

  it('asks again once when a caption loops, then marks the window degenerate and keeps the built-in caption', async () => {
    // Prepare: the looping caption of the student project's report
    const looping = 'very first notes p p long notes long notes long, children like notes long notes long notes';
    // Act
    const { record, result, builtin, byWindow } = await runWith('llm-looping', answering((excerpt) => (excerpt === '0:15' ? completion(looping) : undefined))());
    // Assess
    expect(record.status).toBe('SUCCEEDED');
    expect(byWindow('0:15')).toHaveLength(2);
    expect(userParts(byWindow('0:15')[1]).text).toMatch(/Your previous caption repeats itself \("long notes" twice in a row/);
    expect(result.chunks[2]).toMatchObject({ caption: builtin[2], quality: 'degenerate' });
    expect(result.chunks.slice(0, 2).every((chunk) => chunk.quality === 'ok')).toBe(true);
    expect(result.captioner).toMatchObject({ backend: 'audio-llm', fallbacks: 1 });
  }, 120_000);

  it('cuts a long caption to whole sentences within 60 words', async () => {
    // Prepare: four sentences of 21 or 22 words each
    const sentences = [
      'A bright piano figure rises over brushed drums and a round upright bass, warm and unhurried in a small, softly lit room.',
      'Then a muted trumpet answers the piano with a short, bluesy phrase while the drummer moves from brushes to quiet sticks.',
      'The bass walks higher under both of them, the cymbals open up, and the whole band swells toward a bigger, brassier sound.',
      'By the end everything settles again into the opening piano figure, now slower, with a last soft ring of the ride cymbal.',
    ];
    // Act
    const { result } = await runWith('llm-long', answering(() => completion(sentences.join(' ')))());
    // Assess
    for (const chunk of result.chunks) expect(chunk).toMatchObject({ caption: sentences.slice(0, 2).join(' '), quality: 'ok' });
  }, 120_000);
});

describe('the audio-LLM adapter', () => {
  it('gives up on a server that does not answer within the timeout, as a failure worth retrying', async () => {
    // Prepare
    const slow = new FakeOpenAi(() => ({ ...completion('late'), delayMs: 3000 }));
    const baseURL = await slow.start();
    const client = createAudioLlm({ apiKey: 'sk-test', baseURL, model: MODEL, timeoutMs: 300 });
    try {
      // Act
      const started = Date.now();
      const error = await client.caption({ system: 's', user: 'u', wav: Buffer.alloc(44) }, new AbortController().signal).catch((e: unknown) => e);
      // Assess: given up long before the server's 3 s, and named as worth another try
      expect(Date.now() - started).toBeLessThan(1500);
      expect(error).toBeInstanceOf(AudioLlmBusy);
    } finally {
      await slow.stop();
    }
  });
});

describe('without the audio-LLM backend', () => {
  it('sends no audio anywhere, even with an OpenAI key set for the summary', async () => {
    // Prepare
    const summaryLlm = new FakeOpenAi(() => completion('A calm groove over a steady kick, the same from start to end.'));
    const baseUrl = await summaryLlm.start();
    const plain = await bootRuntime({ OPENAI_API_KEY: 'sk-summary', OPENAI_BASE_URL: baseUrl });
    try {
      // Act
      await plain.upload('no-audio-llm', song);
      await plain.settle('no-audio-llm', 90_000);
      const result = (await plain.result('no-audio-llm')) as ResultDocument;
      // Assess
      expect(result).toMatchObject({ status: 'SUCCEEDED', captioner: { backend: 'builtin' }, summary: { source: 'openai' } });
      expect(summaryLlm.requests.length).toBeGreaterThan(0);
      for (const request of summaryLlm.requests) expect(userParts(request).audio).toHaveLength(0);
    } finally {
      await plain.stop();
      await summaryLlm.stop();
    }
  }, 120_000);

  it('refuses to start with CAPTION_BACKEND=audio-llm and no key, saying which to set', () => {
    expect(() => loadRuntimeConfig({ CAPTION_BACKEND: 'audio-llm' })).toThrow(ConfigError);
    expect(() => loadRuntimeConfig({ CAPTION_BACKEND: 'audio-llm' })).toThrow(/CAPTION_LLM_API_KEY or OPENAI_API_KEY/);
    expect(loadRuntimeConfig({ CAPTION_BACKEND: 'audio-llm', OPENAI_API_KEY: 'sk-x' })).toMatchObject({ CAPTION_LLM_MODEL: MODEL, CAPTION_LLM_CONCURRENCY: 4 });
  });
});
