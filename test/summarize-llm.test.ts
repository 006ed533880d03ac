/**
 * The Summarize step against a real OpenAI-compatible HTTP server on loopback, through the whole state
 * machine: the OpenAI SDK, the state machine's Retry and Catch, and the local fallback all run for real.
 */
import { GetExecutionHistoryCommand, SFNClient } from '@aws-sdk/client-sfn';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { ResultDocument } from '#core/contract';
import { stepsFromHistory } from '#core/run-steps';
import { makeSong, tempDir } from './helpers/audio.ts';
import { bootRuntime, type TestRuntime } from './helpers/runtime.ts';

type Reply = { status: number; body: unknown; headers?: Record<string, string> };

/** Answers chat completions from a script of replies (the last one repeats), recording every request. */
class FakeLlm {
  requests: Array<{ model: string; messages: Array<{ role: string; content: string }>; authorization?: string }> = [];
  private server!: Server;
  constructor(private script: Reply[]) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.answer(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  private async answer(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString());
    this.requests.push({ ...body, authorization: req.headers.authorization });
    const reply = this.script[Math.min(this.requests.length - 1, this.script.length - 1)];
    res.writeHead(reply.status, { 'content-type': 'application/json', 'retry-after-ms': '10', ...reply.headers });
    res.end(JSON.stringify(reply.body));
  }

  stop() {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(resolve));
  }
}

const completion = (text: string): Reply => ({
  status: 200,
  body: { id: 'c1', object: 'chat.completion', created: 0, model: 'test-model', choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: text } }] },
});
const failure = (status: number, code: string, message: string): Reply => ({ status, body: { error: { message, type: code, code } } });

const dir = tempDir('llm-audio-');
const song = () => makeSong(path.join(dir, 'song.wav'), 12, { bpm: 90 });

async function runWith(script: Reply[], id: string) {
  const llm = new FakeLlm(script);
  const baseUrl = await llm.start();
  const runtime: TestRuntime = await bootRuntime({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: baseUrl, OPENAI_MODEL: 'test-model' });
  try {
    await runtime.upload(id, song());
    await runtime.settle(id, 60_000);
    const record = runtime.executions.list().find((r) => r.name === id)!;
    // The history as the site and the CLI read it: through the Step Functions API.
    const sfn = new SFNClient({ region: runtime.region, endpoint: runtime.sfnEndpoint });
    const { events = [] } = await sfn.send(new GetExecutionHistoryCommand({ executionArn: record.executionArn, maxResults: 1000 }));
    const summarize = stepsFromHistory(events).find((step) => step.name === 'Summarize')!;
    let state = '';
    let summarizeAttempts = 0;
    for (const event of events) {
      if (event.stateEnteredEventDetails?.name) state = event.stateEnteredEventDetails.name;
      if (event.type === 'TaskScheduled' && state === 'Summarize') summarizeAttempts++;
    }
    return { record, result: (await runtime.result(id)) as ResultDocument, llm, summarize, summarizeAttempts };
  } finally {
    await runtime.stop();
    await llm.stop();
  }
}

