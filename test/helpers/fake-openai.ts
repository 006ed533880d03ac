/**
 * An OpenAI-compatible chat-completions server on loopback: real HTTP for the real SDK. Each request is recorded
 * and answered by a responder the test sets (and may change between runs); the audio-LLM caption tests read what
 * arrived. The same pattern as test/summarize-llm.test.ts's server, with the responder as a function.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Reply = { status: number; body: unknown; headers?: Record<string, string>; delayMs?: number };
export interface ChatContentPart {
  type: string;
  text?: string;
  input_audio?: { data: string; format: string };
}
export interface RecordedRequest {
  model: string;
  messages: Array<{ role: string; content: string | ChatContentPart[] }>;
  authorization?: string;
}

export const completion = (text: string, usage?: Record<string, unknown>): Reply => ({
  status: 200,
  body: {
    id: 'c1',
    object: 'chat.completion',
    created: 0,
    model: 'test-model',
    choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: text } }],
    ...(usage ? { usage } : {}),
  },
});
export const failure = (status: number, code: string, message: string): Reply => ({ status, body: { error: { message, type: code, code } } });

export class FakeOpenAi {
  requests: RecordedRequest[] = [];
  inFlight = 0;
  maxInFlight = 0;
  private server!: Server;
  constructor(public respond: (request: RecordedRequest, nth: number) => Reply) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.answer(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  reset(respond: (request: RecordedRequest, nth: number) => Reply) {
    this.respond = respond;
    this.requests = [];
    this.maxInFlight = 0;
  }

  private async answer(req: IncomingMessage, res: ServerResponse) {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const request = { ...(JSON.parse(Buffer.concat(chunks).toString()) as RecordedRequest), authorization: req.headers.authorization };
      this.requests.push(request);
      const reply = this.respond(request, this.requests.length - 1);
      if (reply.delayMs) await new Promise((resolve) => setTimeout(resolve, reply.delayMs));
      if (!res.destroyed) {
        res.writeHead(reply.status, { 'content-type': 'application/json', 'retry-after-ms': '10', ...reply.headers });
        res.end(JSON.stringify(reply.body));
      }
    } finally {
      this.inFlight--;
    }
  }

  stop() {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(resolve));
  }
}

/** The text of a request's user message and its audio parts. */
export function userParts(request: RecordedRequest): { text: string; audio: Array<{ data: string; format: string }> } {
  const user = request.messages.find((message) => message.role === 'user');
  const parts = typeof user?.content === 'string' ? [{ type: 'text', text: user.content }] : (user?.content ?? []);
  return {
    text: parts.filter((part) => part.type === 'text').map((part) => part.text ?? '').join('\n'),
    audio: parts.filter((part) => part.type === 'input_audio').map((part) => part.input_audio!),
  };
}
