/**
 * The OpenAI (or any OpenAI-compatible server) adapter behind the core's SummaryWriter. The SDK gets an
 * explicit timeout and at most one retry of its own: the state machine's Retry is the outer layer, and the
 * SDK's defaults (10 minutes × 3 tries) would outlast the Lambda.
 */
import OpenAI from 'openai';
import type { SummaryWriter } from '#core/summary';
import { SummaryAuthFailed, SummaryQuotaExceeded, SummaryRequestRejected, SummaryServiceUnavailable } from '#core/errors';

export interface OpenAiSettings {
  apiKey: string;
  baseURL?: string;
  model: string;
  timeoutMs: number;
}

export function createOpenAiWriter(settings: OpenAiSettings): SummaryWriter {
  const client = new OpenAI({ apiKey: settings.apiKey, baseURL: settings.baseURL, timeout: settings.timeoutMs, maxRetries: 1 });
  return {
    model: settings.model,
    async write(prompt) {
      try {
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
      } catch (error) {
        throw classifyLlmError(error, settings.model);
      }
    },
  };
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
