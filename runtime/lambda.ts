/**
 * The five functions, run in-process with the same factories their Lambda entry points use, behind the
 * `arn:aws:states:::lambda:invoke` integration's contract: the Task gets `{ Payload, StatusCode }`, and a
 * function error becomes a state error named by its errorType with Lambda's JSON cause.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { AudioLlmSettings } from '#core/audio-llm-captioner';
import type { SummaryWriter } from '#core/summary';
import { createCaptionLlmHandler, type AudioLlmSource } from '../functions/caption-llm/caption-llm.ts';
import { createPreprocessHandler, type PreprocessEvent } from '../functions/preprocess/preprocess.ts';
import { createRecordFailureHandler } from '../functions/record-failure/record-failure.ts';
import { s3IndexObjects } from '../functions/shared/library-store.ts';
import { storesFor } from '../functions/shared/s3-store.ts';
import type { Log } from '../functions/shared/log.ts';
import { createStartHandler } from '../functions/start/start.ts';
import { createSummarizeHandler } from '../functions/summarize/summarize.ts';
import { localFunctionArn, type LocalFunctionName } from './definition.ts';

export interface LocalFunctionsOptions {
  s3: S3Client;
  sfn: SFNClient;
  stateMachineArn: string;
  ffmpeg: string;
  limits: { maxUploadBytes: number; maxDurationSec: number; minDurationSec: number };
  writer?: SummaryWriter;
  /** The audio-LLM caption backend (CAPTION_BACKEND=audio-llm); without one, that function sends nothing. */
  captionLlm?: { llm: AudioLlmSource; settings: AudioLlmSettings };
  log: Log;
  /** Where Preprocess runs instead of this process (runtime/preprocess-pool.ts); without it, here. */
  preprocess?: (event: PreprocessEvent, context?: { signal?: AbortSignal }) => Promise<unknown>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyHandler = (event: any, context?: { signal?: AbortSignal }) => Promise<unknown>;

export function createLocalFunctions(options: LocalFunctionsOptions) {
  const storeFor = storesFor(options.s3);
  const handlers: Record<LocalFunctionName, AnyHandler> = {
    start: createStartHandler({ sfn: options.sfn, stateMachineArn: options.stateMachineArn, log: options.log }),
    preprocess: options.preprocess ?? createPreprocessHandler({ storeFor, ffmpeg: options.ffmpeg, limits: options.limits }),
    summarize: createSummarizeHandler({ storeFor, writer: async () => options.writer, indexFor: (bucket) => s3IndexObjects(options.s3, bucket), log: options.log }),
    recordFailure: createRecordFailureHandler({ storeFor }),
    captionLlm: createCaptionLlmHandler({
      storeFor,
      llm: options.captionLlm?.llm ?? (async () => ({ missingLlmReason: 'CAPTION_BACKEND is not audio-llm' })),
      settings: options.captionLlm?.settings ?? { concurrency: 1, maxSeconds: 60, maxCostUsd: 0 },
      log: options.log,
    }),
  };
  const byArn = new Map(Object.entries(handlers).map(([name, handler]) => [localFunctionArn(name as LocalFunctionName), { name, handler }]));

  /** What `lambda:invoke` hands the state machine. */
  async function invoke(input: { FunctionName: string; Payload: unknown }, context: { signal?: AbortSignal } = {}) {
    const target = byArn.get(input.FunctionName);
    if (!target) throw namedError('Lambda.ResourceNotFoundException', `Function not found: ${input.FunctionName}`);
    const started = Date.now();
    try {
      const result = await target.handler(input.Payload, context);
      options.log('info', `${target.name} finished`, { ms: Date.now() - started });
      return { ExecutedVersion: '$LATEST', Payload: result ?? null, StatusCode: 200 };
    } catch (error) {
      const err = error instanceof Error ? error : new Error(String(error));
      options.log('warn', `${target.name} failed`, { errorType: err.name, errorMessage: err.message });
      throw namedError(err.name || 'Error', JSON.stringify({ errorType: err.name, errorMessage: err.message, trace: [] }));
    }
  }

  return { handlers, invoke };
}

export function namedError(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}
