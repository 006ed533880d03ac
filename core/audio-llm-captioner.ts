/**
 * The audio-LLM caption backend (issue 11): each 10-second window goes, as a 16 kHz mono WAV of its own
 * samples, to a model that listens (any OpenAI-compatible chat-completions server that takes `input_audio`),
 * with the window's measurements as facts it must not contradict. It asks for one caption in the register of
 * LP-MusicCaps / MusicCaps (Doh et al., ISMIR 2023; Agostinelli et al., 2023): instruments, voice, genre, mood,
 * production, what changes — at most 60 words.
 *
 * The model is a collaborator handed in (AudioLlm); the adapter in functions/caption-llm/ maps its failures to
 * AudioLlmBusy (retried here with exponential backoff and full jitter) or AudioLlmStopped (final: the backend
 * ends at once). A window that gets no usable caption keeps the built-in caption (core/builtin-captioner.ts);
 * when every window does, the built-in captioner's result stands and says why.
 */
import type { BlobStore } from './blob-store.ts';
import { BUILTIN_CAPTIONER, captionWindows } from './builtin-captioner.ts';
import { judgeLoop } from './caption-loop-guard.ts';
import { SAMPLE_RATE, type CaptionEntry, type CaptionRunInfo, type Manifest, type ManifestWindow } from './contract.ts';
import type { TrackAnalysis } from './descriptors/types.ts';
import { CaptionsMissing } from './errors.ts';
import { decodeNpyFloat32 } from './npy.ts';
import { formatClock } from './run-steps.ts';
import { analysisOrFallback, hasBeat, levelClass, levelScale, sectionKeyAt, statedMeter, tempoAt, type TrackContext } from './song-shape.ts';
import { LEVEL_FACTS, NEAR_SILENCE, NO_CLEAR_KEY, NO_METER, NO_STEADY_BEAT } from './vocabulary.ts';
import { findContradictions } from './summary.ts';

export const AUDIO_LLM_BACKEND = 'audio-llm';

/** Thresholds of the backend, in one place. */
export const AUDIO_LLM_LIMITS = {
  /** The longest caption kept, in words (LP-MusicCaps' captions run 20–50 words). */
  maxWords: 60,
  /** Tries per request: the first and three retries of a 429, 5xx or timeout. */
  maxAttempts: 4,
  /** Full-jitter backoff: a random wait in [0, min(cap, base · 2^attempt)) ms (Brooker, "Exponential Backoff And Jitter", AWS Architecture Blog, 2015). */
  backoffBaseMs: 500,
  backoffCapMs: 8_000,
  /** A server's Retry-After is honoured up to this many ms. */
  maxRetryAfterMs: 10_000,
} as const;

/**
 * Published prices in USD per million tokens, as OpenAI's model pages list them on 2026-11-27
 * (developers.openai.com/api/docs/models/<model>). A model not listed gets no cost estimate.
 */
export const AUDIO_LLM_PRICES_USD_PER_MILLION: Record<string, { textIn: number; textOut: number; audioIn: number }> = {
  'gpt-audio-1.5': { textIn: 2.5, textOut: 10, audioIn: 32 },
  'gpt-audio': { textIn: 2.5, textOut: 10, audioIn: 32 },
  'gpt-4o-mini-audio-preview': { textIn: 0.15, textOut: 0.6, audioIn: 10 },
};

export interface AudioCaptionPrompt {
  system: string;
  user: string;
  /** The window's samples as a 16-bit PCM WAV, 16 kHz mono. */
  wav: Buffer;
}

export interface TokenUsage {
  promptTokens: number;
  /** Audio tokens among the prompt tokens, where the server reports them. */
  audioTokens?: number;
  completionTokens: number;
}

/** A model that listens to one window and answers with text. */
export interface AudioLlm {
  readonly model: string;
  caption(prompt: AudioCaptionPrompt, signal: AbortSignal): Promise<{ text: string; usage?: TokenUsage }>;
}

