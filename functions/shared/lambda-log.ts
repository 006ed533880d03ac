/**
 * The Lambdas' logger: Powertools for AWS Lambda's, which writes one JSON line per event with the function's
 * request id, cold start and function name taken from the invocation context. `logInvocations` adds the
 * execution the invocation belongs to: the state machine's payloads carry the upload id, which is the
 * execution's name (one upload, one execution named {id}).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { Log } from './log.ts';

/** The part of the Lambda context the logger reads (the runtime hands the whole of it). */
export interface LambdaContext {
  awsRequestId: string;
  functionName: string;
  functionVersion: string;
  invokedFunctionArn: string;
  memoryLimitInMB: string | number;
}

export function lambdaLogger(serviceName: string): { logger: Logger; log: Log } {
  const logger = new Logger({ serviceName });
  // The factories' Log shape, so the same handler code logs through jsonLog on one machine and this in AWS.
  const log: Log = (level, message, fields = {}) => logger[level](message, fields);
  return { logger, log };
}

/** The execution (upload id) a state's payload names, if any. */
function executionOf(event: unknown): string | undefined {
  const id = (event as { id?: unknown } | null)?.id;
  return typeof id === 'string' ? id : undefined;
}

/**
 * Wraps a handler so each invocation's lines carry its request id and execution, with one line when it
 * starts and one when it ends (its duration, or the error's name the state machine will match on).
 */
export function logInvocations<Event, Result>(logger: Logger, handler: (event: Event) => Promise<Result>) {
  return async (event: Event, context: LambdaContext): Promise<Result> => {
    logger.addContext(context as never);
    const executionName = executionOf(event);
    if (executionName) logger.appendKeys({ executionName });
    const started = Date.now();
    logger.info('invocation started');
    try {
      const result = await handler(event);
      logger.info('invocation finished', { ms: Date.now() - started });
      return result;
    } catch (error) {
      const err = error instanceof Error ? error : new Error(String(error));
      logger.error('invocation failed', { ms: Date.now() - started, errorType: err.name, errorMessage: err.message });
      throw error;
    } finally {
      logger.resetKeys();
    }
  };
}
