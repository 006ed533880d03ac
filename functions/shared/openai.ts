/**
 * The OpenAI (or any OpenAI-compatible server) adapter behind the core's SummaryWriter: an explicit timeout,
 * and a retryable failure tried once more here. The state machine's Retry is the outer layer; the SDK's
 * defaults (10 minutes × 3 tries) would outlast the Lambda.
 */
import OpenAI from 'openai';
import type { SummaryPrompt, SummaryWriter } from '#core/summary';
import { SummaryAuthFailed, SummaryQuotaExceeded, SummaryRequestRejected, SummaryServiceUnavailable } from '#core/errors';

export interface OpenAiSettings {
  apiKey: string;
  baseURL?: string;
  model: string;
  timeoutMs: number;
}

export function createOpenAiWriter(settings: OpenAiSettings): SummaryWriter {
  // The SDK's own retries are off: it would also retry a 429 that means "no quota left", which is final.
  const client = new OpenAI({ apiKey: settings.apiKey, baseURL: settings.baseURL, timeout: settings.timeoutMs, maxRetries: 0 });
  const complete = async (prompt: SummaryPrompt) => {
    const completion = await client.chat.completions.create({
      model: settings.model,
      temperature: 0.4,
      max_tokens: 400,
      messages: [
        { role: 'system', content: prompt.system },
        { role: 'user', content: prompt.user },
      ],
    });
    return completion.choices[0]?.message?.content ?? '';
  };
  return {
    model: settings.model,
    async write(prompt) {
      try {
        return await complete(prompt);
      } catch (first) {
        const named = classifyLlmError(first, settings.model);
        if (!(named instanceof SummaryServiceUnavailable)) throw named;
        // One quick retry of a retryable failure here; the state machine's Retry is the outer, slower layer.
        await new Promise((resolve) => setTimeout(resolve, retryDelayMs(first)));
        try {
          return await complete(prompt);
        } catch (second) {
          throw classifyLlmError(second, settings.model);
        }
      }
    },
  };
}

/** The server's Retry-After (capped at 2 s), else half a second. */
function retryDelayMs(error: unknown): number {
  const headers = error instanceof OpenAI.APIError ? error.headers : undefined;
  const ms = Number(headers?.get?.('retry-after-ms'));
  if (Number.isFinite(ms) && ms >= 0) return Math.min(ms, 2000);
  const seconds = Number(headers?.get?.('retry-after'));
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, 2000);
  return 500;
}

/** Names the failure for the state machine: retryable (429, 5xx, timeout) or final (auth, quota, bad request). */
export function classifyLlmError(error: unknown, model: string): Error {
  if (error instanceof OpenAI.APIConnectionTimeoutError) {
    return new SummaryServiceUnavailable('The LLM did not answer in time.', { cause: error });
  }
  if (error instanceof OpenAI.APIConnectionError) {
    return new SummaryServiceUnavailable(`The LLM could not be reached (${error.message}).`, { cause: error });
  }
  if (error instanceof OpenAI.APIError) {
    const status = error.status ?? 0;
    const code = String(error.code ?? (error.error as { code?: string } | undefined)?.code ?? '');
    if (status === 401 || status === 403) return new SummaryAuthFailed(`The LLM refused the API key (HTTP ${status}).`, { cause: error });
    if (code === 'insufficient_quota') return new SummaryQuotaExceeded('The LLM account has no quota left (insufficient_quota).', { cause: error });
    if (status === 429 || status === 408 || status === 409 || status >= 500) {
      return new SummaryServiceUnavailable(`The LLM is busy or failing (HTTP ${status}).`, { cause: error });
    }
    return new SummaryRequestRejected(`The LLM rejected the request for model "${model}" (HTTP ${status}: ${error.message}).`, { cause: error });
  }
  return new SummaryServiceUnavailable(`The LLM call failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}
