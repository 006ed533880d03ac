/**
 * The site's server-side data layer against the embedded runtime: real s3rver (presigned POST, listing,
 * result documents) and the real Step Functions endpoint (history, executions), real ffmpeg.
 */
jest.mock('server-only', () => ({}), { virtual: true });

import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { UPLOAD_ID_PATTERN } from '#core/ids';
import { createClients } from '../frontend/lib/server/aws.ts';
import { loadConfig, type SiteConfig } from '../frontend/lib/server/config.ts';
import { readRecentRuns, readRun, type RunSource } from '../frontend/lib/server/runs.ts';
import { createUploadTicket } from '../frontend/lib/server/uploads.ts';
import type { UploadTicket } from '../frontend/lib/run-view.ts';
import { makeSong, tempDir } from './helpers/audio.ts';
import { bootRuntime, type TestRuntime } from './helpers/runtime.ts';

let runtime: TestRuntime;
let settings: SiteConfig;
let source: RunSource;
const dir = tempDir('web-data-');

beforeAll(async () => {
  runtime = await bootRuntime();
  settings = loadConfig({
    BUCKET: runtime.bucket,
    AWS_REGION: runtime.region,
    STATE_MACHINE_ARN: runtime.stateMachineArn,
    S3_ENDPOINT: runtime.s3Endpoint,
    SFN_ENDPOINT: runtime.sfnEndpoint,
    MAX_UPLOAD_BYTES: '2000000',
  });
  source = { settings, ...createClients(settings) };
});
afterAll(async () => {
  await runtime.stop();
});

/** What the browser does with a ticket: a multipart POST of its fields, then the file. */
async function postFile(ticket: UploadTicket, body: Buffer, fileName: string, overrides: Record<string, string> = {}) {
  const form = new FormData();
  for (const [name, value] of Object.entries({ ...ticket.fields, ...overrides })) form.append(name, value);
  form.append('file', new Blob([new Uint8Array(body)]), fileName);
  return fetch(ticket.url, { method: 'POST', body: form });
}

