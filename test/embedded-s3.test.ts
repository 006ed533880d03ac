/**
 * The embedded S3 (s3rver in its own process) as the SDK sees it: ListObjectsV2 pages past 1000 keys with
 * continuation tokens, conditional writes answer 412 as S3 does, a GET during a replacement serves one version
 * whole, and events arrive with S3's key encoding.
 */
import { GetObjectCommand, paginateListObjectsV2, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import http from 'node:http';
import path from 'node:path';
import { keys } from '#core/contract';
import { addToLibraryIndex, type LibraryEntry, type LibrarySnapshot } from '#core/library';
import { startEmbeddedS3, type EmbeddedS3 } from '#runtime/s3';
import { s3IndexObjects } from '../functions/shared/library-store.ts';
import type { S3EventLike } from '../functions/start/start.ts';
import { tempDir } from './helpers/audio.ts';

describe('the embedded S3', () => {
  let s3: EmbeddedS3;
  let client: S3Client;
  const events: S3EventLike[] = [];

  beforeAll(async () => {
    s3 = await startEmbeddedS3({ directory: path.join(tempDir('embedded-s3-'), 's3'), port: 0, bucket: 'bucket', onEvent: (event) => events.push(event) });
    client = new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  });
  afterAll(async () => {
    client?.destroy();
    await s3?.close();
  });

  it('lists 1001 keys with ListObjectsV2 through the SDK paginator, page after page with continuation tokens', async () => {
    const written = Array.from({ length: 1001 }, (_, i) => `many/${String(i).padStart(4, '0')}.json`);
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < written.length) await client.send(new PutObjectCommand({ Bucket: 'bucket', Key: written[next++], Body: '{}' }));
      }),
    );

    const pages: number[] = [];
    const listed: string[] = [];
    for await (const page of paginateListObjectsV2({ client, pageSize: 400 }, { Bucket: 'bucket', Prefix: 'many/' })) {
      pages.push(page.Contents?.length ?? 0);
      for (const item of page.Contents ?? []) listed.push(item.Key!);
    }

    expect(pages).toEqual([400, 400, 201]);
    expect(listed).toEqual(written);
  });

  it('refuses a conditional write whose condition does not hold with 412 PreconditionFailed, and allows one that holds', async () => {
    const Key = 'conditional/index.json';
    const created = await client.send(new PutObjectCommand({ Bucket: 'bucket', Key, Body: 'first', IfNoneMatch: '*' }));
    await expect(client.send(new PutObjectCommand({ Bucket: 'bucket', Key, Body: 'not created twice', IfNoneMatch: '*' }))).rejects.toMatchObject({
      name: 'PreconditionFailed',
      $metadata: { httpStatusCode: 412 },
    });

    const replaced = await client.send(new PutObjectCommand({ Bucket: 'bucket', Key, Body: 'second', IfMatch: created.ETag }));
    // The ETag read before the replacement no longer matches: a writer that read 'first' must read again.
    await expect(client.send(new PutObjectCommand({ Bucket: 'bucket', Key, Body: 'stale', IfMatch: created.ETag }))).rejects.toMatchObject({
      name: 'PreconditionFailed',
    });
    await expect(client.send(new PutObjectCommand({ Bucket: 'bucket', Key: 'conditional/absent.json', Body: 'x', IfMatch: created.ETag }))).rejects.toMatchObject({
      name: 'PreconditionFailed',
    });

    const stored = await client.send(new GetObjectCommand({ Bucket: 'bucket', Key }));
    expect(await stored.Body!.transformToString()).toBe('second');
    expect(stored.ETag).toBe(replaced.ETag);
  });

  it('lets exactly one of many concurrent If-Match writes of the same version through', async () => {
    const Key = 'conditional/raced.json';
    const { ETag } = await client.send(new PutObjectCommand({ Bucket: 'bucket', Key, Body: 'base' }));
    const outcomes = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => client.send(new PutObjectCommand({ Bucket: 'bucket', Key, Body: `writer ${i}`, IfMatch: ETag }))),
    );
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome.status === 'rejected').map((outcome) => (outcome as PromiseRejectedResult).reason.name)).toEqual(
      Array(7).fill('PreconditionFailed'),
    );
  });

  it("keeps every run of twenty writers updating the library's index object at once (as concurrent Summarize steps do)", async () => {
    const store = s3IndexObjects(client, 'bucket');
    const entryOf = (i: number): LibraryEntry => ({
      version: 1, id: `run-${i}`, fileName: `song ${i}.mp3`, createdAt: new Date().toISOString(), durationSec: 60, bpm: 100 + i, key: 'C major', meter: '4/4',
      loudnessLufs: -12, spectralCentroidHz: 1500, percussiveRatio: 0.3, onsetsPerSec: 3, crestDb: 12, loudnessRangeLu: 5, centroidSpreadOctaves: 0.2, summary: '', captionText: '',
    });
    await Promise.all(Array.from({ length: 20 }, (_, i) => addToLibraryIndex(store, entryOf(i))));
    const stored = await store.readVersioned(keys.librarySnapshot);
    const ids = (JSON.parse(stored!.text) as LibrarySnapshot).entries.map((entry) => entry.id).sort();
    expect(ids).toEqual(Array.from({ length: 20 }, (_, i) => `run-${i}`).sort());
  });

  it("stores the index object gzip-compressed and reads a large one back whole, and still reads one written uncompressed before", async () => {
    const store = s3IndexObjects(client, 'bucket');
    // Several MB of text that does not compress to nothing: the inflating stream yields it in many chunks.
    const words = Array.from({ length: 400_000 }, (_, i) => (i * 2_654_435_761 >>> 0).toString(36)).join(' ');
    const body = JSON.stringify({ version: 1, entries: [], words });
    expect(await store.putIfVersion('index/large', body, undefined)).toBe(true);
    const raw = await client.send(new GetObjectCommand({ Bucket: 'bucket', Key: 'index/large' }));
    const bytes = await raw.Body!.transformToByteArray();
    expect(raw.ContentType).toBe('application/gzip');
    expect([bytes[0], bytes[1]]).toEqual([0x1f, 0x8b]);
    expect(bytes.length).toBeLessThan(body.length);
    expect((await store.readVersioned('index/large'))!.text).toBe(body);

    await client.send(new PutObjectCommand({ Bucket: 'bucket', Key: 'index/plain', Body: body, ContentType: 'application/json' }));
    expect((await store.readVersioned('index/plain'))!.text).toBe(body);
    expect(await store.readVersioned('index/none')).toBeUndefined();
  });

  it('never serves a body cut to another version\'s length while the object is being replaced', async () => {
    // Versions of very different lengths, written over one another while readers read: each GET must be one
    // version, whole (s3rver alone took the length from one version and the bytes from the next).
    const versions = [Buffer.alloc(300, 'a'), Buffer.alloc(400_000, 'b'), Buffer.alloc(5_000, 'c')];
    const key = 'torn/object';
    await client.send(new PutObjectCommand({ Bucket: 'bucket', Key: key, Body: versions[0] }));
    let writing = true;
    const writer = (async () => {
      for (let i = 1; i <= 30; i++) await client.send(new PutObjectCommand({ Bucket: 'bucket', Key: key, Body: versions[i % versions.length] }));
      writing = false;
    })();
    const bad: string[] = [];
    let reads = 0;
    const reader = async () => {
      while (writing) {
        const answer = await client.send(new GetObjectCommand({ Bucket: 'bucket', Key: key }));
        const body = Buffer.from(await answer.Body!.transformToByteArray());
        reads++;
        if (!versions.some((version) => version.equals(body))) bad.push(`${body.length} bytes starting ${body.subarray(0, 1).toString()}`);
      }
    };
    await Promise.all([writer, reader(), reader(), reader()]);
    expect(reads).toBeGreaterThan(10);
    expect(bad).toEqual([]);
  });

  it('reports a new object as an S3 event with its key URL-encoded as S3 does', async () => {
    await client.send(new PutObjectCommand({ Bucket: 'bucket', Key: 'uploads/id/my song.mp3', Body: 'x' }));
    const deadline = Date.now() + 5000;
    const isMine = (event: S3EventLike) => event.Records?.some((record) => record.s3.object.key === 'uploads/id/my+song.mp3');
    while (!events.some(isMine) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(events.some(isMine)).toBe(true);
  });
});