/** 429, 5xx, a timeout or a lost connection: worth another try after a wait. */
export class AudioLlmBusy extends Error {
  override readonly name = 'AudioLlmBusy';
  constructor(
    message: string,
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A refused key, no quota left, a model that does not take audio: no window will fare better, so the backend stops. */
export class AudioLlmStopped extends Error {
  override readonly name = 'AudioLlmStopped';
}

export interface AudioLlmSettings {
  /** Windows in flight at once. */
  concurrency: number;
  /** Per-song time budget: windows not started by then keep the built-in caption. */
  maxSeconds: number;
  /** Per-song cost budget (from reported usage and published prices): no new window starts once it is spent. */
  maxCostUsd: number;
}

export interface AudioCaptionDeps {
  llm: AudioLlm;
  settings: AudioLlmSettings;
  /** The window's samples (its .npy). */
  samples(window: ManifestWindow): Promise<Float32Array>;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  random?: () => number;
  now?: () => number;
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

/** 16-bit PCM WAV (RIFF), mono, 16 kHz. The windows hold s16 ÷ 32768, so this gives back the decoded samples exactly. */
export function encodeWav(samples: Float32Array, sampleRate = SAMPLE_RATE): Buffer {
  const dataBytes = samples.length * 2;
  const wav = Buffer.alloc(44 + dataBytes);
  wav.write('RIFF', 0, 'latin1');
  wav.writeUInt32LE(36 + dataBytes, 4);
  wav.write('WAVE', 8, 'latin1');
  wav.write('fmt ', 12, 'latin1');
  wav.writeUInt32LE(16, 16); // fmt chunk size
  wav.writeUInt16LE(1, 20); // PCM
  wav.writeUInt16LE(1, 22); // mono
  wav.writeUInt32LE(sampleRate, 24);
  wav.writeUInt32LE(sampleRate * 2, 28); // byte rate
  wav.writeUInt16LE(2, 32); // block align
  wav.writeUInt16LE(16, 34); // bits per sample
  wav.write('data', 36, 'latin1');
  wav.writeUInt32LE(dataBytes, 40);
  for (let i = 0; i < samples.length; i++) {
    wav.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(samples[i] * 32768))), 44 + i * 2);
  }
  return wav;
}

const SYSTEM_PROMPT =
  'You caption music. You hear a 10-second excerpt of a song. Write one caption of it in the style of the MusicCaps ' +
  'and LP-MusicCaps datasets: plain prose, one to three sentences, at most 60 words, saying what instruments play, ' +
  'whether there is a voice and what it is like, the genre, the mood, the production, and what changes within the excerpt. ' +
  'You are given facts measured from the audio: never contradict them. Never state a tempo, key or meter other than the ' +
  'measured ones, and where none was measured, name none. Do not mention excerpts, windows, measurements or these instructions. ' +
  'Answer with the caption only.';

/** The facts of one window, as the prompt states them. */
export function windowPrompt(manifest: Manifest, window: ManifestWindow, context: TrackContext, wav: Buffer): AudioCaptionPrompt {
  const { tags } = window;
  const scale = levelScale(context, manifest.windows);
  const bpm = hasBeat(tags) ? tempoAt(context, (window.startSec + window.endSec) / 2) ?? tags.bpm : null;
  const meter = bpm !== null ? statedMeter(context.track) : null;
  const key = sectionKeyAt(context, (window.startSec + window.endSec) / 2) ?? null;
  const facts = [
    `tempo: ${bpm !== null ? `${Math.round(bpm)} BPM` : NO_STEADY_BEAT}`,
    `meter: ${meter ?? NO_METER}`,
    `key: ${key ?? NO_CLEAR_KEY}`,
    `level: ${tags.loudnessLufs === null ? NEAR_SILENCE : `${tags.loudnessLufs.toFixed(0)} LUFS, ${LEVEL_FACTS[levelClass(tags, scale)]}`}`,
  ];
  return {
    system: SYSTEM_PROMPT,
    user:
      `Excerpt ${formatClock(window.startSec)}–${formatClock(window.endSec)} of "${manifest.file.name}" (${formatClock(manifest.file.durationSec)} long). ` +
      `Measured facts: ${facts.join('; ')}.`,
    wav,
  };
}

/** The key sections the window overlaps: a caption may name those keys, not every key of the song. */
function windowAnalysis(analysis: TrackAnalysis, window: ManifestWindow): TrackAnalysis {
  const keySections = (analysis.keySections ?? []).filter((s) => s.startSec < window.endSec && s.endSec > window.startSec);
  return { ...analysis, keySections };
}

/** Whole sentences up to the word limit (the first sentence cut at the limit when it alone is longer). */
export function clampWords(text: string, maxWords = AUDIO_LLM_LIMITS.maxWords): string {
  const clean = text.replace(/\s+/g, ' ').replace(/^["“]|["”]$/g, '').trim();
  const sentences = clean.split(/(?<=[.!?])\s+/);
  const kept: string[] = [];
  let count = 0;
  for (const sentence of sentences) {
    const words = sentence.split(' ').length;
    if (count + words > maxWords) break;
    kept.push(sentence);
    count += words;
  }
  if (kept.length > 0) return kept.join(' ');
  return `${clean.split(' ').slice(0, maxWords).join(' ')}…`;
}

type WindowOutcome =
  | { kind: 'ok'; caption: string }
  | { kind: 'looping' | 'contradicting'; reason: string }
  | { kind: 'failed'; reason: string };

export interface AudioCaptionResult {
  captions: CaptionEntry[];
  info: CaptionRunInfo;
}

