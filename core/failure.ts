/**
 * The failure document: what the RecordFailure state writes to results/{id}.json, with the error's name and a
 * sentence a person understands.
 */
import { keys, type FailureDocument, type StepName } from './contract.ts';
import type { BlobStore } from './blob-store.ts';
import { describeCause } from './errors.ts';

export interface CaughtError {
  Error?: string;
  Cause?: string;
}

/** Sentences for errors whose own message is not meant for people (timeouts, runtime crashes). */
function sentenceFor(name: string, step: string, detail: string): string {
  if (name === 'States.Timeout' || name === 'Sandbox.Timedout') return `The ${step} step took longer than its time limit and was stopped.`;
  if (name.startsWith('Runtime.') || name === 'Lambda.Unknown') {
    return `The ${step} step crashed (${name}${detail ? `: ${detail}` : ''}); this is a fault on our side, not in your file.`;
  }
  if (name.startsWith('Lambda.')) return `The ${step} step could not be started by AWS Lambda (${name}); try again in a few minutes.`;
  if (name === 'States.TaskFailed' && step === 'Caption') return `The captioning job failed${detail ? `: ${detail}` : '.'}`;
  return detail || `The ${step} step failed with ${name}.`;
}

export function failureDocument(id: string, step: StepName | 'Pipeline', error: CaughtError, now = new Date()): FailureDocument {
  let name = error.Error || 'UnknownError';
  let detail = describeCause(error.Cause);
  // A failed processing job says why in its FailureReason, "AlgorithmError: …" or the container's own
  // "CaptionerUnavailable: …": that name says more than States.TaskFailed.
  const reason = name === 'States.TaskFailed' ? /^([A-Z][A-Za-z]+): (.+)$/.exec(detail) : null;
  if (reason) {
    name = reason[1];
    detail = reason[2];
    return { id, status: 'FAILED', error: { name, message: `The captioning job failed: ${detail}`, step }, createdAt: now.toISOString() };
  }
  return { id, status: 'FAILED', error: { name, message: sentenceFor(name, step, detail), step }, createdAt: now.toISOString() };
}

export async function recordFailure(
  request: { id: string; step?: string; error?: CaughtError },
  store: BlobStore,
): Promise<{ name: string; message: string }> {
  const step = (['Preprocess', 'Caption', 'Summarize'] as const).find((s) => s === request.step) ?? 'Pipeline';
  const document = failureDocument(request.id, step, request.error ?? {});
  await store.put(keys.result(request.id), JSON.stringify(document, null, 2), 'application/json');
  return { name: document.error.name, message: document.error.message };
}
