/**
 * `npm start` with CAPTION_BACKEND=audio-llm: an upload runs through the ASL file's audio-LLM branch against a
 * loopback OpenAI-compatible server, and the site's run page and API show the model's captions.
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { makeSong, tempDir } from './helpers/audio.ts';
import { startApp, type StartedApp } from './helpers/browser.ts';
import { completion, FakeOpenAi, userParts } from './helpers/fake-openai.ts';

const dir = tempDir('caption-llm-site-');
const captionFor = (excerpt: string) => `A soft synth pad and a muffled kick drum move gently together from ${excerpt}, calm and unhurried.`;
let llm: FakeOpenAi;
let app: StartedApp;

beforeAll(async () => {
  llm = new FakeOpenAi((request) => completion(captionFor(/Excerpt (\d+:\d\d)–/.exec(userParts(request).text)?.[1] ?? '?')));
  const baseUrl = await llm.start();
  app = await startApp({ CAPTION_BACKEND: 'audio-llm', CAPTION_LLM_API_KEY: 'sk-caption', CAPTION_LLM_BASE_URL: baseUrl });
}, 300_000);

afterAll(async () => {
  await app?.stop();
  await llm?.stop();
  rmSync(dir, { recursive: true, force: true });
});

it("shows the audio LLM's captions on the run page and in the runs API", async () => {
  // Prepare
  const { s3Endpoint, bucket } = JSON.parse(readFileSync(path.join(app.dataDir, 'runtime.json'), 'utf8')) as { s3Endpoint: string; bucket: string };
  const s3 = new S3Client({ region: 'us-east-1', endpoint: s3Endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  const song = makeSong(path.join(dir, 'song.wav'), 14, { bpm: 100 });
  // Act
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'uploads/site-audio-llm/song.wav', Body: readFileSync(song) }));
  let run: { phase?: string; executionStatus?: string; result?: { chunks: Array<{ caption: string; quality: string }>; captioner: Record<string, unknown> } } = {};
  const deadline = Date.now() + 90_000;
  while (run.phase !== 'succeeded' && run.phase !== 'failed' && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const answer = await fetch(`${app.siteUrl}/api/runs/site-audio-llm`);
    if (answer.ok) run = (await answer.json()) as typeof run;
  }
  const page = await (await fetch(`${app.siteUrl}/runs/site-audio-llm`)).text();
  // Assess
  expect(run).toMatchObject({ phase: 'succeeded', executionStatus: 'SUCCEEDED' });
  expect(run.result!.captioner).toMatchObject({ backend: 'audio-llm', model: 'gpt-audio-1.5', windows: 2, fallbacks: 0 });
  expect(run.result!.chunks.map((chunk) => chunk.caption)).toEqual([captionFor('0:00'), captionFor('0:04')]);
  for (const excerpt of ['0:00', '0:04']) expect(page).toContain(captionFor(excerpt));
  expect(llm.requests).toHaveLength(2);
}, 150_000);
