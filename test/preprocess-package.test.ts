/**
 * The preprocess Lambda as `serverless package` zips it, unzipped into a folder of its own (as Lambda lays out
 * /var/task) and run on a real upload in the embedded S3: the bundle must carry everything the descriptors need,
 * the WebAssembly FFT included, with only what Lambda's Node.js runtime provides beside it (the AWS SDK, on
 * NODE_PATH as in /var/runtime/node_modules).
 */
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { keys, type Manifest } from '../core/contract.ts';
import { newUploadId } from '../core/ids.ts';
import { startEmbeddedS3, type EmbeddedS3 } from '../runtime/s3.ts';
import { makeSong, tempDir } from './helpers/audio.ts';
import { slsPackage } from './helpers/sls.ts';

const ROOT = path.resolve(__dirname, '..');
const BUCKET = 'package-test';

/**
 * A node_modules holding `roots` and everything they depend on, as links into ours: what Lambda's runtime
 * provides. Anything else the bundle required would be missing, as it would be on Lambda.
 */
function runtimeModules(folder: string, roots: string[]): string {
  const modules = path.join(folder, 'node_modules');
  const linked = new Set<string>();
  const visit = (name: string, from: string) => {
    // npm's layout: a package's own copy sits in its node_modules, else the hoisted one in ours.
    const nested = path.join(from, 'node_modules', name);
    const hoisted = path.join(ROOT, 'node_modules', name);
    const directory = from !== ROOT && existsSync(nested) ? nested : hoisted;
    if (linked.has(directory)) return;
    linked.add(directory);
    if (directory === hoisted) {
      mkdirSync(path.dirname(path.join(modules, name)), { recursive: true });
      symlinkSync(directory, path.join(modules, name), 'dir');
    }
    const manifest = JSON.parse(readFileSync(path.join(directory, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    for (const dependency of Object.keys(manifest.dependencies ?? {})) visit(dependency, directory);
  };
  for (const root of roots) visit(root, ROOT);
  return modules;
}

describe('the packaged preprocess Lambda', () => {
  let work: string;
  let s3: EmbeddedS3;
  let client: S3Client;

  beforeAll(async () => {
    work = tempDir('preprocess-package-');
    s3 = await startEmbeddedS3({ directory: path.join(work, 's3'), port: 0, bucket: BUCKET, onEvent: () => {} });
    client = new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  });
  afterAll(async () => {
    client?.destroy();
    await s3?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('measures an upload from its unzipped artefact alone: tempo, key and sections, through the embedded WebAssembly FFT', async () => {
    // Prepare: the zip, unzipped away from the checkout; the runtime's modules; a 20 s song at 120 BPM in S3.
    const out = path.join(work, 'package');
    await slsPackage({ stage: 'ci', region: 'eu-west-1', outDir: out, ffmpegBinary: '/usr/bin/ffmpeg' });
    const task = path.join(work, 'task');
    execFileSync('unzip', ['-q', path.join(out, 'preprocess.zip'), '-d', task]);
    const bundle = readFileSync(path.join(task, 'functions/preprocess/handler.js'), 'utf8');
    const external = [...new Set([...bundle.matchAll(/require\("(@aws-sdk\/[^"]+)"\)/g)].map((match) => match[1]))];
    const nodePath = runtimeModules(path.join(work, 'runtime'), external);
    const id = newUploadId();
    const key = keys.upload(id, 'song.mp3');
    const song = makeSong(path.join(work, 'song.mp3'), 20, { bpm: 120 });
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: readFileSync(song) }));

    // Act: Lambda's way in: require the handler from /var/task's stand-in and call it with an event and a context.
    const invoke = `require('./functions/preprocess/handler.js').handler(${JSON.stringify({ id, bucket: BUCKET, key })}, { awsRequestId: 'package-test' })
      .then((result) => console.log('RESULT ' + JSON.stringify(result)), (error) => { console.error(error); process.exit(1); });`;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', invoke], {
      cwd: task,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        NODE_PATH: nodePath,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'S3RVER',
        AWS_SECRET_ACCESS_KEY: 'S3RVER',
        S3_ENDPOINT: s3.endpoint,
        FFMPEG_BIN: path.join(task, 'layers/ffmpeg/bin/ffmpeg'),
      },
    });

    // Assess
    expect(bundle).not.toMatch(/require\("@echogarden\//);
    const result = JSON.parse(stdout.split('\n').find((line) => line.startsWith('RESULT '))!.slice('RESULT '.length));
    expect(result.manifestKey).toBe(keys.manifest(id));
    const manifest = JSON.parse(await (await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: result.manifestKey }))).Body!.transformToString()) as Manifest;
    expect(Math.abs(manifest.tags.bpm! / 120 - 1)).toBeLessThanOrEqual(0.03);
    expect(manifest.tags.key).toMatch(/^A minor|^C major/);
    expect(manifest.analysis.beats.length).toBeGreaterThan(30);
    expect(manifest.sections?.length).toBeGreaterThan(0);
  }, 300_000); // packaging waits its turn (test/helpers/sls.ts)
});
