/**
 * Serves the Next.js site (frontend/) in this process, from a production build. The build is made first
 * when there is none or when a source file is newer than it (`next build` takes a while, so an up-to-date
 * build is reused). The site reads its configuration (BUCKET, STATE_MACHINE_ARN, S3_ENDPOINT, SFN_ENDPOINT …)
 * from process.env, which the embedded runtime sets before calling this.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

const repositoryRoot = path.resolve(__dirname, '..');
export const frontendDir = path.join(repositoryRoot, 'frontend');
const buildIdFile = path.join(frontendDir, '.next', 'BUILD_ID');
const lockFile = path.join(frontendDir, '.next-build.lock');
/**
 * How Next's own standalone server.js hands the server the configuration the build was made with (instead
 * of evaluating next.config.ts again, and warning that `output: 'standalone'` wants server.js).
 */
const STANDALONE_CONFIG = '__NEXT_PRIVATE_STANDALONE_CONFIG';

/** What a build depends on: the app, the shared core it imports, and the installed packages. */
const SOURCES = [frontendDir, path.join(repositoryRoot, 'core')];
const SOURCE_FILES = [path.join(repositoryRoot, 'package.json'), path.join(repositoryRoot, 'package-lock.json'), path.join(repositoryRoot, 'tsconfig.json')];
const IGNORED = new Set(['.next', 'node_modules', 'next-env.d.ts', path.basename(lockFile)]);

function newestSourceMtime(): number {
  let newest = 0;
  const visit = (entry: string) => {
    const stats = statSync(entry, { throwIfNoEntry: false });
    if (!stats) return;
    if (stats.isDirectory()) {
      for (const name of readdirSync(entry)) if (!IGNORED.has(name)) visit(path.join(entry, name));
    } else {
      newest = Math.max(newest, stats.mtimeMs);
    }
  };
  [...SOURCES, ...SOURCE_FILES].forEach(visit);
  return newest;
}

/** Whether frontend/.next holds a build at least as new as every source it was built from. */
export function buildIsFresh(): boolean {
  const built = statSync(buildIdFile, { throwIfNoEntry: false });
  return !!built && built.mtimeMs >= newestSourceMtime();
}

function runNextBuild(): Promise<void> {
  const nextBin = require.resolve('next/dist/bin/next', { paths: [repositoryRoot] });
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [nextBin, 'build', frontendDir], {
      cwd: repositoryRoot,
      env: { ...process.env, NODE_ENV: 'production', NEXT_TELEMETRY_DISABLED: '1', [STANDALONE_CONFIG]: undefined },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-20_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`next build failed (exit ${code}):\n${output}`))));
  });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** One build at a time across processes (test workers may start sites together): a lock file with the pid. */
async function withBuildLock<T>(body: () => Promise<T>): Promise<T> {
  mkdirSync(path.dirname(lockFile), { recursive: true });
  for (;;) {
    try {
      closeSync(openSync(lockFile, 'wx'));
      writeFileSync(lockFile, String(process.pid));
      break;
    } catch {
      let holder = 0;
      try {
        holder = Number(readFileSync(lockFile, 'utf8'));
      } catch {
        continue;
      }
      if (holder && !processAlive(holder)) rmSync(lockFile, { force: true });
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  try {
    return await body();
  } finally {
    rmSync(lockFile, { force: true });
  }
}

/** Builds frontend/ unless its build is up to date. Returns whether it built. */
export async function ensureSiteBuild(log: (message: string) => void = () => undefined): Promise<boolean> {
  if (buildIsFresh()) return false;
  return withBuildLock(async () => {
    if (buildIsFresh()) return false;
    log('building the site (next build)…');
    const started = Date.now();
    await runNextBuild();
    log(`site built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return true;
  });
}

export async function startSite(options: {
  port: number;
  host?: string;
  log?: (message: string) => void;
}): Promise<{ url: string; close(): Promise<void> }> {
  const host = options.host ?? '127.0.0.1';
  await ensureSiteBuild(options.log);
  if (!existsSync(buildIdFile)) throw new Error(`No site build in ${path.dirname(buildIdFile)}.`);
  // Next reads NODE_ENV to pick its production runtime; a test runner may have set it already.
  (process.env as Record<string, string | undefined>).NODE_ENV ??= 'production';
  process.env.NEXT_TELEMETRY_DISABLED ??= '1';

  const builtConfig = (JSON.parse(readFileSync(path.join(frontendDir, '.next', 'required-server-files.json'), 'utf8')) as { config: object }).config;
  process.env[STANDALONE_CONFIG] = JSON.stringify(builtConfig);

  const { default: next } = await import('next');
  const app = next({ dev: false, dir: frontendDir, hostname: host, port: options.port, quiet: true, conf: builtConfig });
  await app.prepare();
  const handle = app.getRequestHandler();
  const server = createServer((request, response) => {
    // The peer this server saw goes last in X-Forwarded-For, as a proxy would put it, so a client cannot
    // pick its own rate-limit key by sending the header itself.
    const peer = request.socket.remoteAddress;
    if (peer) {
      const forwarded = request.headers['x-forwarded-for'];
      request.headers['x-forwarded-for'] = forwarded ? `${forwarded}, ${peer}` : peer;
    }
    handle(request, response).catch((error: unknown) => {
      console.error('[site] request failed:', error);
      if (!response.headersSent) response.writeHead(500).end('Internal error');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    url: `http://${shownHost}:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await app.close();
    },
  };
}
