/**
 * Errors named for what happened to the user's file. The state machine matches `name` in Retry/Catch
 * (a Lambda error's name becomes the Step Functions error), so these names are part of the contract.
 */
export abstract class PipelineError extends Error {
  abstract override readonly name: string;
  /** Whether trying the same step again may succeed. */
  readonly retryable: boolean = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export class InvalidAudio extends PipelineError {
  override readonly name = 'InvalidAudio';
}
export class NoAudioStream extends PipelineError {
  override readonly name = 'NoAudioStream';
}
export class AudioTooShort extends PipelineError {
  override readonly name = 'AudioTooShort';
}
export class AudioTooLong extends PipelineError {
  override readonly name = 'AudioTooLong';
}
export class FileTooLarge extends PipelineError {
  override readonly name = 'FileTooLarge';
}
export class UploadNotFound extends PipelineError {
  override readonly name = 'UploadNotFound';
}
export class CaptionsMissing extends PipelineError {
  override readonly name = 'CaptionsMissing';
}
/** The LLM answered 429, 5xx, or not at all: the state machine retries, then falls back to the local summary. */
export class SummaryServiceUnavailable extends PipelineError {
  override readonly name = 'SummaryServiceUnavailable';
  override readonly retryable = true;
}
/** The LLM refused the key: final, never retried. */
export class SummaryAuthFailed extends PipelineError {
  override readonly name = 'SummaryAuthFailed';
}
/** The LLM account has no quota left: final, never retried. */
export class SummaryQuotaExceeded extends PipelineError {
  override readonly name = 'SummaryQuotaExceeded';
}
/** The LLM rejected the request itself (unknown model, bad parameters): final, never retried. */
export class SummaryRequestRejected extends PipelineError {
  override readonly name = 'SummaryRequestRejected';
}
export class ConfigError extends PipelineError {
  override readonly name = 'ConfigError';
}

/**
 * Turns a Step Functions error `Cause` into a sentence. Lambda errors carry JSON
 * ({"errorMessage", "errorType", ...}); a failed SageMaker job carries its description (FailureReason);
 * anything else is shown as it is, trimmed.
 */
export function describeCause(cause: unknown): string {
  if (cause === undefined || cause === null || cause === '') return '';
  let parsed: unknown = cause;
  if (typeof cause === 'string') {
    try {
      parsed = JSON.parse(cause);
    } catch {
      return trimCause(cause);
    }
  }
  if (parsed && typeof parsed === 'object') {
    const record = parsed as Record<string, unknown>;
    for (const field of ['errorMessage', 'FailureReason', 'message', 'Cause']) {
      const value = record[field];
      if (typeof value === 'string' && value.trim()) return trimCause(value);
    }
  }
  return trimCause(typeof cause === 'string' ? cause : JSON.stringify(cause));
}

function trimCause(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > 1000 ? `${oneLine.slice(0, 997)}…` : oneLine;
}
