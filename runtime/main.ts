/**
 * The embedded runtime: the whole product on one machine, no AWS account needed. s3rver stands in for S3,
 * aws-local-stepfunctions runs statemachine/pipeline.asl.json, the four function factories run in-process,
 * a local processing runner runs the Caption state, and a loopback endpoint answers the Step Functions API.
 * `npm start` runs it; the CLI and the tests boot it in-process.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { SFNClient } from '@aws-sdk/client-sfn';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { resolveFfmpeg } from '#core/ffmpeg';
import { uploadRefFromKey } from '#core/ids';
import { keys } from '#core/contract';
import { audioLlmClientSettings, audioLlmSettings, createAudioLlm } from '../functions/caption-llm/audio-llm.ts';
import { jsonLog, type Log } from '../functions/shared/log.ts';
import { createOpenAiWriter } from '../functions/shared/openai.ts';
import { createS3Client } from '../functions/shared/s3-store.ts';
import { createSfnClient } from '../functions/shared/sfn.ts';
import type { S3EventLike } from '../functions/start/start.ts';
import { createBuiltinCaptioner } from './captioners/builtin.ts';
import { createPythonCaptioner } from './captioners/python.ts';
import { loadRuntimeConfig, type RuntimeConfig } from './config.ts';
import { lambdaStates, loadLocalDefinition, localCustom, LOCAL_REGION, LOCAL_STATE_MACHINE_ARN } from './definition.ts';
import { ExecutionStore, type TaskHandler } from './executions.ts';
import { createLocalFunctions, type LocalFunctionsOptions } from './lambda.ts';
import { createPreprocessPool } from './preprocess-pool.ts';
import { createProcessingRunner, type ProcessingJobRequest } from './processing-runner.ts';
import { startEmbeddedS3 } from './s3.ts';
import { RunQueue } from './queue.ts';
import { createSfnEndpoint } from './sfn-endpoint.ts';
import { startSite } from './site.ts';
import { renderStatusPage } from './status-page.ts';

export interface RuntimeHandle {
  siteUrl: string;
  s3Endpoint: string;
  sfnEndpoint: string;
  bucket: string;
  stateMachineArn: string;
  region: string;
  executions: ExecutionStore;
  /** Executions restarted on boot because a restart had cut them short. */
  resumed: string[];
  stop(): Promise<void>;
}

/** Where a running `npm start` announces itself, so the CLI uses it instead of booting its own. */
export const runtimeFile = (dataDir: string) => path.join(dataDir, 'runtime.json');

