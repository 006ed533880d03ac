/**
 * A loopback endpoint speaking the subset of the Step Functions API the site and the CLI use
 * (StartExecution, DescribeExecution, GetExecutionHistory, ListExecutions) over its real wire protocol
 * (awsJson1_0, `X-Amz-Target: AWSStepFunctions.<Operation>`), so @aws-sdk/client-sfn works unchanged.
 * One more operation, under its own target, says how many runs are ahead of a waiting one (core/run-queue.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LOCAL_QUEUE_TARGET, type QueuePosition } from '#core/run-queue';
import type { ExecutionRecord, ExecutionStore, HistoryEvent } from './executions.ts';

const seconds = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000);

function summary(record: ExecutionRecord) {
  return {
    executionArn: record.executionArn,
    stateMachineArn: record.stateMachineArn,
    name: record.name,
    status: record.status,
    startDate: seconds(record.startDate),
    ...(record.stopDate ? { stopDate: seconds(record.stopDate) } : {}),
  };
}

class ApiError extends Error {
  constructor(readonly type: string, message: string, readonly status = 400) {
    super(message);
  }
}

function page<T>(items: T[], maxResults: unknown, nextToken: unknown): { items: T[]; nextToken?: string } {
  const size = typeof maxResults === 'number' && maxResults > 0 ? Math.min(maxResults, 1000) : 100;
  const start = typeof nextToken === 'string' ? Number.parseInt(nextToken, 10) || 0 : 0;
  const slice = items.slice(start, start + size);
  return { items: slice, ...(start + size < items.length ? { nextToken: String(start + size) } : {}) };
}

export function createSfnEndpoint(store: ExecutionStore, stateMachineArn: string) {
  const requireMachine = (arn: unknown) => {
    if (arn !== stateMachineArn) throw new ApiError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${String(arn)}'`);
  };
  const describe = (arn: unknown) => {
    try {
      return store.describe(String(arn));
    } catch (error) {
      throw new ApiError('ExecutionDoesNotExist', (error as Error).message);
    }
  };

  const operations: Record<string, (body: Record<string, unknown>) => unknown> = {
    StartExecution(body) {
      requireMachine(body.stateMachineArn);
      const name = typeof body.name === 'string' ? body.name : crypto.randomUUID();
      try {
        const record = store.start(name, typeof body.input === 'string' ? body.input : '{}');
        return { executionArn: record.executionArn, startDate: seconds(record.startDate) };
      } catch (error) {
        const err = error as Error;
        throw new ApiError(err.name === 'ExecutionAlreadyExists' || err.name === 'InvalidName' ? err.name : 'InvalidExecutionInput', err.message);
      }
    },
    DescribeExecution(body) {
      const record = describe(body.executionArn);
      return {
        ...summary(record),
        input: record.input,
        ...(record.output !== undefined ? { output: record.output } : {}),
        ...(record.error ? { error: record.error, cause: record.cause } : {}),
      };
    },
    GetExecutionHistory(body) {
      const record = describe(body.executionArn);
      const events: HistoryEvent[] = body.reverseOrder ? [...record.events].reverse() : record.events;
      const { items, nextToken } = page(events, body.maxResults, body.nextToken);
      return { events: items.map((event) => ({ ...event, timestamp: seconds(event.timestamp) })), ...(nextToken ? { nextToken } : {}) };
    },
    ListExecutions(body) {
      requireMachine(body.stateMachineArn);
      const all = store.list().filter((record) => !body.statusFilter || record.status === body.statusFilter);
      const { items, nextToken } = page(all, body.maxResults, body.nextToken);
      return { executions: items.map(summary), ...(nextToken ? { nextToken } : {}) };
    },
  };

  const queuePosition = (body: Record<string, unknown>): QueuePosition => {
    const record = describe(body.executionArn);
    const runsAhead = store.runsAhead(record.executionArn);
    return runsAhead === undefined ? {} : { runsAhead };
  };

  async function handle(request: IncomingMessage, response: ServerResponse) {
    const send = (status: number, payload: unknown, errorType?: string) => {
      response.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', ...(errorType ? { 'x-amzn-errortype': errorType } : {}) });
      response.end(JSON.stringify(payload));
    };
    try {
      const target = String(request.headers['x-amz-target'] ?? '');
      const operation = target === LOCAL_QUEUE_TARGET ? queuePosition : operations[target.replace(/^AWSStepFunctions\./, '')];
      if (request.method !== 'POST' || !operation) throw new ApiError('UnknownOperationException', `Unsupported operation: ${target || request.method}`);
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : {};
      send(200, operation(body));
    } catch (error) {
      const apiError = error instanceof ApiError ? error : new ApiError('InternalFailure', (error as Error).message, 500);
      send(apiError.status, { __type: apiError.type, message: apiError.message }, apiError.type);
    }
  }

  return {
    async listen(port: number, host = '127.0.0.1'): Promise<{ server: Server; url: string }> {
      const server = createServer((request, response) => void handle(request, response));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve());
      });
      const address = server.address() as AddressInfo;
      return { server, url: `http://${host}:${address.port}` };
    },
  };
}