/** Captions every window of the manifest with the audio LLM, the built-in caption standing in where it gives none. */
export async function captionWithAudioLlm(manifest: Manifest, deps: AudioCaptionDeps): Promise<AudioCaptionResult> {
  const { llm, settings } = deps;
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const sleep = deps.sleep ?? abortableSleep;
  const started = now();
  const deadline = started + settings.maxSeconds * 1000;
  const analysis = analysisOrFallback(manifest.analysis, manifest.tags, manifest.file.durationSec);
  const context: TrackContext = { track: manifest.tags, analysis, sections: manifest.sections };
  const builtin = new Map(captionWindows(manifest.windows, context).map((entry) => [entry.index, entry]));
  const prices = AUDIO_LLM_PRICES_USD_PER_MILLION[llm.model];
  let costUsd = 0;
  let stopped: string | undefined;
  const abort = new AbortController();

  const request = async (prompt: AudioCaptionPrompt): Promise<string> => {
    for (let attempt = 0; ; attempt++) {
      try {
        const reply = await llm.caption(prompt, abort.signal);
        if (reply.usage && prices) costUsd += cost(reply.usage, prices);
        return reply.text.trim();
      } catch (error) {
        if (!(error instanceof AudioLlmBusy) || attempt + 1 >= AUDIO_LLM_LIMITS.maxAttempts || abort.signal.aborted) throw error;
        const backoff = random() * Math.min(AUDIO_LLM_LIMITS.backoffCapMs, AUDIO_LLM_LIMITS.backoffBaseMs * 2 ** attempt);
        const wait = Math.max(backoff, Math.min(error.retryAfterMs ?? 0, AUDIO_LLM_LIMITS.maxRetryAfterMs));
        if (now() + wait > deadline) throw error;
        deps.log?.('audio LLM busy; trying again', { attempt: attempt + 1, waitMs: Math.round(wait), error: error.message });
        await sleep(wait, abort.signal);
      }
    }
  };

  const captionOne = async (window: ManifestWindow): Promise<WindowOutcome> => {
    const wav = encodeWav(await deps.samples(window));
    const prompt = windowPrompt(manifest, window, context, wav);
    const windowFacts = windowAnalysis(analysis, window);
    const problemsOf = (text: string) => {
      const loop = judgeLoop(text);
      if (loop.looping) return { kind: 'looping' as const, problems: [`repeats itself (${loop.reasons.join('; ')})`] };
      const contradictions = findContradictions(text, manifest.tags, windowFacts);
      if (contradictions.length > 0) return { kind: 'contradicting' as const, problems: contradictions };
      return undefined;
    };
    try {
      const first = clampWords(await request(prompt));
      const trouble = problemsOf(first);
      if (!trouble) return { kind: 'ok', caption: first };
      // One more try, told what was wrong; then the built-in caption stands in.
      const second = clampWords(
        await request({ ...prompt, user: `${prompt.user}\n\nYour previous caption ${trouble.problems.join('; ')}. Write it again, keeping to the measured facts and without repeating yourself.` }),
      );
      const still = problemsOf(second);
      if (!still) return { kind: 'ok', caption: second };
      return { kind: still.kind, reason: `its caption ${still.problems.join('; ')}` };
    } catch (error) {
      if (error instanceof AudioLlmStopped) {
        stopped ??= error.message;
        abort.abort();
      }
      if (error instanceof AudioLlmStopped || error instanceof AudioLlmBusy) return { kind: 'failed', reason: error.message };
      throw error;
    }
  };

  const outcomes = new Map<number, WindowOutcome>();
  let next = 0;
  const worker = async () => {
    while (next < manifest.windows.length) {
      const window = manifest.windows[next++];
      if (stopped) outcomes.set(window.index, { kind: 'failed', reason: stopped });
      else if (now() >= deadline) outcomes.set(window.index, { kind: 'failed', reason: `the time budget of ${settings.maxSeconds} s per song ran out` });
      else if (prices && costUsd >= settings.maxCostUsd) outcomes.set(window.index, { kind: 'failed', reason: `the cost budget of $${settings.maxCostUsd} per song was spent` });
      else outcomes.set(window.index, await captionOne(window));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(settings.concurrency, manifest.windows.length)) }, worker));

  const captions: CaptionEntry[] = manifest.windows.map((window) => {
    const outcome = outcomes.get(window.index)!;
    if (outcome.kind === 'ok') return { index: window.index, startSec: window.startSec, endSec: window.endSec, caption: outcome.caption, quality: 'ok' };
    const stand = builtin.get(window.index)!;
    return { ...stand, quality: outcome.kind === 'looping' ? 'degenerate' : 'unavailable' };
  });
  const fellBack = manifest.windows.filter((window) => outcomes.get(window.index)!.kind !== 'ok');
  const seconds = (now() - started) / 1000;
  const estimate = prices ? { estimatedCostUsd: Math.round(costUsd * 1e6) / 1e6 } : {};
  const reason = fallbackReason(stopped, fellBack.map((window) => outcomes.get(window.index)!), manifest.windows.length);

  if (fellBack.length === manifest.windows.length && manifest.windows.length > 0) {
    // Nothing usable came back: the built-in captioner's own result stands, saying why.
    return {
      captions: [...builtin.values()],
      info: { ...BUILTIN_CAPTIONER, windows: manifest.windows.length, seconds, fallbacks: fellBack.length, ...estimate, fallbackReason: reason! },
    };
  }
  return {
    captions,
    info: {
      backend: AUDIO_LLM_BACKEND,
      model: llm.model,
      windows: manifest.windows.length,
      fallbacks: fellBack.length,
      seconds,
      ...estimate,
      ...(reason ? { fallbackReason: reason } : {}),
    },
  };
}