describe("the embedded S3's uploads in turn", () => {
  let s3: EmbeddedS3;
  const turns = { keyPrefix: 'uploads/', slots: 1, maxWaitMs: 1500 };

  beforeAll(async () => {
    s3 = await startEmbeddedS3({ directory: path.join(tempDir('embedded-s3-turns-'), 's3'), port: 0, bucket: 'bucket', onEvent: () => undefined, uploadTurns: turns });
  });
  afterAll(async () => {
    await s3?.close();
  });

  /** A PUT whose body arrives in two halves `pauseMs` apart (a person on a slow line); resolves when it is answered. */
  function put(key: string, pauseMs = 0): Promise<{ status: number; at: number }> {
    const half = Buffer.alloc(256 * 1024, 7);
    return new Promise((resolve, reject) => {
      const request = http.request(`${s3.endpoint}/bucket/${key}`, { method: 'PUT', headers: { 'Content-Length': half.length * 2 } }, (answer) => {
        answer.resume().on('end', () => resolve({ status: answer.statusCode!, at: performance.now() }));
      });
      request.on('error', reject);
      request.write(half);
      setTimeout(() => request.end(half), pauseMs);
    });
  }

  it('reads people\'s uploads oldest first, while the pipeline\'s own writes go straight through', async () => {
    // The first upload's second half comes 800 ms later, well within the second's longest wait (margins for a busy CI machine).
    const first = put('uploads/a/first.mp3', 800);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const [second, window] = [put('uploads/b/second.mp3'), put('chunks/a/windows/00000.npy')];
    const done = await Promise.all([first, second, window]);
    expect(done.map((answer) => answer.status)).toEqual([200, 200, 200]);
    // The second upload waited for the first to be in; the window, under no upload prefix, did not wait.
    expect(done[1].at).toBeGreaterThanOrEqual(done[0].at);
    expect(done[2].at).toBeLessThan(done[0].at);
  });

  it('lets an upload go ahead once it has waited its longest, so a stalled one holds nobody up for more', async () => {
    const started = performance.now();
    const stalled = put('uploads/c/stalled.mp3', 4000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const next = await put('uploads/d/next.mp3');
    expect(next.status).toBe(200);
    expect(next.at - started).toBeGreaterThanOrEqual(turns.maxWaitMs);
    expect(next.at - started).toBeLessThan(3800);
    expect((await stalled).status).toBe(200);
  });
});