async function untilEnded(id: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const snapshot = await readRun(source, id);
    if (snapshot && (snapshot.phase === 'succeeded' || snapshot.phase === 'failed')) return snapshot;
    if (Date.now() > deadline) throw new Error(`run ${id} did not end: ${JSON.stringify(snapshot)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('an upload through the presigned POST', () => {
  it('lands under uploads/{id}/{safe name}, starts the execution named {id}, and reads back as a finished run', async () => {
    // Prepare
    const song = readFileSync(makeSong(path.join(dir, 'song.mp3'), 14));
    const ticket = await createUploadTicket({ fileName: 'My Song (live).mp3', contentType: '', sizeBytes: song.length }, settings, source.s3);

    // Act
    const posted = await postFile(ticket, song, 'My Song (live).mp3');
    const snapshot = await untilEnded(ticket.id);

    // Assess
    expect(posted.status).toBeLessThan(300);
    expect(ticket.id).toMatch(UPLOAD_ID_PATTERN);
    expect(ticket.fields).toMatchObject({ key: `uploads/${ticket.id}/My-Song-live-.mp3`, 'Content-Type': 'audio/mpeg' });
    expect(snapshot).toMatchObject({ id: ticket.id, fileName: 'My-Song-live-.mp3', phase: 'succeeded', executionStatus: 'SUCCEEDED' });
    expect(snapshot!.steps.map((step) => [step.name, step.status])).toEqual([
      ['Upload', 'succeeded'],
      ['Preprocess', 'succeeded'],
      ['Caption', 'succeeded'],
      ['Summarize', 'succeeded'],
    ]);
    expect(snapshot!.steps.slice(1).every((step) => typeof step.durationMs === 'number')).toBe(true);
    expect(snapshot!.result).toMatchObject({ id: ticket.id, status: 'SUCCEEDED' });
    expect(snapshot!.result?.status === 'SUCCEEDED' && snapshot!.result.chunks).toHaveLength(2);
    expect(snapshot!.consoleUrl).toBeUndefined();
  });

  it('signs a policy that pins the key, the content type and the size range, and expires', async () => {
    // Prepare
    const before = Date.now();

    // Act
    const ticket = await createUploadTicket({ fileName: 'take.flac', contentType: 'audio/x-flac', sizeBytes: 10 }, settings, source.s3);

    // Assess: S3 checks every POST against this document (s3rver does not, so the document itself is checked).
    const policy = JSON.parse(Buffer.from(ticket.fields.Policy, 'base64').toString('utf8')) as { expiration: string; conditions: unknown[] };
    expect(policy.conditions).toEqual(
      expect.arrayContaining([
        { bucket: runtime.bucket },
        { key: `uploads/${ticket.id}/take.flac` },
        ['content-length-range', 1, 2_000_000],
        ['eq', '$Content-Type', 'audio/flac'],
      ]),
    );
    const expiresInMin = (Date.parse(policy.expiration) - before) / 60_000;
    expect(expiresInMin).toBeGreaterThan(10);
    expect(expiresInMin).toBeLessThanOrEqual(16);
    expect(ticket.maxBytes).toBe(2_000_000);
  });

  it('refuses, before signing anything, a file the upload policy does not accept', async () => {
    // Act + Assess
    await expect(createUploadTicket({ fileName: 'notes.txt', contentType: 'text/plain', sizeBytes: 10 }, settings, source.s3)).rejects.toMatchObject({
      name: 'BadRequest',
      status: 400,
      message: expect.stringContaining('does not look like audio'),
    });
    await expect(createUploadTicket({ fileName: 'big.wav', contentType: 'audio/wav', sizeBytes: 2_000_001 }, settings, source.s3)).rejects.toMatchObject({
      name: 'BadRequest',
      message: '“big.wav” is 2 MB; the limit is 2 MB.',
    });
  });
});

describe('readRun', () => {
  it('shows a file that is not audio failing at Preprocess with the failure document’s sentence', async () => {
    // Prepare
    const bytes = Buffer.from('This is a shopping list, not a song.\n'.repeat(50));
    const ticket = await createUploadTicket({ fileName: 'list.mp3', contentType: 'audio/mpeg', sizeBytes: bytes.length }, settings, source.s3);

    // Act
    await postFile(ticket, bytes, 'list.mp3');
    const snapshot = await untilEnded(ticket.id);

    // Assess
    expect(snapshot).toMatchObject({ phase: 'failed', executionStatus: 'FAILED', result: { status: 'FAILED' } });
    const failure = snapshot!.result!.status === 'FAILED' ? snapshot!.result!.error : undefined;
    expect(snapshot!.error).toEqual(failure);
    expect(failure?.step).toBe('Preprocess');
    const preprocess = snapshot!.steps.find((step) => step.name === 'Preprocess');
    expect(preprocess).toMatchObject({ status: 'failed', error: { name: failure?.name, message: failure?.message } });
    expect(failure?.message.length).toBeGreaterThan(10);
    expect(snapshot!.steps.filter((step) => step.status === 'pending').map((step) => step.name)).toEqual(['Caption', 'Summarize']);
  });

  it('reports an upload without an execution as waiting, with Upload done and the rest pending', async () => {
    // Prepare: a state machine with no executions, so the upload in the shared bucket has none.
    const other = { ...source, settings: { ...settings, STATE_MACHINE_ARN: runtime.stateMachineArn.replace(/:stateMachine:.*/, ':stateMachine:nobody') } };
    const id = 'waiting-upload-1';
    const song = makeSong(path.join(dir, 'waiting.wav'), 2);
    await runtime.upload(id, song, 'waiting.wav');

    // Act
    const snapshot = await readRun(other, id);

    // Assess
    expect(snapshot).toMatchObject({ id, fileName: 'waiting.wav', phase: 'waiting' });
    expect(snapshot!.executionStatus).toBeUndefined();
    expect(Date.parse(snapshot!.uploadedAt!)).toBeGreaterThan(Date.now() - 60_000);
    expect(snapshot!.steps.map((step) => step.status)).toEqual(['succeeded', 'pending', 'pending', 'pending']);
  });

  it('returns nothing for an id with neither an upload nor an execution', async () => {
    expect(await readRun(source, 'never-uploaded-1')).toBeUndefined();
  });

  it('reads a result S3 refuses with 403 as "not written yet" when listing shows no such key, and as a refusal when it exists', async () => {
    // Prepare: a finished run, and an S3 client that is refused GetObject on results/ as IAM may refuse a missing
    // key (403, not 404) when s3:ListBucket carries a prefix condition.
    const song = makeSong(path.join(dir, 'denied.wav'), 3);
    await runtime.upload('denied-read-1', song);
    await runtime.settle('denied-read-1');
    const denied = createClients(settings).s3;
    denied.middlewareStack.add(
      (next, context) => async (args) => {
        const key = (args.input as { Key?: string }).Key ?? '';
        if (context.commandName === 'GetObjectCommand' && key.startsWith('results/')) {
          throw Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
        }
        return next(args);
      },
      { step: 'initialize' },
    );
    const deniedSource = { ...source, s3: denied };

    // Act / Assess: the result exists, so the refusal is real and surfaces.
    await expect(readRun(deniedSource, 'denied-read-1')).rejects.toThrow('Access Denied');

    // Act / Assess: the result is gone (as while Summarize has not written it), so it reads as not there.
    await source.s3.send(new DeleteObjectCommand({ Bucket: settings.BUCKET, Key: 'results/denied-read-1.json' }));
    const snapshot = await readRun(deniedSource, 'denied-read-1');
    expect(snapshot).toMatchObject({ id: 'denied-read-1', phase: 'succeeded' });
    expect(snapshot!.result).toBeUndefined();
  });

  it('links the run to the Step Functions console in AWS mode', async () => {
    // Prepare
    const song = makeSong(path.join(dir, 'console.wav'), 3);
    await runtime.upload('console-link-1', song);
    await runtime.settle('console-link-1');
    const awsMode = { ...source, settings: { ...settings, consoleLinks: true } };

    // Act
    const snapshot = await readRun(awsMode, 'console-link-1');

    // Assess
    const arn = runtime.stateMachineArn.replace(':stateMachine:', ':execution:') + ':console-link-1';
    expect(snapshot!.consoleUrl).toBe(
      `https://${runtime.region}.console.aws.amazon.com/states/home?region=${runtime.region}#/v2/executions/details/${arn}`,
    );
  });
});

