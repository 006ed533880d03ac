import 'server-only';
import { cookies } from 'next/headers';
import { hasAccess, SESSION_COOKIE } from '../access.ts';
import { config } from './config.ts';

/** An error whose message is meant for the person asking: 4xx. Anything else becomes a plain 500. */
export abstract class HttpError extends Error {
  abstract override readonly name: string;
  abstract readonly status: number;
}
export class BadRequest extends HttpError {
  override readonly name = 'BadRequest';
  readonly status = 400;
}
export class Unauthorized extends HttpError {
  override readonly name = 'Unauthorized';
  readonly status = 401;
}
export class NotFound extends HttpError {
  override readonly name = 'NotFound';
  readonly status = 404;
}
export class TooManyRequests extends HttpError {
  override readonly name = 'TooManyRequests';
  readonly status = 429;
  constructor(
    message: string,
    readonly retryAfterSec: number,
  ) {
    super(message);
  }
}

const NO_STORE = { 'Cache-Control': 'no-store' };

export function json(body: unknown, init: ResponseInit = {}): Response {
  return Response.json(body, { ...init, headers: { ...NO_STORE, ...init.headers } });
}

export function errorResponse(error: unknown): Response {
  if (error instanceof HttpError) {
    const headers: Record<string, string> = error instanceof TooManyRequests ? { 'Retry-After': String(error.retryAfterSec) } : {};
    return json({ error: { name: error.name, message: error.message } }, { status: error.status, headers });
  }
  console.error('[site] request failed:', error);
  return json({ error: { name: 'InternalError', message: 'Something went wrong on the server. Try again in a moment.' } }, { status: 500 });
}

/** Refuses the request unless it carries the access token (when one is configured). */
export async function requireAccess(request: Request): Promise<void> {
  const cookie = (await cookies()).get(SESSION_COOKIE)?.value;
  if (!(await hasAccess(config().ACCESS_TOKEN, { cookie, authorization: request.headers.get('authorization') }))) {
    throw new Unauthorized('This site needs its access token.');
  }
}

/** Runs a route handler's body: access check first, errors as JSON. */
export async function handle(request: Request, body: () => Promise<Response>): Promise<Response> {
  try {
    await requireAccess(request);
    return await body();
  } catch (error) {
    return errorResponse(error);
  }
}

/**
 * Who is asking, for the upload rate limit. Next.js sets X-Forwarded-For to the peer when absent; each
 * trusted proxy in front appends the address it saw, so the client is `hops` entries from the right.
 */
export function clientKey(forwardedFor: string | null, trustedHops: number): string {
  const entries = (forwardedFor ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (entries.length === 0) return 'unknown';
  return entries[Math.max(0, entries.length - 1 - trustedHops)];
}
