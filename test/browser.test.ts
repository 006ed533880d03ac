/**
 * The site in a real browser against `npm start`: upload a generated song and watch it through, read the
 * captions and the summary, download the SRT; the timeline (sections, loudness, beats, tempo and key) with
 * hand-made sections on a real run and on an hour-long result at phone width; a file that is not audio; the
 * instant client-side check; the microphone recorder; the recent runs. Every page is checked with axe-core.
 * Screenshots go to SCREENSHOT_DIR.
 */
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { ResultChunk, ResultDocument } from '#core/contract';
import type { SongSection } from '#core/descriptors/types';
import { formatClock } from '#core/run-steps';
import { toSrt, toWebVttChapters } from '#core/subtitles';
import type { RuntimeAnnouncement } from '../runtime/main.ts';
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
  await hydrated(page, '.dropzone .button--primary');
  await page.setInputFiles('input[type=file]', file);
  await page.waitForURL(/\/runs\/[a-z0-9-]+$/, { timeout: 30_000 });
  return new URL(page.url()).pathname.split('/').pop()!;
}

const step = (page: Page, name: string) => page.getByTestId(`step-${name}`);

const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's serious and critical violations on the page as it stands (evaluated over CDP, so the page's CSP does not apply). */
async function seriousViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE_SOURCE);
  // A string, not a function: the TypeScript loader would add helpers the page does not have.
  return page.evaluate(`axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => v.id + ' (' + v.impact + '): ' + v.nodes.map((n) => n.target.join(' ')).slice(0, 4).join(', ')))`) as Promise<string[]>;
}

/** The embedded runtime's storage, as the runtime announced it. */
function storage(): { s3: S3Client; bucket: string } {
  const runtime = JSON.parse(readFileSync(path.join(app.dataDir, 'runtime.json'), 'utf8')) as RuntimeAnnouncement;
  const s3 = new S3Client({ region: runtime.region, endpoint: runtime.s3Endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  return { s3, bucket: runtime.bucket };
}

/** Uploads through the site's API, as the page does, without opening the run page (so the site has not read the run yet). */
async function uploadThroughApi(file: string, contentType: string): Promise<string> {
  const body = readFileSync(file);
  const answer = await fetch(`${app.siteUrl}/api/uploads`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ fileName: path.basename(file), contentType, sizeBytes: body.length }),
  });
  const ticket = (await answer.json()) as { id: string; url: string; fields: Record<string, string> };
  const form = new FormData();
  for (const [name, value] of Object.entries(ticket.fields)) form.append(name, value);
  form.append('file', new Blob([body], { type: contentType }), path.basename(file));
  const posted = await fetch(ticket.url, { method: 'POST', body: form });
  expect(posted.status).toBeLessThan(300);
  return ticket.id;
}

