/**
 * For the browser tests: `npm start` in its own process on a temp DATA_DIR, and Debian's Chromium driven by
 * playwright-core (`npx playwright install` cannot run here).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';

const ROOT = path.resolve(__dirname, '..', '..');

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  // The recorder test: a fake microphone (a beep) that needs no permission prompt.
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
];

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

/** Where the tests leave their screenshots. */
export const SCREENSHOT_DIR = path.join(tmpdir(), 'music-captioner-screenshots');

export function screenshotPath(name: string): string {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  return path.join(SCREENSHOT_DIR, name);
}

export interface StartedApp {
  siteUrl: string;
  dataDir: string;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Runs `npm start` (the embedded runtime and the site, building the site first when its build is stale)
 * and waits until it has announced its site in DATA_DIR/runtime.json and the site answers.
 */
export async function startApp(env: Record<string, string> = {}, timeoutMs = 240_000): Promise<StartedApp> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'captioner-web-'));
  let output = '';
  // As `npm start` runs it: node with tsx's loader, no relaying launcher between this and the runtime's signals.
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'runtime/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', DATA_DIR: dataDir, FFMPEG_BIN: process.env.FFMPEG_BIN || '/usr/bin/ffmpeg', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-40_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dataDir, { recursive: true, force: true });
  };

  const announcement = path.join(dataDir, 'runtime.json');
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}:\n${output}`);
      if (Date.now() > deadline) throw new Error(`npm start did not come up within ${timeoutMs / 1000} s:\n${output}`);
      if (existsSync(announcement)) {
        const { siteUrl } = JSON.parse(readFileSync(announcement, 'utf8')) as { siteUrl?: string };
        if (siteUrl) {
          const answer = await fetch(`${siteUrl}/api/runs`, { redirect: 'manual' }).catch(() => undefined);
          if (answer && !answer.headers.get('content-type')?.includes('application/json')) {
            throw new Error(`${siteUrl} is not the site (no JSON at /api/runs): runtime/main.ts must serve it with startSite().`);
          }
          if (answer) return { siteUrl, dataDir, output: () => output, stop };
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } catch (error) {
    await stop();
    throw error;
  }
}
