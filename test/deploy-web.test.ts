/**
 * The Beanstalk bundle as `npm run deploy:web` makes it: built from frontend/, unzipped the way Beanstalk unzips it,
 * and started with its Procfile's command, it serves the site on loopback.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const ROOT = resolve(__dirname, '..');

let work: string;
let procfile: string;
let server: ChildProcess | undefined;
let serverLog = '';

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

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'web-bundle-'));
  const tsx = require.resolve('tsx/cli', { paths: [ROOT] });
  await promisify(execFile)(process.execPath, [tsx, 'scripts/deploy-web.ts', '--bundle-only', join(work, 'site.zip')], {
    cwd: ROOT,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
    maxBuffer: 32 * 1024 * 1024,
  });
  execFileSync('unzip', ['-q', join(work, 'site.zip'), '-d', join(work, 'app')]);
  procfile = readFileSync(join(work, 'app', 'Procfile'), 'utf8');
}, 240_000);

afterAll(() => {
  server?.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
});

describe('the Beanstalk bundle', () => {
  it('starts a web process with node and carries the static assets next to its server.js', () => {
    // Assess
    const match = /^web: node (\S+\/)?server\.js\n$/.exec(procfile);
    expect(match).not.toBeNull();
    const serverDir = join(work, 'app', match?.[1] ?? '');
    const listing = execFileSync('unzip', ['-Z1', join(work, 'site.zip')], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const prefix = match?.[1] ?? '';
    expect(listing).toContain(`${prefix}.next/static/`);
    expect(listing).toMatch(/^node_modules\/next\/package\.json$/m);
    expect(readFileSync(join(serverDir, '.next', 'BUILD_ID'), 'utf8').length).toBeGreaterThan(0);
  });

  it('serves / with 200 on loopback when started the way the Procfile says', async () => {
    // Prepare: the environment the stack gives the instance (serverless.yml, WebEnvironment)
    const port = await freePort();
    const command = procfile.replace(/^web: /, '').trim().split(' ');
    server = spawn(command[0] === 'node' ? process.execPath : command[0], command.slice(1), {
      cwd: join(work, 'app'),
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        PORT: String(port),
        HOSTNAME: '127.0.0.1',
        BUCKET: 'music-captioner-test-123456789012-us-east-1',
        AWS_REGION: 'us-east-1',
        STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:123456789012:stateMachine:music-captioner-test',
        // No network here: any AWS call fails fast instead of waiting on metadata endpoints.
        AWS_ACCESS_KEY_ID: 'offline',
        AWS_SECRET_ACCESS_KEY: 'offline',
        AWS_EC2_METADATA_DISABLED: 'true',
        NEXT_TELEMETRY_DISABLED: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.stdout?.on('data', (chunk) => (serverLog += chunk));
    server.stderr?.on('data', (chunk) => (serverLog += chunk));

    // Act
    const response = await waitForHttp(`http://127.0.0.1:${port}/`, Date.now() + 30_000);
    const html = await response.text();

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/html/);
    expect(html).toContain('<html');
    // the page's script and style come from the bundle's .next/static
    const asset = /\/_next\/static\/[^"']+\.(?:js|css)/.exec(html)?.[0];
    expect(asset).toBeDefined();
    const assetResponse = await fetch(`http://127.0.0.1:${port}${asset}`);
    expect(assetResponse.status).toBe(200);
  }, 60_000);
});