export interface RuntimeAnnouncement {
  pid: number;
  siteUrl: string;
  s3Endpoint: string;
  sfnEndpoint: string;
  bucket: string;
  stateMachineArn: string;
  region: string;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The runtime another process is running on this DATA_DIR, if any. */
export function runningRuntime(dataDir: string): RuntimeAnnouncement | undefined {
  const file = runtimeFile(dataDir);
  if (!existsSync(file)) return undefined;
  try {
    const announced = JSON.parse(readFileSync(file, 'utf8')) as RuntimeAnnouncement;
    return announced.pid !== process.pid && processAlive(announced.pid) ? announced : undefined;
  } catch {
    return undefined;
  }
}

/** The states that decode, measure or caption: the ones the queue lets only MAX_CONCURRENT_RUNS runs into at once. */
export const HEAVY_STATES: ReadonlySet<string> = new Set(['Preprocess', 'Caption']);

export interface RuntimeOptions {
  /**
   * Preprocess in this process, as the runtime did before each queue slot had a process of its own: only
   * bench:queue's "no queue" baseline (the runtime as it was) uses it.
   */
  preprocessInProcess?: boolean;
}

export async function startRuntime(overrides: Partial<Record<string, string>> = {}, log: Log = jsonLog, options: RuntimeOptions = {}): Promise<RuntimeHandle> {
  const config: RuntimeConfig = loadRuntimeConfig({ ...process.env, ...overrides });
  const other = runningRuntime(config.dataDir);
  if (other) {
    throw new Error(`Another runtime (pid ${other.pid}) is already using ${config.dataDir}: its site is ${other.siteUrl}. Stop it or set DATA_DIR.`);
  }
  mkdirSync(config.dataDir, { recursive: true });
  // s3rver accepts its own well-known credentials; every SDK client in this process signs with them.
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  delete process.env.AWS_SESSION_TOKEN;
  process.env.AWS_REGION = LOCAL_REGION;

  const ffmpeg = resolveFfmpeg({ ...process.env, ...overrides });
  let onObjectCreated: (event: S3EventLike) => void = () => undefined;
  const s3Server = await startEmbeddedS3({
    directory: path.join(config.dataDir, 's3'),
    port: config.S3_PORT,
    bucket: config.BUCKET,
    onEvent: (event) => onObjectCreated(event),
  });
  const s3 = createS3Client({ AWS_REGION: LOCAL_REGION, S3_ENDPOINT: s3Server.endpoint });

  const definition = loadLocalDefinition(localCustom({ bucket: config.BUCKET, captionBackend: config.CAPTION_BACKEND === 'audio-llm' ? 'audio-llm' : 'sagemaker' }));
  const stateMachineArn = LOCAL_STATE_MACHINE_ARN;
  // The start function calls the Step Functions endpoint, which can listen only once the executions (and so
  // the functions) exist; its client is made on first use, which comes with the first upload, after boot.
  let sfnEndpointUrl = '';
  let sfnClient: SFNClient | undefined;
  const lazySfnClient = {
    send: (command: never) => (sfnClient ??= createSfnClient({ AWS_REGION: LOCAL_REGION, SFN_ENDPOINT: sfnEndpointUrl })).send(command),
  } as unknown as SFNClient;

  const writer = config.OPENAI_API_KEY
    ? createOpenAiWriter({ apiKey: config.OPENAI_API_KEY, baseURL: config.OPENAI_BASE_URL, model: config.OPENAI_MODEL, timeoutMs: config.OPENAI_TIMEOUT_MS })
    : undefined;
  const limits = { maxUploadBytes: config.MAX_UPLOAD_BYTES, maxDurationSec: config.MAX_DURATION_SEC, minDurationSec: config.MIN_DURATION_SEC };
  // Each slot of the queue measures in a process of its own, as each Lambda invocation does in AWS.
  const runQueue = new RunQueue(config.MAX_CONCURRENT_RUNS);
  const preprocessPool = options.preprocessInProcess ? undefined : createPreprocessPool({
    size: config.MAX_CONCURRENT_RUNS,
    region: LOCAL_REGION,
    s3Endpoint: s3Server.endpoint,
    ffmpeg,
    limits,
    // Called only once runs exist, so after `executions` below is made.
    isFirstRun: (event) => runQueue.oldest === executions.executionArn(event.id),
  });
  const functions = createLocalFunctions({
    s3,
    sfn: lazySfnClient,
    stateMachineArn,
    ffmpeg,
    limits,
    preprocess: preprocessPool?.handler,
    writer,
    captionLlm: captionLlmOf(config),
    log,
  });
  const captioner =
    config.CAPTION_BACKEND === 'python'
      ? createPythonCaptioner({ python: config.CAPTION_PYTHON, modelDir: config.CAPTION_MODEL_DIR })
      : createBuiltinCaptioner();
  const runProcessingJob = createProcessingRunner({
    s3,
    jobsDir: path.join(config.dataDir, 'jobs'),
    captioner,
    modelDir: config.CAPTION_MODEL_DIR,
    log,
  });

  const handlers: Record<string, TaskHandler> = {};
  for (const { state } of lambdaStates(definition)) handlers[state] = functions.invoke as TaskHandler;
  handlers.Caption = ((input: ProcessingJobRequest, context: { signal: AbortSignal }) => runProcessingJob(input, context.signal)) as TaskHandler;

  const queue = { runs: runQueue, heavyStates: HEAVY_STATES };
  const executions = new ExecutionStore({ dataDir: config.dataDir, definition, stateMachineArn, handlers, log, queue });
  const sfnEndpoint = await createSfnEndpoint(executions, stateMachineArn).listen(config.SFN_PORT);
  sfnEndpointUrl = sfnEndpoint.url;

  // S3 invokes the start function asynchronously and retries it twice on failure; so does this.
  const deliver = async (event: S3EventLike, attempt = 1): Promise<void> => {
    try {
      await functions.handlers.start(event);
    } catch (error) {
      if (attempt >= 3) {
        log('error', 'start failed three times; the upload stays until the next boot retries it', { error: String(error) });
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
      return deliver(event, attempt + 1);
    }
  };
  const pending = new Set<Promise<void>>();
  onObjectCreated = (event) => {
    const delivery = deliver(event).finally(() => pending.delete(delivery));
    pending.add(delivery);
  };

  const resumed = executions.recover();
  // An upload whose start was lost (the runtime stopped between upload and start) starts now.
  const known = new Set(executions.list().map((record) => record.name));
  const uploads = await s3.send(new ListObjectsV2Command({ Bucket: config.BUCKET, Prefix: keys.uploadPrefix }));
  for (const item of uploads.Contents ?? []) {
    if (!item.Key || known.has(uploadRefFromKey(item.Key).id)) continue;
    log('warn', 'upload had no execution; starting it now', { key: item.Key });
    onObjectCreated({ Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: config.BUCKET }, object: { key: item.Key } } }] });
  }

  const announcement: RuntimeAnnouncement = {
    pid: process.pid,
    siteUrl: '',
    s3Endpoint: s3Server.endpoint,
    sfnEndpoint: sfnEndpoint.url,
    bucket: config.BUCKET,
    stateMachineArn,
    region: LOCAL_REGION,
  };
  // The site reads the same configuration names in AWS and here; they are put back as they were on stop.
  const siteEnv: Record<string, string> = {
    BUCKET: config.BUCKET,
    STATE_MACHINE_ARN: stateMachineArn,
    S3_ENDPOINT: s3Server.endpoint,
    SFN_ENDPOINT: sfnEndpoint.url,
    MAX_UPLOAD_BYTES: String(config.MAX_UPLOAD_BYTES),
  };
  const previousEnv = Object.fromEntries(Object.keys(siteEnv).map((name) => [name, process.env[name]]));
  Object.assign(process.env, siteEnv);
  const site =
    config.SITE === 'on'
      ? await startSite({ port: config.PORT, host: config.HOST, log: (message) => log('info', message) })
      : await startStatusSite(config, executions);
  announcement.siteUrl = site.url;
  writeFileSync(runtimeFile(config.dataDir), JSON.stringify(announcement, null, 2));

  let stopping: Promise<void> | undefined;
  return {
    siteUrl: site.url,
    s3Endpoint: s3Server.endpoint,
    sfnEndpoint: sfnEndpoint.url,
    bucket: config.BUCKET,
    stateMachineArn,
    region: LOCAL_REGION,
    executions,
    resumed,
    stop: () =>
      (stopping ??= (async () => {
        await Promise.allSettled(pending);
        await executions.stop();
        await preprocessPool?.close();
        await site.close();
        await new Promise<void>((resolve) => sfnEndpoint.server.close(() => resolve()));
        await s3Server.close();
        rmSync(runtimeFile(config.dataDir), { force: true });
        for (const [name, value] of Object.entries(previousEnv)) {
          if (value === undefined) delete process.env[name];
          else process.env[name] = value;
        }
      })()),
  };
}

