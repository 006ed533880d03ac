/**
 * `npm run bench:web`: two figures for the site.
 *
 * 1. First-load JS of the upload page (/) and of a finished run's result page (/runs/{id}: the player, the
 *    timeline, the captions), gzipped: every script a browser fetches on a first visit, read from the
 *    production build (`next build`) and gzipped as the server would send it. Target ≤ 150 kB each.
 *    (Next 16's `next build` no longer prints a size table, so the page's own script list is measured.)
 * 2. Step change → page: for songs uploaded through the page, the time between a step changing in the
 *    execution history (its start or its end, as Step Functions timestamps it) and the page showing that
 *    step's new status (a MutationObserver on data-status). Target ≤ 2 s.
 *
 * Runs the embedded runtime and the site in this process, on a temp DATA_DIR.
 */
import { GetExecutionHistoryCommand, SFNClient } from '@aws-sdk/client-sfn';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser } from 'playwright-core';
import { stepsFromHistory } from '#core/run-steps';
import { startRuntime } from '../runtime/main.ts';
import { ensureSiteBuild, frontendDir, startSite } from '../runtime/site.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SONG_SECONDS = Number(process.env.BENCH_SONG_SECONDS ?? 180);
const FFMPEG = process.env.FFMPEG_BIN || '/usr/bin/ffmpeg';

function kB(bytes: number): string {
  return `${(bytes / 1000).toFixed(1)} kB`;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function makeSong(file: string, seconds: number): string {
  const chord = '0.2*sin(2*PI*220*t)+0.15*sin(2*PI*261.63*t)+0.15*sin(2*PI*329.63*t)';
  const kick = '0.6*sin(2*PI*55*t)*exp(-30*mod(t,0.5))';
  execFileSync(FFMPEG, ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `aevalsrc='${chord}+${kick}':s=44100:d=${seconds}`, '-ac', '2', file]);
  return file;
}

/** Gzipped size of every script a fresh browser context fetches to show `url`, printed per file. */
async function firstLoadJs(browser: Browser, url: string, what: string): Promise<number> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const scripts = new Set<string>();
  page.on('response', (response) => {
    const at = new URL(response.url());
    if (response.request().resourceType() === 'script' && at.pathname.startsWith('/_next/static/')) scripts.add(at.pathname);
  });
  await page.goto(url, { waitUntil: 'networkidle' });
  let total = 0;
  const rows: string[] = [];
  for (const script of [...scripts].sort()) {
    const file = path.join(frontendDir, '.next', 'static', decodeURIComponent(script.slice('/_next/static/'.length)));
    const gzipped = gzipSync(readFileSync(file)).length;
    total += gzipped;
    rows.push(`    ${kB(gzipped).padStart(9)}  ${script}`);
  }
  console.log(`\nFirst-load JS of ${what}, gzipped: ${kB(total)} in ${scripts.size} files (target ≤ 150 kB)`);
  console.log(rows.join('\n'));
  await context.close();
  return total;
}

async function main() {
  const work = mkdtempSync(path.join(tmpdir(), 'bench-web-'));
  const built = await ensureSiteBuild((message) => console.log(`  ${message}`));
  if (!built) console.log('  the site build is up to date (reused)');
  const runtime = await startRuntime({ DATA_DIR: path.join(work, 'data'), PORT: '0', SITE: 'off' }, () => undefined);
  const site = await startSite({ port: 0 });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    // ——— 1. First-load JS of the upload page ———
    await firstLoadJs(browser, site.url, 'the upload page (/)');

    // ——— 2. Step change → page ———
    const sfn = new SFNClient({ region: runtime.region, endpoint: runtime.sfnEndpoint });
    const delays: { step: string; status: string; ms: number }[] = [];
    const song = makeSong(path.join(work, 'bench-song.mp3'), SONG_SECONDS);
    for (let run = 0; run < RUNS; run++) {
      const watcher = await browser.newPage();
      await watcher.goto(site.url);
      await watcher.setInputFiles('input[type=file]', song);
      await watcher.waitForURL(/\/runs\//, { timeout: 60_000 });
      const id = new URL(watcher.url()).pathname.split('/').pop()!;
      // Every status the page shows, with the wall-clock time it appeared.
      // A string, not a function: the TypeScript loader would add helpers the page does not have.
      await watcher.evaluate(`(() => {
        const seen = [];
        window.seen = seen;
        const record = () => {
          for (const element of document.querySelectorAll('[data-testid^="step-"]')) {
            const step = element.dataset.testid.slice('step-'.length);
            const status = element.dataset.status;
            const last = [...seen].reverse().find((entry) => entry.step === step);
            if (!last || last.status !== status) seen.push({ step, status, at: Date.now() });
          }
        };
        record();
        new MutationObserver(record).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['data-status'], childList: true });
      })()`);
      await watcher.waitForSelector('[data-testid="step-Summarize"][data-status="succeeded"]', { timeout: 300_000 });
      // The result page, once: a fresh context, as a first visit from a shared link.
      if (run === 0) await firstLoadJs(browser, watcher.url(), `the result page (/runs/{id}, a ${SONG_SECONDS} s song)`);
      const seen = (await watcher.evaluate('window.seen')) as { step: string; status: string; at: number }[];
      const arn = `${runtime.stateMachineArn.replace(':stateMachine:', ':execution:')}:${id}`;
      const { events = [] } = await sfn.send(new GetExecutionHistoryCommand({ executionArn: arn, maxResults: 1000 }));
      const steps = stepsFromHistory(events);
      for (const entry of seen) {
        const step = steps.find((candidate) => candidate.name === entry.step);
        const changedAt = entry.status === 'running' ? step?.startedAt : entry.status === 'succeeded' ? step?.endedAt : undefined;
        if (!changedAt) continue;
        const ms = entry.at - Date.parse(changedAt);
        // The first render shows what had already happened before the page loaded: not a delay of the page.
        if (ms >= 0 && entry !== seen.find((first) => first.step === entry.step)) delays.push({ step: entry.step, status: entry.status, ms });
      }
      await watcher.close();
    }
    const sorted = delays.map((delay) => delay.ms).sort((a, b) => a - b);
    console.log(`\nStep change → page, ${RUNS} runs of a ${SONG_SECONDS} s song, ${sorted.length} changes seen (target ≤ 2 s):`);
    if (sorted.length > 0) {
      console.log(
        `    median ${(quantile(sorted, 0.5) / 1000).toFixed(2)} s · p95 ${(quantile(sorted, 0.95) / 1000).toFixed(2)} s · max ${(sorted[sorted.length - 1] / 1000).toFixed(2)} s`,
      );
      for (const delay of delays) console.log(`    ${delay.step.padEnd(11)} ${delay.status.padEnd(10)} ${(delay.ms / 1000).toFixed(2)} s`);
    }
  } finally {
    await browser.close();
    await site.close();
    await runtime.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
