/**
 * The audio LLM behind the core's AudioLlm, through the official OpenAI SDK: any OpenAI-compatible server whose
 * chat completions take an `input_audio` content part (OpenAI's gpt-audio models, Qwen2-Audio on vLLM, …).
 * One request carries one window. The SDK's own retries are off (the core retries 429/5xx/timeouts with
 * jittered backoff and stops at once on final errors); the timeout is explicit.
 */
import OpenAI from 'openai';
import { AudioLlmBusy, AudioLlmStopped, type AudioLlm, type AudioLlmSettings } from '#core/audio-llm-captioner';
import { SummaryServiceUnavailable } from '#core/errors';
import type { FunctionsConfig } from '../shared/config.ts';
import { classifyLlmError } from '../shared/openai.ts';

export interface AudioLlmClientSettings {
  apiKey: string;
  baseURL?: string;
  model: string;
  timeoutMs: number;
}

type CaptionLlmConfig = Pick<
  FunctionsConfig,
  | 'OPENAI_API_KEY'
  | 'OPENAI_BASE_URL'
  | 'CAPTION_LLM_API_KEY'
  | 'CAPTION_LLM_BASE_URL'
  | 'CAPTION_LLM_MODEL'
  | 'CAPTION_LLM_TIMEOUT_MS'
  | 'CAPTION_LLM_CONCURRENCY'
  | 'CAPTION_LLM_MAX_SECONDS'
  | 'CAPTION_LLM_MAX_COST_USD'
>;

/** The client settings, the caption LLM's own values first and the summary's as defaults; no key, no client. */
export function audioLlmClientSettings(config: CaptionLlmConfig, keyFromStore?: string): AudioLlmClientSettings | undefined {
  const apiKey = config.CAPTION_LLM_API_KEY ?? keyFromStore ?? config.OPENAI_API_KEY;
  if (!apiKey) return undefined;
  return { apiKey, baseURL: config.CAPTION_LLM_BASE_URL ?? config.OPENAI_BASE_URL, model: config.CAPTION_LLM_MODEL, timeoutMs: config.CAPTION_LLM_TIMEOUT_MS };
}

export function audioLlmSettings(config: CaptionLlmConfig): AudioLlmSettings {
  return { concurrency: config.CAPTION_LLM_CONCURRENCY, maxSeconds: config.CAPTION_LLM_MAX_SECONDS, maxCostUsd: config.CAPTION_LLM_MAX_COST_USD };
}

export function createAudioLlm(settings: AudioLlmClientSettings): AudioLlm {
  const client = new OpenAI({ apiKey: settings.apiKey, baseURL: settings.baseURL, timeout: settings.timeoutMs, maxRetries: 0 });
  return {
    model: settings.model,
    async caption(prompt, signal) {
      try {
        const completion = await client.chat.completions.create(
          {
            model: settings.model,
            temperature: 0.3,
            max_completion_tokens: 200,
            messages: [
              { role: 'system', content: prompt.system },
              {
                role: 'user',
                content: [
                  { type: 'text', text: prompt.user },
                  { type: 'input_audio', input_audio: { data: prompt.wav.toString('base64'), format: 'wav' } },
                ],
              },
            ],
          },
          { signal },
        );
        const usage = completion.usage;
        return {
          text: completion.choices[0]?.message?.content ?? '',
          usage: usage
            ? { promptTokens: usage.prompt_tokens, audioTokens: usage.prompt_tokens_details?.audio_tokens ?? undefined, completionTokens: usage.completion_tokens }
            : undefined,
        };
      } catch (error) {
        throw audioLlmError(error, settings.model);
      }
    },
  };
}

/** The summary adapter's classification (retryable or final), reworded for the caption backend. */
export function audioLlmError(error: unknown, model: string): Error {
  if (error instanceof OpenAI.APIUserAbortError) return new AudioLlmBusy('The request was cancelled because the captioner stopped.', undefined, { cause: error });
  const named = classifyLlmError(error, model);
  const message = named.message.replace(/^The LLM/, `The audio LLM (${model})`);
  if (named instanceof SummaryServiceUnavailable) return new AudioLlmBusy(message, retryAfterMs(error), { cause: error });
  return new AudioLlmStopped(message, { cause: error });
}

function retryAfterMs(error: unknown): number | undefined {
  const headers = error instanceof OpenAI.APIError ? error.headers : undefined;
  const ms = Number(headers?.get?.('retry-after-ms') ?? NaN);
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const seconds = Number(headers?.get?.('retry-after') ?? NaN);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  return undefined;
}
