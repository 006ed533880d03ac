/**
 * The one-machine queue as the site and the CLI see it. In AWS, Lambda and Step Functions scale and no run
 * waits; the embedded runtime lets a few runs into their heavy steps at once and the rest wait in line
 * (runtime/queue.ts). Its Step Functions endpoint answers one operation AWS does not have, under its own
 * target prefix, saying how many runs are ahead of an execution; anything else there (AWS itself) has no queue.
 */

/** The `X-Amz-Target` of the embedded endpoint's queue question. */
export const LOCAL_QUEUE_TARGET = 'MusicCaptionerLocal.DescribeQueuePosition';

export interface QueuePosition {
  /** Runs that will be let in before this one; absent when it is not waiting. */
  runsAhead?: number;
}

/** How many runs are ahead of an execution at the embedded runtime's endpoint; undefined when it is not waiting. */
export async function localQueuePosition(sfnEndpoint: string, executionArn: string, signal?: AbortSignal): Promise<number | undefined> {
  const response = await fetch(sfnEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': LOCAL_QUEUE_TARGET },
    body: JSON.stringify({ executionArn }),
    signal,
  });
  if (!response.ok) return undefined;
  const position = (await response.json()) as QueuePosition;
  return typeof position.runsAhead === 'number' ? position.runsAhead : undefined;
}

/** "waiting — 3 runs ahead", as the run page and the CLI say it. */
export function waitingLine(runsAhead: number): string {
  if (runsAhead <= 0) return 'waiting — next in line';
  return `waiting — ${runsAhead} ${runsAhead === 1 ? 'run' : 'runs'} ahead`;
}
