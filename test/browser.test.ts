/**
 * The site in a real browser against `npm start`: upload a generated song and watch it through, read the
 * captions and the summary, download the SRT; a file that is not audio; the instant client-side check; the
 * microphone recorder; the recent runs. Screenshots go to SCREENSHOT_DIR.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { ResultDocument } from '#core/contract';
import { formatClock } from '#core/run-steps';
import { toSrt } from '#core/subtitles';
import { makeSong, tempDir } from './helpers/audio.ts';
import { launchBrowser, screenshotPath, startApp, type StartedApp } from './helpers/browser.ts';

let app: StartedApp;
let browser: Browser;
const dir = tempDir('browser-audio-');

beforeAll(async () => {
  [app, browser] = await Promise.all([startApp(), launchBrowser()]);
}, 300_000);
afterAll(async () => {
  await browser?.close();
  await app?.stop();
});

async function newPage(width = 1280, height = 900): Promise<Page> {
  const context = await browser.newContext({ viewport: { width, height }, acceptDownloads: true });
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error(`[browser] ${error.message}`));
  return page;
}

async function upload(page: Page, file: string): Promise<string> {
  await page.goto(app.siteUrl);
  await page.setInputFiles('input[type=file]', file);
  await page.waitForURL(/\/runs\/[a-z0-9-]+$/, { timeout: 30_000 });
  return new URL(page.url()).pathname.split('/').pop()!;
}

const step = (page: Page, name: string) => page.getByTestId(`step-${name}`);

describe('the site in a browser', () => {
  it('uploads a song, shows every step succeed, then the captions, the summary and an SRT to download', async () => {
    // Prepare
    const song = makeSong(path.join(dir, 'Evening Song.mp3'), 25, { bpm: 96 });
    const page = await newPage();

    // Act
    const id = await upload(page, song);
    for (const name of ['Preprocess', 'Caption', 'Summarize']) {
      await page.waitForSelector(`[data-testid="step-${name}"][data-status="succeeded"]`, { timeout: 60_000 });
    }
    await page.getByTestId('summary').waitFor();
    const result = (await (await page.request.get(`${app.siteUrl}/api/runs/${id}/captions/json`)).json()) as ResultDocument;
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'SRT' }).click()]);
    const srt = readFileSync((await download.path())!, 'utf8');
    await page.screenshot({ path: screenshotPath('result-desktop.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: screenshotPath('result-phone.png'), fullPage: true });

    // Assess
    await expect(step(page, 'Upload').getAttribute('data-status')).resolves.toBe('succeeded');
    await expect(step(page, 'Upload').locator('.step__duration').textContent()).resolves.toMatch(/^\d+(\.\d)? m?s$/);
    expect(result).toMatchObject({ id, status: 'SUCCEEDED', file: { name: 'Evening-Song.mp3' } });
    expect(result.chunks).toHaveLength(3);
    const captions = await page.getByTestId('chunk-caption').allTextContents();
    expect(captions).toEqual(result.chunks.map((chunk) => chunk.caption));
    expect(captions.every((caption) => caption.trim().length > 0)).toBe(true);
    for (const chunk of result.chunks) {
      await expect(page.getByText(`${formatClock(chunk.startSec)}–${formatClock(chunk.endSec)}`, { exact: true }).count()).resolves.toBe(1);
    }
    await expect(page.getByTestId('summary').textContent()).resolves.toBe(result.summary.text);
    expect(srt).toBe(toSrt(result));
    expect(download.suggestedFilename()).toBe(`${id}.srt`);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Evening-Song.mp3');
    await expect(page.locator('audio track').getAttribute('src')).resolves.toBe(`/api/runs/${id}/captions/vtt`);
  });

  it('seeks the player when a window is chosen on the timeline and highlights the playing window', async () => {
    // Prepare
    const song = makeSong(path.join(dir, 'seek.wav'), 21);
    const page = await newPage();
    await upload(page, song);
    await page.waitForSelector('[data-testid="step-Summarize"][data-status="succeeded"]', { timeout: 60_000 });
    await page.locator('audio').evaluate((audio: HTMLAudioElement) => {
      audio.muted = true;
      return new Promise((resolve) => (audio.readyState >= 1 ? resolve(null) : audio.addEventListener('loadedmetadata', resolve, { once: true })));
    });

    // Act
    await page.getByRole('button', { name: 'Play from 0:10' }).click();
    await page.waitForFunction(() => (document.querySelector('audio') as HTMLAudioElement).currentTime >= 10);

    // Assess
    const current = page.locator('.caption[aria-current="true"]');
    await current.waitFor();
    await expect(current.locator('.caption__time').textContent()).resolves.toBe('0:10–0:20');
    await expect(page.getByRole('button', { name: 'Play from 0:10' }).getAttribute('aria-current')).resolves.toBe('true');
  });

  it('shows a file that is not audio failing at Preprocess, with the error and its sentence', async () => {
    // Prepare
    const notAudio = path.join(dir, 'holiday-notes.mp3');
    writeFileSync(notAudio, 'Pack: sunscreen, hat, the good headphones.\n'.repeat(40));
    const page = await newPage();

    // Act
    await upload(page, notAudio);
    await page.waitForSelector('[data-testid="step-Preprocess"][data-status="failed"]', { timeout: 60_000 });

    // Assess
    const failure = page.locator('.callout--error');
    await failure.waitFor();
    const status = (await (await page.request.get(`${app.siteUrl}/api/runs/${new URL(page.url()).pathname.split('/').pop()}`)).json()) as {
      error: { name: string; message: string; step: string };
    };
    expect(status.error.step).toBe('Preprocess');
    expect(status.error.message.length).toBeGreaterThan(10);
    await expect(failure.textContent()).resolves.toContain(status.error.name);
    await expect(failure.textContent()).resolves.toContain(status.error.message);
    await expect(step(page, 'Preprocess').textContent()).resolves.toContain(status.error.message);
    await expect(step(page, 'Caption').getAttribute('data-status')).resolves.toBe('pending');
    await expect(step(page, 'Summarize').getAttribute('data-status')).resolves.toBe('pending');
    await page.screenshot({ path: screenshotPath('failed-run.png'), fullPage: true });
  });

  it('refuses a text file at once, without uploading it', async () => {
    // Prepare
    const notes = path.join(dir, 'notes.txt');
    writeFileSync(notes, 'not a song');
    const page = await newPage();
    await page.goto(app.siteUrl);

    // Act
    await page.setInputFiles('input[type=file]', notes);

    // Assess
    await expect(page.locator('.dropzone').getByRole('alert').textContent()).resolves.toContain('“notes.txt” does not look like audio');
    expect(new URL(page.url()).pathname).toBe('/');
  });

  it('records from the microphone and captions the recording', async () => {
    // Prepare
    const page = await newPage();
    await page.goto(app.siteUrl);

    // Act
    await page.getByRole('button', { name: 'Record' }).click();
    await page.getByText('Recording 0:02').waitFor({ timeout: 10_000 });
    await page.getByRole('button', { name: 'Stop and caption' }).click();
    await page.waitForURL(/\/runs\//, { timeout: 30_000 });
    await page.waitForSelector('[data-testid="step-Summarize"][data-status="succeeded"]', { timeout: 60_000 });

    // Assess
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toMatch(/^recording-\d{4}-\d{2}-\d{2}-\d{6}\.(webm|ogg)$/);
    await expect(page.getByTestId('chunk-caption').count()).resolves.toBe(1);
  });

  it('lists the runs on the home page with file name and status, newest first', async () => {
    // Prepare
    const page = await newPage();

    // Act
    await page.goto(app.siteUrl);

    // Assess
    const rows = page.locator('.run-row');
    const names = await page.locator('.run-row__name').allTextContents();
    expect(names).toEqual(expect.arrayContaining(['Evening-Song.mp3', 'holiday-notes.mp3']));
    expect(names.indexOf('holiday-notes.mp3')).toBeLessThan(names.indexOf('Evening-Song.mp3'));
    await expect(rows.filter({ hasText: 'holiday-notes.mp3' }).locator('.pill').textContent()).resolves.toBe('Failed');
    await expect(rows.filter({ hasText: 'Evening-Song.mp3' }).locator('.pill').textContent()).resolves.toBe('Done');
    await page.screenshot({ path: screenshotPath('home.png'), fullPage: true });
  });
});