describe('summarize with an LLM', () => {
  it('retries a rate-limited LLM and ends SUCCEEDED with its summary, the retries in the history', async () => {
    // Prepare
    const text = 'A warm, unhurried groove: a sustained minor chord rides over a steady kick drum from start to end.';
    // Act
    const { record, result, llm, summarize, summarizeAttempts } = await runWith(
      [failure(429, 'rate_limit_exceeded', 'Rate limit reached'), failure(429, 'rate_limit_exceeded', 'Rate limit reached'), completion(text)],
      'llm-rate-limited',
    );
    // Assess
    expect(record.status).toBe('SUCCEEDED');
    expect(result.summary).toEqual({ text, source: 'openai', model: 'test-model' });
    expect(llm.requests).toHaveLength(3);
    expect(summarizeAttempts).toBe(2);
    expect(summarize).toMatchObject({ status: 'succeeded', retries: 1 });
    expect(llm.requests[0].authorization).toBe('Bearer sk-test');
    expect(llm.requests[0].messages[1].content).toContain('[0:00–0:10]');
    expect(llm.requests[0].messages[1].content).toMatch(/tempo \d+ BPM/);
    expect(llm.requests[0].messages[1].content).toMatch(/meter /);
    expect(llm.requests[0].messages[1].content).toMatch(/Key sections: 0:00–/);
    expect(llm.requests[0].messages[1].content).toMatch(/Tempo changes: /);
    expect(llm.requests[0].messages[1].content).toMatch(/Loudness of the file: integrated -?\d+\.\d LUFS \(.*streaming reference/);
  }, 60_000);

  it('falls back to the local summary when the LLM stays unavailable, and still succeeds', async () => {
    // Act
    const { record, result, llm, summarize } = await runWith([failure(503, 'server_error', 'Overloaded')], 'llm-down');
    // Assess
    expect(record.status).toBe('SUCCEEDED');
    expect(result.summary).toMatchObject({ source: 'local', fallbackReason: expect.stringContaining('SummaryServiceUnavailable') });
    expect(result.summary.text).toContain('song.wav');
    // Four state attempts (the first and three retries), each tried twice by the adapter.
    expect(llm.requests).toHaveLength(8);
    expect(summarize).toMatchObject({ status: 'succeeded', retries: 3, fellBack: true });
  }, 60_000);

  it.each([
    ['a rejected key (401)', failure(401, 'invalid_api_key', 'Incorrect API key provided'), 'SummaryAuthFailed'],
    ['no quota left (insufficient_quota)', failure(429, 'insufficient_quota', 'You exceeded your current quota'), 'SummaryQuotaExceeded'],
  ])('does not retry %s and writes the local summary', async (_label, reply, errorName) => {
    // Act
    const { record, result, llm, summarize, summarizeAttempts } = await runWith([reply], `llm-final-${errorName.toLowerCase()}`);
    // Assess
    expect(record.status).toBe('SUCCEEDED');
    expect(llm.requests).toHaveLength(1);
    expect(summarizeAttempts).toBe(1);
    expect(summarize).toMatchObject({ retries: 0, fellBack: true });
    expect(result.summary).toMatchObject({ source: 'local', fallbackReason: expect.stringContaining(errorName) });
  }, 60_000);

  it('asks again when the summary names a tempo that was not measured, and keeps the corrected one', async () => {
    // Prepare
    const corrected = 'A calm piece: a sustained chord over a steady kick that never lets up.';
    // Act
    const { result, llm } = await runWith([completion('An energetic 174 BPM drum and bass roller in F# major.'), completion(corrected)], 'llm-contradiction');
    // Assess
    expect(llm.requests).toHaveLength(2);
    expect(llm.requests[1].messages[1].content).toMatch(/states 174 BPM/);
    expect(result.summary).toMatchObject({ text: corrected, source: 'openai' });
  }, 60_000);

  it('asks again when the summary names a meter and a key that no section has, and falls back when it insists', async () => {
    // Prepare: 7/8 is no meter the tracker reports, and the clip is an A-minor chord.
    const wrong = 'A lilting dance in 7/8, bright and open in F# major.';
    // Act
    const { result, llm } = await runWith([completion(wrong)], 'llm-meter-key');
    // Assess
    expect(llm.requests).toHaveLength(2);
    expect(llm.requests[1].messages[1].content).toMatch(/states 7\/8 but the measured meter is/);
    expect(llm.requests[1].messages[1].content).toMatch(/states F# major but the measured key/);
    expect(result.summary).toMatchObject({ source: 'local', fallbackReason: expect.stringContaining('contradicted the measurements') });
    expect(result.summary.text).toContain('song.wav');
  }, 60_000);
});
