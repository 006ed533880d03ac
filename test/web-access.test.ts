/**
 * `npm start` with ACCESS_TOKEN set, over plain HTTP: the site asks for the token once, the API refuses
 * without it, uploads are rate-limited per client, and every page carries the security headers.
 */
import { startApp, type StartedApp } from './helpers/browser.ts';

const TOKEN = 'a-long-enough-access-token';
let app: StartedApp;

beforeAll(async () => {
  app = await startApp({ ACCESS_TOKEN: TOKEN, UPLOADS_PER_HOUR: '2' });
}, 300_000);
afterAll(async () => {
  await app?.stop();
});

const get = (path: string, headers: Record<string, string> = {}) => fetch(`${app.siteUrl}${path}`, { headers, redirect: 'manual' });

async function login(token: string): Promise<Response> {
  return fetch(`${app.siteUrl}/api/session`, {
    method: 'POST',
    body: new URLSearchParams({ token, next: '/runs/abc' }),
    redirect: 'manual',
  });
}

function uploadRequest(headers: Record<string, string>) {
  return fetch(`${app.siteUrl}/api/uploads`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify({ fileName: 'song.mp3', contentType: 'audio/mpeg', sizeBytes: 1000 }),
  });
}

describe('with an access token', () => {
  it('sends pages without the session to the token form, remembering where they were going', async () => {
    // Act
    const home = await get('/runs/20260101-000000-abcdefgh');
    const form = await get('/login?next=%2F');

    // Assess
    expect(home.status).toBe(303);
    expect(home.headers.get('location')).toMatch(/\/login\?next=%2Fruns%2F20260101-000000-abcdefgh$/);
    expect(form.status).toBe(200);
    expect(await form.text()).toContain('This site needs its access token');
  });

  it('refuses the API without the token, with a JSON reason', async () => {
    // Act
    const runs = await get('/api/runs');

    // Assess
    expect(runs.status).toBe(401);
    expect(await runs.json()).toEqual({ error: { name: 'Unauthorized', message: 'This site needs its access token.' } });
  });

  it('sends a wrong token back to the form and sets no cookie', async () => {
    // Act
    const answer = await login('not-the-token');

    // Assess
    expect(answer.status).toBe(303);
    expect(answer.headers.get('location')).toBe('/login?next=%2Fruns%2Fabc&wrong=1');
    expect(answer.headers.get('set-cookie')).toBeNull();
  });

  it('lets the browser in with the cookie the right token earns, once', async () => {
    // Act
    const answer = await login(TOKEN);
    const cookie = answer.headers.get('set-cookie')!.split(';')[0];
    const home = await get('/', { cookie });
    const runs = await get('/api/runs', { cookie });

    // Assess
    expect(answer.status).toBe(303);
    expect(answer.headers.get('location')).toBe('/runs/abc');
    expect(answer.headers.get('set-cookie')).toMatch(/HttpOnly; SameSite=Lax; Max-Age=\d+/);
    expect(cookie).not.toContain(TOKEN);
    expect(home.status).toBe(200);
    expect(runs.status).toBe(200);
    expect(await runs.json()).toMatchObject({ runs: [], library: { runs: [], total: 0 } });
  });

  it('accepts the token as a bearer for API clients', async () => {
    expect((await get('/api/runs', { authorization: `Bearer ${TOKEN}` })).status).toBe(200);
  });
});

describe('the upload API', () => {
  it('rate-limits tickets per client and says when to try again', async () => {
    // Prepare
    const auth = { authorization: `Bearer ${TOKEN}` };

    // Act
    const answers = [await uploadRequest(auth), await uploadRequest(auth), await uploadRequest(auth)];
    const spoofed = await uploadRequest({ ...auth, 'x-forwarded-for': '198.51.100.7' });

    // Assess
    expect(answers.map((answer) => answer.status)).toEqual([201, 201, 429]);
    expect(Number(answers[2].headers.get('retry-after'))).toBeGreaterThan(3000);
    expect((await answers[2].json()).error.name).toBe('TooManyRequests');
    const ticket = (await answers[0].json()) as { id: string; url: string; fields: Record<string, string> };
    expect(ticket.fields.key).toBe(`uploads/${ticket.id}/song.mp3`);
    // Naming another address does not make another client: the server adds the one it saw.
    expect(spoofed.status).toBe(429);
  });

  it('refuses a file the upload policy does not accept with its reason, before the rate limit', async () => {
    // Act
    const answer = await fetch(`${app.siteUrl}/api/uploads`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', authorization: `Bearer ${TOKEN}`, 'x-forwarded-for': '192.0.2.1' },
      body: JSON.stringify({ fileName: 'notes.txt', contentType: 'text/plain', sizeBytes: 10 }),
    });

    // Assess
    expect(answer.status).toBe(400);
    expect((await answer.json()).error.message).toContain('does not look like audio');
  });
});

describe('every page', () => {
  it('carries a nonce-based content security policy and the security headers', async () => {
    // Act
    const page = await get('/login');
    const html = await page.text();

    // Assess
    const policy = page.headers.get('content-security-policy') ?? '';
    const nonce = /'nonce-([^']+)'/.exec(policy)?.[1];
    expect(nonce).toBeDefined();
    const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((match) => match[0]);
    expect(scripts.length).toBeGreaterThan(0);
    expect(scripts.every((tag) => tag.includes(`nonce="${nonce}"`))).toBe(true);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('referrer-policy')).toBe('strict-origin-when-cross-origin');
    expect(page.headers.get('x-powered-by')).toBeNull();
    // A fresh nonce every time.
    expect((await get('/login')).headers.get('content-security-policy')).not.toBe(policy);
  });
});