describe('readRecentRuns', () => {
  it('lists runs newest first with their upload file names and statuses', async () => {
    // Prepare
    const first = makeSong(path.join(dir, 'first.wav'), 2);
    const second = path.join(dir, 'second.flac');
    writeFileSync(second, readFileSync(makeSong(second, 2)));
    await runtime.upload('20990101-000001-aaaaaaaa', first, 'first.wav');
    await runtime.settle('20990101-000001-aaaaaaaa');
    await runtime.upload('20990101-000002-bbbbbbbb', second, 'second.flac');
    await runtime.settle('20990101-000002-bbbbbbbb');

    // Act
    const runs = await readRecentRuns(source, 20);

    // Assess
    const ours = runs.filter((run) => run.id.startsWith('20990101-'));
    expect(ours.map((run) => [run.id, run.fileName, run.phase])).toEqual([
      ['20990101-000002-bbbbbbbb', 'second.flac', 'succeeded'],
      ['20990101-000001-aaaaaaaa', 'first.wav', 'succeeded'],
    ]);
    expect(Date.parse(ours[0].stoppedAt!)).toBeGreaterThanOrEqual(Date.parse(ours[0].startedAt));
    const startTimes = runs.map((run) => run.startedAt);
    expect(startTimes).toEqual([...startTimes].sort().reverse());
  });
});
