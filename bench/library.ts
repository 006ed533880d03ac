/**
 * `npm run bench:library`: the library's answer time for 10 000 runs (issue 12 asks for ≤ 200 ms).
 *
 * It writes N synthetic library entries (default 10 000: tempos, keys, meters, loudness, brightness and
 * captions drawn from a seeded generator) into the embedded S3 as library/{id}.json, exactly as Summarize
 * writes them, and the index object as N Summarize steps leave it, then times what the site does per request
 * (core/library.ts's LibraryCache over the S3 store):
 *   - what one more Summarize step spends putting its run into the index object of N runs;
 *   - the first request of a fresh process (reads the index object), several fresh processes;
 *   - the first request of a process on a bucket with no index object (runs from before it): an answer over
 *     the runs read so far within the wait, and how long until the whole library is read;
 *   - searches, filters, tempo sort and deep pages, and "similar songs", on the loaded library — once with the
 *     site's settings (a background refresh every 30 s) and once with a refresh always under way (the worst
 *     case: the embedded S3 lists 10 000 keys in the site's own process);
 *   - one full refresh (listing library/ and results/), which a request never waits for beyond the budget.
 *
 * Options: --runs N, --rounds N (requests per kind, default 40).
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { keys } from '../core/contract.ts';
import { PITCH_NAMES } from '../core/descriptors/key.ts';
import type { Meter } from '../core/descriptors/types.ts';
import { DeleteObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { addToLibraryIndex, LibraryCache, parseLibraryQuery, refreshLibrary, LibraryIndex, updateLibraryIndexObject, type LibraryEntry } from '../core/library.ts';
import { createS3Client } from '../functions/shared/s3-store.ts';
import { startRuntime } from '../runtime/main.ts';
import { s3LibraryStore } from '../functions/shared/library-store.ts';

const BUDGET_MS = 200;
const { values } = parseArgs({ options: { runs: { type: 'string', default: '10000' }, rounds: { type: 'string', default: '40' } } });
const runs = Number(values.runs);
const rounds = Number(values.rounds);

/** Mulberry32: a small seeded generator, so every bench run builds the same library. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ['guitar', 'piano', 'synth', 'drums', 'bass', 'vocals', 'strings', 'ambient', 'upbeat', 'melancholic', 'electronic', 'acoustic', 'driving', 'calm', 'brass', 'choir', 'lofi', 'techno', 'jazz', 'folk'];
const METERS: Meter[] = ['4/4', '4/4', '4/4', '4/4', '3/4', '6/8', '2/4', '12/8'];

function syntheticEntry(i: number, random: () => number): LibraryEntry {
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)];
  const caption = () => `A ${pick(WORDS)} piece with ${pick(WORDS)} and ${pick(WORDS)}, ${pick(WORDS)} feel.`;
  const id = `20260101-${String(i).padStart(6, '0')}-${Math.floor(random() * 36 ** 6).toString(36).padStart(8, '0')}`;
  return {
    version: 1,
    id,
    fileName: `track ${i} ${pick(WORDS)}.mp3`,
    createdAt: new Date(Date.UTC(2026, 0, 1) + i * 3_600_000).toISOString(),
    durationSec: 60 + random() * 300,
    bpm: random() < 0.05 ? null : Math.round((60 + random() * 120) * 10) / 10,
    key: random() < 0.05 ? null : `${pick(PITCH_NAMES)} ${random() < 0.5 ? 'major' : 'minor'}`,
    meter: pick(METERS),
    loudnessLufs: -25 + random() * 19,
    spectralCentroidHz: 500 + random() * 4500,
    percussiveRatio: random() * 0.7,
    onsetsPerSec: random() * 8,
    crestDb: 6 + random() * 14,
    loudnessRangeLu: random() * 15,
    centroidSpreadOctaves: random() * 0.8,
    summary: caption(),
    captionText: Array.from({ length: 12 }, caption).join(' '),
  };
}

function stats(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return `p50 ${at(0.5).toFixed(1)} ms, p95 ${at(0.95).toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms`;
}

async function timed<T>(work: () => Promise<T> | T): Promise<[T, number]> {
  const start = performance.now();
  const value = await work();
  return [value, performance.now() - start];
}

async function main() {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bench-library-'));
  const runtime = await startRuntime({ DATA_DIR: dataDir, PORT: '0', SITE: 'off' }, () => undefined);
  try {
    const client = createS3Client({ AWS_REGION: runtime.region, S3_ENDPOINT: runtime.s3Endpoint });
    const store = s3LibraryStore(client, runtime.bucket);
    const random = seeded(12);
    const entries = Array.from({ length: runs }, (_, i) => syntheticEntry(i, random));

    const [, writeMs] = await timed(async () => {
      let next = 0;
      await Promise.all(
        Array.from({ length: 32 }, async () => {
          while (next < entries.length) {
            const entry = entries[next++];
            await client.send(new PutObjectCommand({ Bucket: runtime.bucket, Key: keys.libraryEntry(entry.id), Body: JSON.stringify(entry), ContentType: 'application/json' }));
          }
        }),
      );
    });
    console.log(`library of ${runs} runs written to the embedded S3 in ${(writeMs / 1000).toFixed(1)} s`);

    const queries = [
      'q=piano',
      'q=driving%20techno&sort=tempo',
      'bpmMin=118&bpmMax=124&sort=tempo-desc',
      'key=A%20minor&meter=4/4',
      'lufsMin=-12&lufsMax=-8&from=2026-03-01&to=2026-06-30',
      'sort=tempo&page=300',
      '',
    ];
    const ids = entries.map((entry) => entry.id);

    const measure = async (cache: LibraryCache, label: string) => {
      const searchMs: number[] = [];
      const similarMs: number[] = [];
      for (let round = 0; round < rounds; round++) {
        const query = parseLibraryQuery(new URLSearchParams(queries[round % queries.length]));
        searchMs.push((await timed(async () => (await cache.current()).query(query)))[1]);
        const id = ids[Math.floor(random() * ids.length)];
        similarMs.push((await timed(async () => (await cache.entry(id)) && cache.index.similar(id)))[1]);
        // Requests arrive a little apart, as people's do.
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      const worst = Math.max(...searchMs, ...similarMs);
      console.log(`${label}:`);
      console.log(`  search/filter/sort/page  ${stats(searchMs)}`);
      console.log(`  similar songs            ${stats(similarMs)}`);
      return worst;
    };

    // The index object as N Summarize steps leave it (each adds its run; here all at once).
    const [, buildMs] = await timed(() =>
      updateLibraryIndexObject(store, (held) => {
        for (const entry of entries) held.set(entry.id, entry);
        return true;
      }),
    );
    const objectBytes = (await store.readVersioned(keys.librarySnapshot))!.text.length;
    const storedBytes = (await client.send(new HeadObjectCommand({ Bucket: runtime.bucket, Key: keys.librarySnapshot }))).ContentLength ?? 0;
    console.log(`index object of ${runs} runs: ${(objectBytes / 1e6).toFixed(1)} MB of JSON, ${(storedBytes / 1e6).toFixed(1)} MB stored (gzip), written in ${buildMs.toFixed(0)} ms`);
    const summarizeMs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const extra = syntheticEntry(runs + i, random);
      await client.send(new PutObjectCommand({ Bucket: runtime.bucket, Key: keys.libraryEntry(extra.id), Body: JSON.stringify(extra), ContentType: 'application/json' }));
      summarizeMs.push((await timed(() => addToLibraryIndex(store, extra)))[1]);
    }
    console.log(`one Summarize step putting its run into it: ${stats(summarizeMs)}`);

    const firstMs: number[] = [];
    let siteCache = new LibraryCache(store);
    for (let i = 0; i < 5; i++) {
      siteCache = new LibraryCache(store);
      const [page, ms] = await timed(() => siteCache.query(parseLibraryQuery(new URLSearchParams(''))));
      if (page.loading || page.total < runs) throw new Error(`a fresh process answered over ${page.total} runs, not ${runs}`);
      firstMs.push(ms);
      // One site process at a time: the next starts once this one's background refresh is over.
      await siteCache.settled();
    }
    console.log(`first request of a fresh process (reads the index object), 5 processes: ${stats(firstMs)}`);

    // A bucket whose runs are older than the index object: the library is read run by run.
    await client.send(new DeleteObjectCommand({ Bucket: runtime.bucket, Key: keys.librarySnapshot }));
    const legacy = new LibraryCache(store);
    const [early, legacyFirstMs] = await timed(() => legacy.query(parseLibraryQuery(new URLSearchParams(''))));
    const [, wholeMs] = await timed(() => legacy.settled());
    const shown = early.loading ? `over the ${early.loading.read} runs read so far${early.loading.listed === undefined ? ' (still listing the bucket)' : ` of ${early.loading.listed}`}, saying so` : `over all ${early.total} runs`;
    console.log(`first request with no index object (runs from before it): ${legacyFirstMs.toFixed(0)} ms, ${shown}; the whole library read ${((legacyFirstMs + wholeMs) / 1000).toFixed(1)} s after it, and the index object written`);
    const coldMs = Math.max(...firstMs, legacyFirstMs);
    const worstSite = await measure(siteCache, `answers on the loaded library, the site's settings (a background refresh every 30 s), ${rounds} requests each`);

    // While a refresh lists the bucket, the embedded S3 shares the process: answers during one are slower.
    const eagerCache = new LibraryCache(store, { refreshMs: 0 });
    await eagerCache.current();
    const worstEager = await measure(eagerCache, `answers while a background refresh is always running (the worst case), ${rounds} requests each`);

    const [, refreshMs] = await timed(() => refreshLibrary(store, siteCache.index));
    const [, indexMs] = await timed(() => {
      const index = new LibraryIndex();
      for (const entry of entries) index.upsert(entry);
    });
    console.log(`one refresh of ${runs} keys (in the background): ${refreshMs.toFixed(0)} ms; building the index in memory: ${indexMs.toFixed(0)} ms`);
    // The verdict is for the site's settings; the refresh-every-request case is printed to show the budget's margin.
    const worst = Math.max(worstSite, coldMs);
    console.log(
      `slowest answer with the site's settings, first requests included, ${worst.toFixed(1)} ms against the ${BUDGET_MS} ms budget: ${worst <= BUDGET_MS ? 'within' : 'OVER'} (refreshing on every request: ${worstEager.toFixed(1)} ms)`,
    );
    process.exitCode = worst <= BUDGET_MS ? 0 : 1;
  } finally {
    await runtime.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
