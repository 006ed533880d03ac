/**
 * The library's API on the embedded runtime: real runs through the pipeline, the site's data layer that the
 * route handlers delegate to in one call, the embedded S3 underneath. Search and filters, similar songs with
 * reasons, the backfill of a run that has no library entry, deleting a run. (The handlers themselves read
 * Next's cookies(), which needs Next's request scope: their HTTP answers and the access token are checked
 * against `npm start` in library-browser.test.ts.)
 */
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import path from 'node:path';
import { keys, type ResultDocument } from '#core/contract';
import type { LibraryPage, LibrarySnapshot } from '#core/library';
import { s3IndexObjects } from '../functions/shared/library-store.ts';
import { makeSong, tempDir } from './helpers/audio.ts';
import { bootRuntime, type TestRuntime } from './helpers/runtime.ts';
import { deleteRunInBucket } from '../runtime/delete-run.ts';

// The site's modules refuse to load outside a React server bundle; here they run in Node as the route handlers do.
jest.mock('server-only', () => ({}), { virtual: true });

const dir = tempDir('library-api-');
let runtime: TestRuntime;
let site: typeof import('../frontend/lib/server/library.ts');

const RUNS = {
  steady: { id: '20990301-000001-aaaaaaaa', name: 'steady groove.wav', bpm: 120, gainDb: 0 },
  nudged: { id: '20990301-000002-bbbbbbbb', name: 'nudged groove.wav', bpm: 126, gainDb: 0 },
  slow: { id: '20990301-000003-cccccccc', name: 'slow and quiet.wav', bpm: 84, gainDb: -14 },
};

beforeAll(async () => {
  runtime = await bootRuntime();
  Object.assign(process.env, {
    BUCKET: runtime.bucket,
    AWS_REGION: runtime.region,
    STATE_MACHINE_ARN: runtime.stateMachineArn,
    S3_ENDPOINT: runtime.s3Endpoint,
    SFN_ENDPOINT: runtime.sfnEndpoint,
  });
  site = await import('../frontend/lib/server/library.ts');
  for (const run of Object.values(RUNS)) {
    await runtime.upload(run.id, makeSong(path.join(dir, run.name), 12, { bpm: run.bpm, gainDb: run.gainDb }), run.name);
    await runtime.settle(run.id, 60_000);
  }
}, 180_000);
afterAll(async () => {
  await runtime?.stop();
});

const search = (query: string): Promise<LibraryPage> => site.searchLibrary(new URLSearchParams(query));

describe('the index object', () => {
  it('holds every finished run, put there by Summarize, so a fresh site answers from one read', async () => {
    const stored = await s3IndexObjects(runtime.s3, runtime.bucket).readVersioned(keys.librarySnapshot);
    const ids = (JSON.parse(stored!.text) as LibrarySnapshot).entries.map((entry) => entry.id).sort();
    expect(ids).toEqual(Object.values(RUNS).map((run) => run.id).sort());
  });
});

describe('GET /api/runs?…', () => {
  it('finds runs by words of their file names in any case, filters by tempo and loudness, sorts by tempo', async () => {
    expect((await search('q=groove.wav')).runs.map((run) => run.fileName).sort()).toEqual(['nudged groove.wav', 'steady groove.wav']);
    expect((await search(`q=${encodeURIComponent('SLOW quiet')}`)).runs.map((run) => run.id)).toEqual([RUNS.slow.id]);
    const everything = await search('sort=tempo');
    expect(everything.total).toBe(3);
    expect(everything.runs.map((run) => run.id)).toEqual([RUNS.slow.id, RUNS.steady.id, RUNS.nudged.id]);
    expect((await search('bpmMin=100&bpmMax=123')).runs.map((run) => run.id)).toEqual([RUNS.steady.id]);
    const loud = await search('lufsMin=-20');
    expect(loud.runs.map((run) => run.id)).not.toContain(RUNS.slow.id);
    expect((await search('pageSize=2&page=2&sort=date-asc')).runs.map((run) => run.id)).toEqual([RUNS.slow.id]);
  });

  it('refuses a parameter it cannot read with a 400 that names it', async () => {
    await expect(search('bpmMin=fast')).rejects.toMatchObject({ name: 'BadRequest', status: 400, message: expect.stringMatching(/bpmMin/) });
  });
});