/** Waits for the run's result document, then replaces it with `edit(result)`: a test double of data for the sections. */
async function rewriteResult(id: string, edit: (result: ResultDocument) => ResultDocument): Promise<ResultDocument> {
  const { s3, bucket } = storage();
  const deadline = Date.now() + 90_000;
  for (;;) {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `results/${id}.json` })).catch(() => undefined);
    if (object?.Body) {
      const edited = edit(JSON.parse(await object.Body.transformToString()) as ResultDocument);
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `results/${id}.json`, Body: JSON.stringify(edited), ContentType: 'application/json' }));
      return edited;
    }
    if (Date.now() > deadline) throw new Error(`results/${id}.json did not appear`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

function section(index: number, startSec: number, endSec: number, label: string, name: SongSection['name'] = null, energy = 0.8): SongSection {
  return { index, startSec, endSec, label, name, tags: { bpm: 96, key: 'A minor', loudnessLufs: -14 - index, energy, spectralCentroidHz: 1400 + 100 * index } };
}

/** Waits until React has hydrated `selector` (its event handlers are attached): on a busy machine that can lag the server's HTML by seconds. */
async function hydrated(page: Page, selector: string): Promise<void> {
  await page.waitForFunction(
    (target) => {
      const element = document.querySelector(target);
      return !!element && Object.keys(element).some((key) => key.startsWith('__reactProps'));
    },
    selector,
    { timeout: 30_000 },
  );
}

async function openSucceeded(page: Page, id: string): Promise<void> {
  await page.goto(`${app.siteUrl}/runs/${id}`);
  await page.waitForSelector('[data-testid="step-Summarize"][data-status="succeeded"]', { timeout: 90_000 });
  await page.getByTestId('summary').waitFor();
  await hydrated(page, '.caption__time');
}

async function mutedAndLoaded(page: Page): Promise<void> {
  await page.locator('audio').evaluate((audio: HTMLAudioElement) => {
    audio.muted = true;
    return new Promise((resolve) => (audio.readyState >= 1 ? resolve(null) : audio.addEventListener('loadedmetadata', resolve, { once: true })));
  });
}

const audioTime = (page: Page) => page.locator('audio').evaluate((audio: HTMLAudioElement) => audio.currentTime);

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
    const violations = await seriousViolations(page);
    await page.screenshot({ path: screenshotPath('result-desktop.png'), fullPage: true });
    await page.setViewportSize({ width: 360, height: 740 });
    await page.screenshot({ path: screenshotPath('result-phone.png'), fullPage: true });
    const phoneOverflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);

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
    expect(download.suggestedFilename()).toBe('Evening-Song.srt');
    await expect(page.title()).resolves.toBe('Evening-Song.mp3 · Music Captioner');
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Evening-Song.mp3');
    await expect(page.locator('audio track[kind="captions"]').getAttribute('src')).resolves.toBe(`/api/runs/${id}/captions/vtt`);
    // The timeline draws what the analysis measured: the loudness curve, and one band per section it found.
    await expect(page.getByTestId('loudness-curve').getAttribute('d')).resolves.toMatch(/^M0 \d+(L[\d.]+ [\d.]+){5,}/);
    expect(result.sections?.length).toBeGreaterThanOrEqual(1);
    await expect(page.getByTestId('section-band').count()).resolves.toBe(result.sections!.length);
    await expect(page.locator('audio track[kind="chapters"]').getAttribute('src')).resolves.toBe(`/api/runs/${id}/captions/chapters`);
    expect(violations).toEqual([]);
    expect(phoneOverflow).toBeLessThanOrEqual(0);
  });

  it('draws the sections the analysis found in a song, a silent break and the song again, and seeks to a band when it is clicked', async () => {
    // Prepare: 40 s of a song, 30 s of silence, the same 40 s again (the analysis labels it A B A).
    const song = makeSong(path.join(dir, 'half.wav'), 40, { bpm: 120 });
    const file = path.join(dir, 'Song Break Song.wav');
    execFileSync(process.env.FFMPEG_BIN || '/usr/bin/ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-i', song, '-f', 'lavfi', '-t', '30', '-i', 'anullsrc=r=44100:cl=stereo', '-i', song,
      '-filter_complex', '[0:a][1:a][2:a]concat=n=3:v=0:a=1[out]', '-map', '[out]', file]);
    const page = await newPage();
    const id = await upload(page, file);
    await openSucceeded(page, id);
    await mutedAndLoaded(page);
    const result = (await (await page.request.get(`${app.siteUrl}/api/runs/${id}/captions/json`)).json()) as ResultDocument;
    const sections = result.sections ?? [];
    const bands = page.getByTestId('section-band');

    // Act
    await bands.nth(1).click();
    await page.waitForFunction((start) => (document.querySelector('audio') as HTMLAudioElement).currentTime >= start, sections[1]?.startSec ?? 0);
    const afterBand = await audioTime(page);
    const labels = await bands.evaluateAll((elements) => elements.map((element) => element.getAttribute('data-label')));
    const colours = await bands.evaluateAll((elements) => elements.map((element) => getComputedStyle(element).backgroundColor));
    await page.screenshot({ path: screenshotPath('real-sections-desktop.png') });
    await page.setViewportSize({ width: 360, height: 740 });
    await page.screenshot({ path: screenshotPath('real-sections-phone.png'), fullPage: true });

    // Assess
    expect(sections.length).toBeGreaterThanOrEqual(3);
    expect(labels).toEqual(sections.map((section) => section.label));
    expect(labels[0]).toBe(labels[2]);
    expect(colours[0]).toBe(colours[2]);
    expect(colours[0]).not.toBe(colours[1]);
    expect(afterBand).toBeGreaterThanOrEqual(sections[1].startSec);
    expect(afterBand).toBeLessThan(sections[1].startSec + 1.5);
  }, 180_000);

  it('draws the sections as bands, seeks to the start of a band when it is clicked, and highlights the caption that is playing', async () => {
    // Prepare: a real run whose result gets hand-made sections A B A (a test double of the analysis's data).
    const id = await uploadThroughApi(makeSong(path.join(dir, 'Three Parts.wav'), 30), 'audio/wav');
    const result = await rewriteResult(id, (real) => ({
      ...real,
      sections: [section(0, 0, 10, 'A', 'intro', 0.4), section(1, 10, 20, 'B'), section(2, 20, real.file.durationSec, 'A', 'peak', 1)],
    }));
    const page = await newPage();
    await openSucceeded(page, id);
    await mutedAndLoaded(page);
    const bands = page.getByTestId('section-band');

    // Act
    await bands.nth(1).click();
    await page.waitForFunction(() => (document.querySelector('audio') as HTMLAudioElement).currentTime >= 10);
    const afterBand = await audioTime(page);
    await page.locator('.caption[aria-current="true"]').waitFor();
    const currentAfterBand = await page.locator('.caption[aria-current="true"] .caption__time').textContent();
    await page.waitForFunction(() => (document.querySelector('audio') as HTMLAudioElement).currentTime >= 20.5, undefined, { timeout: 20_000 });
    const currentLater = await page.locator('.caption[aria-current="true"] .caption__time').textContent();
    const colours = await bands.evaluateAll((elements) => elements.map((element) => getComputedStyle(element).backgroundColor));
    await bands.nth(1).hover();
    const hovered = await page.locator('#section-facts').textContent();
    await bands.nth(0).focus();
    const focused = await page.locator('#section-facts').textContent();
    const [chapters] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Chapters' }).click()]);
    const violations = await seriousViolations(page);
    await page.screenshot({ path: screenshotPath('sections-desktop.png'), fullPage: false });

    // Assess
    await expect(bands.count()).resolves.toBe(3);
    await expect(bands.allTextContents()).resolves.toEqual(['Intro (A)', 'Section B', 'Loudest part (A)']);
    expect(colours[0]).toBe(colours[2]);
    expect(colours[0]).not.toBe(colours[1]);
    expect(afterBand).toBeGreaterThanOrEqual(10);
    expect(afterBand).toBeLessThan(11.5);
    expect(currentAfterBand).toBe('0:10–0:20');
    expect(currentLater).toBe('0:20–0:30');
    await expect(bands.nth(2).getAttribute('aria-current')).resolves.toBe('true');
    await expect(bands.nth(0).getAttribute('aria-label')).resolves.toBe('Intro (A), 0:00 to 0:10');
    expect(hovered).toContain('Section B 0:10–0:20');
    expect(hovered).toContain('96 BPM · A minor · -15 LUFS · energy 80%');
    expect(hovered).toContain(result.chunks[1].caption);
    expect(focused).toContain('Intro (A) 0:00–0:10');
    expect(focused).toContain(result.chunks[0].caption);
    expect(chapters.suggestedFilename()).toBe('Three-Parts.chapters.vtt');
    expect(readFileSync((await chapters.path())!, 'utf8')).toBe(toWebVttChapters(result));
    expect(violations).toEqual([]);
  }, 180_000);

  it('keeps the timeline, the captions and the downloads a few Tab stops apart, and Space pauses the caption that is playing', async () => {
    // Prepare
    const id = await uploadThroughApi(makeSong(path.join(dir, 'keys.wav'), 25), 'audio/wav');
    await rewriteResult(id, (real) => ({ ...real, sections: [section(0, 0, 12, 'A'), section(1, 12, real.file.durationSec, 'B')] }));
    const page = await newPage();
    await openSucceeded(page, id);
    await mutedAndLoaded(page);

    // Act: Tab from the first band to the first download, counting stops.
    await page.getByTestId('section-band').first().focus();
    await page.keyboard.press('ArrowRight');
    const focusedBand = await page.evaluate(() => document.activeElement?.textContent);
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => (document.querySelector('audio') as HTMLAudioElement).currentTime >= 12);
    let stops = 0;
    while (stops < 20 && !(await page.evaluate(() => document.activeElement?.closest('.downloads') !== null))) {
      await page.keyboard.press('Tab');
      stops++;
    }
    await page.getByRole('button', { name: 'Play 0:00–0:10' }).focus();
    await page.keyboard.press('Space');
    await page.waitForFunction(() => !(document.querySelector('audio') as HTMLAudioElement).paused && (document.querySelector('audio') as HTMLAudioElement).currentTime < 5);
    await page.keyboard.press('Space');
    await page.waitForFunction(() => (document.querySelector('audio') as HTMLAudioElement).paused);
    const pausedAt = await audioTime(page);
    await page.keyboard.press('Space');
    await page.waitForFunction(() => !(document.querySelector('audio') as HTMLAudioElement).paused);
    const resumedAt = await audioTime(page);

    // Assess: band → tags → captions → first download is a handful of stops, whatever the song's length.
    expect(focusedBand).toBe('Section B');
    expect(stops).toBeLessThanOrEqual(4);
    expect(resumedAt).toBeGreaterThanOrEqual(pausedAt);
  }, 180_000);

  it('keeps an hour-long song readable on a 360 px phone: no sideways scroll, bounded drawing, labels only where they fit', async () => {
    // Prepare: a real run whose result is replaced by an hour of windows, beats, loudness and twelve sections.
    const id = await uploadThroughApi(makeSong(path.join(dir, 'Long Set.wav'), 12), 'audio/wav');
    const hour = 3600;
    const labels = ['A', 'B', 'A', 'C', 'B', 'A', 'D', 'A', 'B', 'C', 'A', 'E'];
    await rewriteResult(id, (real) => {
      const chunks: ResultChunk[] = Array.from({ length: hour / 10 }, (_, index) => ({
        ...real.chunks[0],
        index,
        startSec: index * 10,
        endSec: index * 10 + 10,
        caption: `Window ${index}: a steady groove with a bright lead.`,
      }));
      const beats = Array.from({ length: hour * 2 }, (_, i) => i / 2);
      return {
        ...real,
        file: { ...real.file, durationSec: hour },
        chunks,
        analysis: {
          beats,
          downbeats: beats.map((_, i) => i).filter((i) => i % 4 === 0),
          tempoChanges: [{ atSec: 1800, fromBpm: 120, toBpm: 126, kind: 'step' }],
          keySections: [
            { startSec: 0, endSec: 2400, key: 'A minor', confidence: 0.8 },
            { startSec: 2400, endSec: hour, key: 'C major', confidence: 0.8 },
          ],
          loudnessCurve: Array.from({ length: hour }, (_, i) => -18 + 6 * Math.sin(i / 90)),
        },
        sections: labels.map((label, i) => section(i, i * 300, i * 300 + 300, label)),
      };
    });
    const page = await newPage(360, 740);

    // Act
    await openSucceeded(page, id);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    const svgElements = await page.locator('.timeline__svg *').count();
    const clipped = await page.getByTestId('section-band').evaluateAll((bands) => bands.filter((band) => band.scrollWidth > band.clientWidth + 1).length);
    const violations = await seriousViolations(page);
    await page.screenshot({ path: screenshotPath('hour-phone.png'), fullPage: false });
    await page.mouse.wheel(0, 1500);
    await page.waitForTimeout(300);
    await page.screenshot({ path: screenshotPath('hour-phone-scrolled.png'), fullPage: false });
    const stickyTop = await page.locator('.player-card').evaluate((card) => card.getBoundingClientRect().top);

    // Assess
    expect(overflow).toBeLessThanOrEqual(0);
    await expect(page.getByTestId('section-band').count()).resolves.toBe(12);
    expect(clipped).toBe(0);
    expect(svgElements).toBeLessThan(40);
    expect(stickyTop).toBe(0);
    expect(violations).toEqual([]);
  }, 180_000);

  it('shows a file that is not audio failing at Preprocess, with the error and its sentence', async () => {
    // Prepare
    const notAudio = path.join(dir, 'holiday-notes.mp3');
    writeFileSync(notAudio, 'Pack: sunscreen, hat, the good headphones.\n'.repeat(40));
    const page = await newPage();

    // Act
    await upload(page, notAudio);
    await page.waitForSelector('[data-testid="step-Preprocess"][data-status="failed"]', { timeout: 60_000 });

    // Assess
    const failure = page.getByTestId('failure');
    await failure.waitFor();
    const status = (await (await page.request.get(`${app.siteUrl}/api/runs/${new URL(page.url()).pathname.split('/').pop()}`)).json()) as {
      error: { name: string; message: string; step: string };
    };
    expect(status.error.step).toBe('Preprocess');
    expect(status.error.message.length).toBeGreaterThan(10);
    await expect(failure.getByRole('heading').textContent()).resolves.toBe('This file could not be read as audio.');
    await expect(failure.locator('details').getAttribute('open')).resolves.toBeNull();
    await expect(failure.locator('details').textContent()).resolves.toContain(status.error.message);
    await expect(page.getByText(status.error.message, { exact: false }).count()).resolves.toBe(1);
    await expect(step(page, 'Preprocess').textContent()).resolves.not.toContain('Decoded to 16 kHz mono');
    await expect(step(page, 'Preprocess').textContent()).resolves.toContain('could not be decoded');
    await expect(step(page, 'Caption').getAttribute('data-status')).resolves.toBe('pending');
    await expect(step(page, 'Summarize').getAttribute('data-status')).resolves.toBe('pending');
    await expect(seriousViolations(page)).resolves.toEqual([]);
    await page.screenshot({ path: screenshotPath('failed-run.png'), fullPage: true });
    await page.getByRole('link', { name: 'Try another file' }).click();
    await page.waitForURL(`${app.siteUrl}/`);
  });

  it('opens the file chooser when Enter is pressed on "Choose a file"', async () => {
    // Prepare
    const page = await newPage();
    // Listening before the page loads: Playwright turns on file-chooser interception without waiting for the
    // browser to confirm, so a listener added just before the key press can miss a chooser opened at once.
    const chooserOpened = page.waitForEvent('filechooser', { timeout: 60_000 });
    await page.goto(app.siteUrl);
    await hydrated(page, '.dropzone .button--primary');
    await page.getByRole('button', { name: 'Choose a file' }).focus();
    await page.waitForFunction(() => document.activeElement?.textContent?.trim() === 'Choose a file');

    // Act
    await page.keyboard.press('Enter');
    const chooser = await chooserOpened;

    // Assess
    expect(chooser.isMultiple()).toBe(false);
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
    const rows = page.locator('#recent .run-row');
    const names = await page.locator('#recent .run-row__name').allTextContents();
    expect(names).toEqual(expect.arrayContaining(['Evening-Song.mp3', 'holiday-notes.mp3']));
    expect(names.indexOf('holiday-notes.mp3')).toBeLessThan(names.indexOf('Evening-Song.mp3'));
    await expect(rows.filter({ hasText: 'holiday-notes.mp3' }).locator('.pill').textContent()).resolves.toBe('Failed');
    await expect(rows.filter({ hasText: 'Evening-Song.mp3' }).locator('.pill').textContent()).resolves.toBe('Done');
    const metas = await page.locator('#recent .run-row__meta').allTextContents();
    expect(new Set(metas).size).toBe(metas.length);
    expect(metas.every((meta) => /\d{1,2}:\d{2}:\d{2}/.test(meta))).toBe(true);
    const pillLefts = await page.locator('#recent .run-row .pill').evaluateAll((pills) => pills.map((pill) => Math.round(pill.getBoundingClientRect().left)));
    expect(new Set(pillLefts).size).toBe(1);
    await expect(seriousViolations(page)).resolves.toEqual([]);
    await page.screenshot({ path: screenshotPath('home.png'), fullPage: true });
    await page.setViewportSize({ width: 360, height: 740 });
    await page.screenshot({ path: screenshotPath('home-phone.png'), fullPage: true });
    const cutNames = await page.locator('#recent .run-row__name').evaluateAll((names) => names.filter((name) => name.scrollWidth > name.clientWidth + 1).length);
    expect(cutNames).toBe(0);
  });
});
