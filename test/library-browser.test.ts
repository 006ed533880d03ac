/**
 * The library in a real browser against `npm start` with an access token: three songs captioned by the
 * pipeline, "Similar songs" with reasons on a result page, search and a tempo filter on the home page, deleting
 * a song from the library, and the API's answers over HTTP (401 without the token, 400 for a bad filter, the
 * CLI's delete through the site).
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { keys } from '#core/contract';
import { SESSION_COOKIE, sessionValue } from '../frontend/lib/access.ts';
import type { RuntimeAnnouncement } from '../runtime/main.ts';
import { deleteRunThroughSite } from '../runtime/delete-run.ts';
import { makeSong, tempDir } from './helpers/audio.ts';
import { launchBrowser, screenshotPath, startApp, type StartedApp } from './helpers/browser.ts';

const TOKEN = 'library-browser-token';
const dir = tempDir('library-browser-');
const SONGS = [
  { id: '20990401-000001-aaaaaaaa', name: 'steady groove.wav', bpm: 120, gainDb: 0 },
  { id: '20990401-000002-bbbbbbbb', name: 'nudged groove.wav', bpm: 126, gainDb: 0 },
  { id: '20990401-000003-cccccccc', name: 'slow and quiet.wav', bpm: 84, gainDb: -14 },
];

let app: StartedApp;
let browser: Browser;
let context: BrowserContext;
let s3: S3Client;
let bucket: string;

beforeAll(async () => {
  [app, browser] = await Promise.all([startApp({ ACCESS_TOKEN: TOKEN }), launchBrowser()]);
  const runtime = JSON.parse(readFileSync(path.join(app.dataDir, 'runtime.json'), 'utf8')) as RuntimeAnnouncement;
  s3 = new S3Client({ region: runtime.region, endpoint: runtime.s3Endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  bucket = runtime.bucket;
  for (const song of SONGS) {
    const file = makeSong(path.join(dir, song.name), 12, { bpm: song.bpm, gainDb: song.gainDb });
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: keys.upload(song.id, song.name), Body: readFileSync(file) }));
  }
  const deadline = Date.now() + 120_000;
  for (const song of SONGS) {
    while (!(await s3.send(new GetObjectCommand({ Bucket: bucket, Key: keys.result(song.id) })).catch(() => undefined))) {
      if (Date.now() > deadline) throw new Error(`${song.id} did not finish:\n${app.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.addCookies([{ name: SESSION_COOKIE, value: await sessionValue(TOKEN), url: app.siteUrl }]);
}, 400_000);
/** Asks `read` until `accept` holds (the page answers after a debounce and a request), then returns the value. */
async function until<T>(read: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (accept(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

afterAll(async () => {
  await browser?.close();
  await app?.stop();
});

describe('Similar songs', () => {
  it('lists the nearest songs on a result page, nearest first, each with its reason', async () => {
    const page = await context.newPage();
    await page.goto(`${app.siteUrl}/runs/${SONGS[0].id}`);
    const rows = page.getByTestId('similar-song');
    await rows.first().waitFor({ timeout: 60_000 });
    expect(await rows.count()).toBe(2);
    const first = await rows.nth(0).innerText();
    expect(first).toContain('nudged groove.wav');
    expect(first).toMatch(/same key, \d+ BPM faster/);
    expect(await rows.nth(1).innerText()).toContain('slow and quiet.wav');
    // Every name is shown whole in the side column, not cut to nothing by its reason.
    const names = await rows.locator('.run-row__name').evaluateAll((spans) => spans.map((span) => ({ text: span.textContent, shown: span.clientWidth, needed: span.scrollWidth })));
    for (const name of names) expect(name.shown).toBeGreaterThanOrEqual(name.needed);
    await page.screenshot({ path: screenshotPath('library-similar.png'), fullPage: true });
    await rows.nth(0).click();
    await page.waitForURL(new RegExp(`/runs/${SONGS[1].id}$`));
    await page.close();
  });
});

describe('the library on the home page', () => {
  it('searches by file name, filters by tempo, and deletes a song', async () => {
    const page = await context.newPage();
    await page.goto(app.siteUrl);
    const rows = page.getByTestId('library-row');
    expect(await until(() => rows.count(), (n) => n === 3, 30_000)).toBe(3);

    // Typing before React has hydrated the form would be lost.
    await page.waitForFunction(`(() => { const e = document.querySelector('input[name=q]'); return !!e && Object.keys(e).some((k) => k.startsWith('__reactProps')); })()`);
    await page.getByRole('searchbox', { name: /Search/ }).fill('groove.wav');
    expect(await until(() => rows.count(), (n) => n === 2)).toBe(2);
    await page.getByLabel('Tempo from (BPM)').fill('123');
    const texts = await until(() => rows.allInnerTexts(), (all) => all.length === 1);
    expect(texts).toEqual([expect.stringContaining('nudged groove.wav')]);
    await page.screenshot({ path: screenshotPath('library-search.png'), fullPage: true });

    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Delete nudged groove.wav' }).click();
    expect(await until(() => rows.count(), (n) => n === 0)).toBe(0);
    await page.getByLabel('Tempo from (BPM)').fill('');
    await page.getByRole('searchbox', { name: /Search/ }).fill('');
    expect(await until(() => rows.count(), (n) => n === 2)).toBe(2);
    const left = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `uploads/${SONGS[1].id}/` }));
    expect(left.Contents ?? []).toEqual([]);
    await page.close();
  });
});

describe('the library API over HTTP', () => {
  it('needs the access token, names a bad filter, and lets the CLI delete through the site with the token', async () => {
    expect((await fetch(`${app.siteUrl}/api/runs/${SONGS[2].id}`, { method: 'DELETE' })).status).toBe(401);
    expect((await fetch(`${app.siteUrl}/api/runs?q=groove.wav`)).status).toBe(401);
    const bad = await fetch(`${app.siteUrl}/api/runs?bpmMin=fast`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/bpmMin/);

    const deleted = await deleteRunThroughSite(app.siteUrl, SONGS[2].id, TOKEN);
    expect(deleted).toMatchObject({ ok: true, status: 200 });
    expect(deleted.deletedObjects).toBeGreaterThanOrEqual(5);
    expect(await deleteRunThroughSite(app.siteUrl, SONGS[2].id, TOKEN)).toMatchObject({ ok: false, status: 404 });
    const similar = await fetch(`${app.siteUrl}/api/runs/${SONGS[0].id}/similar`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(((await similar.json()) as { similar: unknown[] }).similar).toEqual([]);
  });
});