describe('GET /api/runs/{id}/similar', () => {
  it('lists the nearest runs first, each with a reason in words', async () => {
    const { similar } = await site.similarRuns(RUNS.steady.id);
    expect(similar.map((run) => run.id)).toEqual([RUNS.nudged.id, RUNS.slow.id]);
    expect(similar[0].reason).toMatch(/same key/);
    expect(similar[0].reason).toMatch(/\d+ BPM faster/);
    expect(similar[1].reason).toMatch(/quieter/);
  });

  it('backfills the entry of a run that finished before the library existed, on first read', async () => {
    const fresh = `20990301-000004-dddddddd`;
    // A finished run whose result is there but whose entry never was: the result is copied under a new id, as
    // another recording (another file name: a second run of the same file is the same song, never listed as like
    // itself). (The run it copies keeps its entry: the site's background refresh may list the bucket at any moment,
    // and a run whose entry is gone is rightly a deleted run to it.)
    const result = (await runtime.result(RUNS.slow.id)) as ResultDocument;
    const copy = { ...result, id: fresh, file: { ...result.file, name: 'slow and quiet (take 2).wav' } };
    await runtime.s3.send(new PutObjectCommand({ Bucket: runtime.bucket, Key: keys.result(fresh), Body: JSON.stringify(copy) }));
    const { similar } = await site.similarRuns(fresh);
    expect(similar[0]).toMatchObject({ id: RUNS.slow.id, reason: expect.stringMatching(/^same key, same tempo, similar energy/) });
    const listed = await runtime.s3.send(new ListObjectsV2Command({ Bucket: runtime.bucket, Prefix: keys.libraryPrefix }));
    expect(listed.Contents?.map((object) => object.Key)).toEqual(expect.arrayContaining([keys.libraryEntry(fresh)]));
  });

  it('answers 404 for a run that is not in the library', async () => {
    await expect(site.similarRuns('20990301-000009-zzzzzzzz')).rejects.toMatchObject({ name: 'NotFound', status: 404 });
  });
});

describe('DELETE /api/runs/{id}', () => {
  it('removes every object the run left and takes it out of the library; a second delete finds nothing', async () => {
    const id = RUNS.nudged.id;
    const answer = await site.deleteRunFromSite(id);
    expect(answer.deletedObjects).toBeGreaterThanOrEqual(5);
    for (const prefix of [`uploads/${id}/`, keys.chunkPrefix(id), keys.captionPrefix(id), keys.result(id), keys.libraryEntry(id)]) {
      const left = await runtime.s3.send(new ListObjectsV2Command({ Bucket: runtime.bucket, Prefix: prefix }));
      expect(left.Contents ?? []).toEqual([]);
    }
    expect((await search('q=groove.wav')).runs.map((run) => run.id)).toEqual([RUNS.steady.id]);
    await expect(site.deleteRunFromSite(id)).rejects.toMatchObject({ name: 'NotFound', status: 404 });
  });

  it("from the CLI (deleteRunInBucket), removes the run straight from the bucket, the library's entry with it", async () => {
    const deleted = await deleteRunInBucket(runtime.s3, runtime.bucket, RUNS.steady.id);
    expect(deleted).toEqual(expect.arrayContaining([keys.result(RUNS.steady.id), keys.libraryEntry(RUNS.steady.id), `uploads/${RUNS.steady.id}/${RUNS.steady.name}`]));
    const left = await runtime.s3.send(new ListObjectsV2Command({ Bucket: runtime.bucket, Prefix: keys.libraryPrefix }));
    expect((left.Contents ?? []).map((object) => object.Key)).not.toContain(keys.libraryEntry(RUNS.steady.id));
    const stored = await s3IndexObjects(runtime.s3, runtime.bucket).readVersioned(keys.librarySnapshot);
    expect((JSON.parse(stored!.text) as LibrarySnapshot).entries.map((entry) => entry.id)).not.toContain(RUNS.steady.id);
    expect(await deleteRunInBucket(runtime.s3, runtime.bucket, RUNS.steady.id)).toEqual([]);
  });
});