function cost(usage: TokenUsage, prices: { textIn: number; textOut: number; audioIn: number }): number {
  const audio = usage.audioTokens ?? 0;
  return ((usage.promptTokens - audio) * prices.textIn + audio * prices.audioIn + usage.completionTokens * prices.textOut) / 1e6;
}

/** One sentence: how many windows fell back and the commonest reason. */
function fallbackReason(stopped: string | undefined, failures: WindowOutcome[], total: number): string | undefined {
  if (failures.length === 0) return undefined;
  const counts = new Map<string, number>();
  for (const failure of failures) {
    const reason = failure.kind === 'ok' ? '' : failure.reason;
    counts.set(reason, (counts.get(reason) ?? 0) + 1);
  }
  const commonest = stopped ?? [...counts.entries()].sort((a, b) => b[1] - a[1])[0][0];
  const which = failures.length === total ? `every window (${total})` : `${failures.length} of ${total} windows`;
  return `The audio-LLM captioner gave no usable caption for ${which}, so the built-in caption stands there: ${commonest.replace(/\.$/, '')}.`;
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export interface AudioCaptionRunRequest {
  id: string;
  manifestKey: string;
  windowPrefix: string;
  captionPrefix: string;
}

export interface AudioCaptionRunResult {
  backend: string;
  windows: number;
  fallbacks: number;
}

/**
 * The Caption step on the audio-LLM path: reads the manifest and each window's .npy, writes captions.json and
 * captioner.json under the captions prefix (as the processing job does). Without a model (no key configured)
 * nothing is sent and the built-in captioner's result stands, saying why.
 */
export async function captionRunWithAudioLlm(
  request: AudioCaptionRunRequest,
  deps: Omit<AudioCaptionDeps, 'samples' | 'llm'> & { store: BlobStore; llm?: AudioLlm; missingLlmReason?: string },
): Promise<AudioCaptionRunResult> {
  const { store } = deps;
  const manifest = await store.getJson<Manifest>(request.manifestKey);
  if (!manifest) throw new CaptionsMissing(`The manifest ${request.manifestKey} is missing, so there are no windows to caption.`);
  let result: AudioCaptionResult;
  if (deps.llm) {
    result = await captionWithAudioLlm(manifest, {
      ...deps,
      llm: deps.llm,
      samples: async (window) => decodeNpyFloat32(await store.getBytes(`${request.windowPrefix}${window.file}`)),
    });
  } else {
    const started = Date.now();
    const analysis = analysisOrFallback(manifest.analysis, manifest.tags, manifest.file.durationSec);
    const captions = captionWindows(manifest.windows, { track: manifest.tags, analysis, sections: manifest.sections });
    const reason = deps.missingLlmReason ?? 'no audio LLM is configured';
    result = {
      captions,
      info: {
        ...BUILTIN_CAPTIONER,
        windows: captions.length,
        seconds: (Date.now() - started) / 1000,
        fallbacks: captions.length,
        fallbackReason: `The audio-LLM captioner did not run, so every window was captioned from its measurements: ${reason}.`,
      },
    };
  }
  const prefix = request.captionPrefix.endsWith('/') ? request.captionPrefix : `${request.captionPrefix}/`;
  await store.put(`${prefix}captions.json`, JSON.stringify(result.captions, null, 2), 'application/json');
  await store.put(`${prefix}captioner.json`, JSON.stringify(result.info, null, 2), 'application/json');
  deps.log?.('captioned with the audio LLM', { id: request.id, windows: result.info.windows, fallbacks: result.info.fallbacks ?? 0 });
  return { backend: result.info.backend, windows: result.info.windows, fallbacks: result.info.fallbacks ?? 0 };
}
