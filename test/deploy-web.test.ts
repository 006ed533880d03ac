/**
 * The Beanstalk bundle as `npm run deploy:web` makes it, checked the way Beanstalk will use it: every entry of the
 * zip is looked at for links leading out of it; then, with the build tree it was made from renamed away, it is
 * unzipped into an unrelated folder, started with its Procfile's command, and serves the home page, a run page and
 * the runs API from the embedded S3 and Step Functions endpoints.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { promisify } from 'node:util';
import { newUploadId } from '#core/ids';
import { ensureSiteBuild, frontendDir } from '../runtime/site.ts';
import { linksLeaving } from '../scripts/lib/web-bundle.ts';
import { makeSong } from './helpers/audio.ts';
import { bootRuntime, type TestRuntime } from './helpers/runtime.ts';

const ROOT = join(__dirname, '..');

let work: string;
let buildTree: string;
let appDir: string;
let zipPath: string;
let procfile: string;
let runtime: TestRuntime | undefined;
let server: ChildProcess | undefined;
let serverLog = '';
let runId: string;

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => done(port));
    });
    probe.on('error', fail);
  });
}

async function waitForHttp(url: string, deadline: number): Promise<Response> {
  for (;;) {
    try {
      return await fetch(url, { redirect: 'manual' });
    } catch (error) {
      if (Date.now() > deadline || server?.exitCode != null) throw new Error(`${url} never answered: ${serverLog}`, { cause: error });
      await new Promise((next) => setTimeout(next, 200));
    }
  }
}

/** `zipinfo`'s listing: each entry's mode string and name. */
function zipEntries(zipPath: string): Array<{ mode: string; name: string }> {
  const listing = execFileSync('zipinfo', [zipPath], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return listing
    .split('\n')
    .map((line) => /^([-dl][rwxsStT-]{9})\s+\S+\s+\S+\s+\d+\s+\S+\s+\S+\s+\S+\s+\S+\s(.+)$/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({ mode: match[1], name: match[2] }));
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'web-bundle-'));
  // The site's build, copied as it is (links and all) into a tree of its own, so that the tree can be renamed away
  // without disturbing anyone else's use of frontend/.next.
  await ensureSiteBuild();
  buildTree = join(work, 'build-tree');
  const appCopy = join(buildTree, 'frontend');
  mkdirSync(join(appCopy, '.next'), { recursive: true });
  for (const part of ['.next/standalone', '.next/static', 'public']) {
    if (existsSync(join(frontendDir, part))) execFileSync('cp', ['-a', join(frontendDir, part), join(appCopy, dirname(part))]);
  }
  // The CLI, as `npm run deploy:web` runs it (archiver is ESM-only, which jest's module loader cannot import).
  zipPath = join(work, 'out', 'site.zip');
  const tsx = require.resolve('tsx/cli', { paths: [ROOT] });
  await promisify(execFile)(process.execPath, [tsx, 'scripts/deploy-web.ts', '--bundle-only', zipPath, '--built-app', appCopy], {
    cwd: ROOT,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
    maxBuffer: 32 * 1024 * 1024,
  });
  renameSync(buildTree, join(work, 'renamed-away'));

  appDir = mkdtempSync(join(tmpdir(), 'beanstalk-app-'));
  execFileSync('unzip', ['-q', zipPath, '-d', appDir]);
  procfile = readFileSync(join(appDir, 'Procfile'), 'utf8');
}, 300_000);

afterAll(async () => {
  server?.kill('SIGTERM');
  await runtime?.stop();
  rmSync(work, { recursive: true, force: true });
  if (appDir) rmSync(appDir, { recursive: true, force: true });
});

