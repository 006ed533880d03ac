/**
 * The set-up cannot fail silently: an old Node is refused by `npm install` (engine-strict) and by `npm start`
 * before any port opens, and the committed lock file is one `npm ci` accepts as it stands.
 *
 * An "old Node" here is the real Node with process.version set back by a --require preload, put first on PATH
 * under the name `node`: npm and the package scripts run on it as they would on an installed Node 20.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '..');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { nodeVersionProblem, engineRange } = require('../scripts/require-node.cjs') as {
  nodeVersionProblem: (version: string, range: string) => string | undefined;
  engineRange: () => string;
};

const OLD_NODE = 'v20.20.2';
let dir: string;
let oldNodePath: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'setup-'));
  const bin = path.join(dir, 'bin');
  mkdirSync(bin);
  const preload = path.join(dir, 'old-node.cjs');
  writeFileSync(preload, `Object.defineProperty(process, 'version', { value: ${JSON.stringify(OLD_NODE)} });\n`);
  writeFileSync(path.join(bin, 'node'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} --require ${JSON.stringify(preload)} "$@"\n`, { mode: 0o755 });
  oldNodePath = `${bin}${path.delimiter}${process.env.PATH}`;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }) {
  return new Promise<{ code: number | null; stdout: string; stderr: string; ms: number }>((resolve, reject) => {
    const started = Date.now();
    execFile(command, args, { cwd: options.cwd, env: options.env ?? process.env, timeout: options.timeoutMs ?? 60_000 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number' && !error.killed) return reject(error);
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** package.json, the lock file and .npmrc alone in a folder, as a fresh clone has them before installing. */
function manifestCopy(name: string): string {
  const target = path.join(dir, name);
  mkdirSync(target);
  for (const file of ['package.json', 'package-lock.json', '.npmrc']) copyFileSync(path.join(root, file), path.join(target, file));
  return target;
}

describe('the Node version check run before npm start and npm run caption', () => {
  it('names the version needed and how to get it when Node is older than engines, and is silent otherwise', () => {
    const range = engineRange();
    expect(range).toBe(JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).engines.node);
    const problem = nodeVersionProblem('v20.20.2', '>=22.18');
    expect(problem).toContain('Node 22.18 or newer');
    expect(problem).toContain('v20.20.2');
    expect(problem).toContain('https://nodejs.org');
    expect(problem).not.toContain('\n');
    expect(nodeVersionProblem('v22.17.9', '>=22.18')).toBeDefined();
    expect(nodeVersionProblem('v22.18.0', '>=22.18')).toBeUndefined();
    expect(nodeVersionProblem('v22.23.3', '>=22.18')).toBeUndefined();
    expect(nodeVersionProblem('v24.0.0', '>=22.18')).toBeUndefined();
    expect(nodeVersionProblem('v21.99.0', '>=22.18.1')).toBeDefined();
    expect(() => nodeVersionProblem('v22.0.0', '^22')).toThrow(/reads only/);
  });

  it('npm start on an old Node exits 1 with that one line before any port opens', async () => {
    // A free port for the site: the refused start must leave it free.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve));

    const result = await run('npm', ['start', '--silent'], {
      cwd: root,
      env: { ...process.env, PATH: oldNodePath, PORT: String(port), DATA_DIR: path.join(dir, 'data') },
      timeoutMs: 30_000,
    });
    expect(result.code).toBe(1);
    const lines = result.stderr.split('\n').filter((line) => line.includes('Node'));
    expect(lines).toEqual([expect.stringMatching(new RegExp(`needs Node 22\\.18 or newer, and this is Node ${OLD_NODE.replace(/\./g, '\\.')}`))]);
    // Nothing listens there, and no runtime announced itself.
    const free = createServer();
    await expect(new Promise<void>((resolve, reject) => free.once('error', reject).listen(port, '127.0.0.1', resolve))).resolves.toBeUndefined();
    await new Promise((resolve) => free.close(resolve));
  });

  it('npm run caption on an old Node exits 1 with the same line', async () => {
    const result = await run('npm', ['run', 'caption', '--silent', '--', 'song.mp3'], { cwd: root, env: { ...process.env, PATH: oldNodePath }, timeoutMs: 30_000 });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/needs Node 22\.18 or newer/);
    expect(result.stdout).toBe('');
  });
});

describe('the install', () => {
  it('npm install on an old Node stops with npm\'s engine error (engine-strict in .npmrc)', async () => {
    const strict = await run('npm', ['install', '--dry-run', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], {
      cwd: manifestCopy('strict'),
      env: { ...process.env, PATH: oldNodePath },
    });
    expect(strict.code).not.toBe(0);
    expect(strict.stderr).toMatch(/EBADENGINE/);
  });

  it('npm ci accepts the committed lock file: every optional platform binary is recorded', async () => {
    const result = await run('npm', ['ci', '--dry-run', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: manifestCopy('ci') });
    expect(result.stderr).not.toMatch(/Missing: .* from lock file/);
    expect(result.code).toBe(0);
  });

  it('every optional dependency a locked package declares has its own entry in the lock file', () => {
    const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { optionalDependencies?: Record<string, string> }>;
    };
    const missing: string[] = [];
    for (const [location, entry] of Object.entries(lock.packages)) {
      for (const name of Object.keys(entry.optionalDependencies ?? {})) {
        // Node's resolution: the nearest node_modules/<name> from the package's own folder up to the root.
        const parts = location ? location.split('/node_modules/') : [];
        let found = false;
        for (let depth = parts.length; depth >= 0 && !found; depth--) {
          const base = parts.slice(0, depth).join('/node_modules/');
          found = `${base ? `${base}/` : ''}node_modules/${name}` in lock.packages;
        }
        if (!found) missing.push(`${name} (for ${location || 'the root'})`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('the lock file lists every dependency package.json names', () => {
    const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as Record<string, Record<string, string>>;
    const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, Record<string, unknown>> };
    const locked = lock.packages[''];
    expect(locked.dependencies).toEqual(manifest.dependencies);
    expect(locked.devDependencies).toEqual(manifest.devDependencies);
    for (const name of [...Object.keys(manifest.dependencies), ...Object.keys(manifest.devDependencies)]) {
      expect(lock.packages[`node_modules/${name}`]).toBeDefined();
    }
  });
});