/** The audio LLM when CAPTION_BACKEND=audio-llm; nothing is ever sent otherwise. */
function captionLlmOf(config: RuntimeConfig): LocalFunctionsOptions['captionLlm'] {
  if (config.CAPTION_BACKEND !== 'audio-llm') return undefined;
  const client = audioLlmClientSettings(config);
  const source = client ? { llm: createAudioLlm(client) } : { missingLlmReason: 'no API key is configured' };
  return { llm: async () => source, settings: audioLlmSettings(config) };
}

async function startStatusSite(config: RuntimeConfig, executions: ExecutionStore): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(renderStatusPage(executions.list()));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.PORT, config.HOST, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return { url: `http://${config.HOST}:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

if (require.main === module) {
  startRuntime()
    .then((runtime) => {
      console.log(`\n  Music captioner is running: ${runtime.siteUrl}\n  S3 (s3rver): ${runtime.s3Endpoint}  bucket ${runtime.bucket}\n  Step Functions API: ${runtime.sfnEndpoint}\n`);
      const shutdown = () => {
        console.log('Stopping; running executions resume on the next start.');
        runtime.stop().then(() => process.exit(0), () => process.exit(1));
      };
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
    })
    .catch((error: Error) => {
      console.error(`Could not start: ${error.message}`);
      process.exit(1);
    });
}