describe('the Beanstalk bundle', () => {
  it('holds no link that leads outside it, checking every entry of the zip', () => {
    // Act
    const entries = zipEntries(zipPath);
    const links = entries.filter((entry) => entry.mode.startsWith('l'));
    const leaving = links.filter((link) => {
      const target = execFileSync('unzip', ['-p', zipPath, link.name], { encoding: 'utf8' });
      const resolved = posix.normalize(posix.join(posix.dirname(link.name), target));
      return target.startsWith('/') || resolved.startsWith('..');
    });

    // Assess
    expect(entries.length).toBeGreaterThan(100);
    expect(leaving).toEqual([]);
    expect(linksLeaving(appDir)).toEqual([]);
    // Next links its external modules (.next/node_modules/@aws-sdk/client-s3-<hash>); the bundle carries them as files.
    const external = entries.filter((entry) => /\.next\/node_modules\/@aws-sdk\/client-s3-[0-9a-f]+\/package\.json$/.test(entry.name));
    expect(external).toEqual([expect.objectContaining({ mode: expect.stringMatching(/^-/) })]);
  });

  it('starts a web process with node and carries the static assets next to its server.js', () => {
    // Assess
    const match = /^web: node (\S+\/)?server\.js\n$/.exec(procfile);
    expect(match).not.toBeNull();
    const serverDir = join(appDir, match?.[1] ?? '');
    const names = zipEntries(zipPath).map((entry) => entry.name);
    const prefix = match?.[1] ?? '';
    expect(names).toContain(`${prefix}.next/static/`);
    expect(names).toContain('node_modules/next/package.json');
    expect(readFileSync(join(serverDir, '.next', 'BUILD_ID'), 'utf8').length).toBeGreaterThan(0);
  });

  it('serves the home page, a run page and the runs API from the embedded S3 and Step Functions, started as the Procfile says', async () => {
    // Prepare: one finished run in the embedded runtime, then the bundle's server with the environment the stack
    // gives the instance (serverless.yml, WebEnvironment), pointed at the runtime's endpoints.
    runtime = await bootRuntime();
    runId = newUploadId();
    await runtime.upload(runId, makeSong(join(work, 'song.wav'), 12));
    await runtime.settle(runId, 120_000);
    const port = await freePort();
    const command = procfile.replace(/^web: /, '').trim().split(' ');
    server = spawn(command[0] === 'node' ? process.execPath : command[0], command.slice(1), {
      cwd: appDir,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        PORT: String(port),
        HOSTNAME: '127.0.0.1',
        BUCKET: runtime.bucket,
        AWS_REGION: runtime.region,
        STATE_MACHINE_ARN: runtime.stateMachineArn,
        S3_ENDPOINT: runtime.s3Endpoint,
        SFN_ENDPOINT: runtime.sfnEndpoint,
        MAX_UPLOAD_BYTES: '200000000',
        AWS_ACCESS_KEY_ID: 'S3RVER',
        AWS_SECRET_ACCESS_KEY: 'S3RVER',
        AWS_EC2_METADATA_DISABLED: 'true',
        NEXT_TELEMETRY_DISABLED: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.stdout?.on('data', (chunk) => (serverLog += chunk));
    server.stderr?.on('data', (chunk) => (serverLog += chunk));
    const site = `http://127.0.0.1:${port}`;

    // Act
    const home = await waitForHttp(`${site}/`, Date.now() + 30_000);
    const homeHtml = await home.text();
    const runPage = await fetch(`${site}/runs/${runId}`);
    const runsApi = await fetch(`${site}/api/runs`);
    const runApi = await fetch(`${site}/api/runs/${runId}`);

    // Assess
    expect({ status: home.status, log: home.status === 200 ? '' : serverLog }).toEqual({ status: 200, log: '' });
    expect(home.headers.get('content-type')).toMatch(/text\/html/);
    const asset = /\/_next\/static\/[^"']+\.(?:js|css)/.exec(homeHtml)?.[0];
    expect(asset).toBeDefined();
    expect((await fetch(`${site}${asset}`)).status).toBe(200);
    expect(runPage.status).toBe(200);
    expect(await runPage.text()).toContain('song.wav');
    expect(runsApi.status).toBe(200);
    const { runs } = (await runsApi.json()) as { runs: Array<{ id: string }> };
    expect(runs.map((run) => run.id)).toContain(runId);
    expect(runApi.status).toBe(200);
    expect(await runApi.json()).toMatchObject({ id: runId, phase: expect.any(String) });
    expect(serverLog).not.toMatch(/Failed to load external module/);
  }, 180_000);
});
