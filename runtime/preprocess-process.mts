/**
 * One slot's Preprocess, in a process of its own (started by runtime/preprocess-pool.ts), as each Lambda
 * invocation has its own in AWS. Measuring the descriptors is JavaScript; with every admitted run's Preprocess
 * on the runtime's one thread, two runs in their heavy steps took turns on it, and the first run in finished
 * about twice as late as a run alone. Here each slot measures on its own core.
 *
 * It runs the same factory as the Lambda (functions/preprocess/preprocess.ts) over the embedded S3. Plain Node
 * runs this file and what it imports, with TypeScript's types transformed away.
 *
 * From the parent: { type: 'run', id, event } and { type: 'abort', id } (the runtime is stopping). To the parent:
 * { type: 'ready' } once, then { type: 'done', id, result } or { type: 'failed', id, error: { name, message } }.
 * It ends when its parent does (the IPC channel closes) and ignores SIGINT/SIGTERM: a Ctrl-C reaches the whole
 * process group, and the runtime stops its runs itself (the abort stops ffmpeg too).
 */
import { createPreprocessHandler, type PreprocessEvent } from '../functions/preprocess/preprocess.ts';
import { createS3Client, storesFor } from '../functions/shared/s3-store.ts';
import { childOfRuntime } from './child-process.mts';

interface PreprocessProcessOptions {
  region: string;
  s3Endpoint: string;
  ffmpeg: string;
  limits: { maxUploadBytes: number; maxDurationSec: number; minDurationSec: number };
}

type FromParent = { type: 'run'; id: number; event: PreprocessEvent } | { type: 'abort'; id: number } | { type: 'close' };

const { options, send } = childOfRuntime<PreprocessProcessOptions>();

const handler = createPreprocessHandler({
  storeFor: storesFor(createS3Client({ AWS_REGION: options.region, S3_ENDPOINT: options.s3Endpoint })),
  ffmpeg: options.ffmpeg,
  limits: options.limits,
});
const running = new Map<number, AbortController>();

process.on('message', (message: FromParent) => {
  if (message.type === 'close') process.exit(0);
  if (message.type === 'abort') {
    running.get(message.id)?.abort();
    return;
  }
  const controller = new AbortController();
  running.set(message.id, controller);
  handler(message.event, { signal: controller.signal }).then(
    (result) => send({ type: 'done', id: message.id, result }),
    (error: unknown) => {
      const err = error instanceof Error ? error : new Error(String(error));
      send({ type: 'failed', id: message.id, error: { name: err.name, message: err.message } });
    },
  ).finally(() => running.delete(message.id));
});
send({ type: 'ready' });
