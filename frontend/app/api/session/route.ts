import { sameSecret, sessionValue, SESSION_COOKIE } from '../../../lib/access.ts';
import { config } from '../../../lib/server/config.ts';

/** The login form posts here: a right token sets the session cookie and goes on; a wrong one goes back. */
export async function POST(request: Request) {
  const form = await request.formData().catch(() => undefined);
  const token = String(form?.get('token') ?? '').trim();
  const requested = String(form?.get('next') ?? '/');
  // Only paths on this site: never an open redirect.
  const next = requested.startsWith('/') && !requested.startsWith('//') ? requested : '/';
  const expected = config().ACCESS_TOKEN;
  // Relative locations: behind a proxy, request.url may name the internal host.
  if (expected && !sameSecret(token, expected)) {
    const back = `/login?${new URLSearchParams({ next, wrong: '1' })}`;
    return new Response(null, { status: 303, headers: { Location: back, 'Cache-Control': 'no-store' } });
  }
  const headers = new Headers({ Location: next, 'Cache-Control': 'no-store' });
  if (expected) {
    const secure = new URL(request.url).protocol === 'https:' || request.headers.get('x-forwarded-proto') === 'https' ? '; Secure' : '';
    headers.append(
      'Set-Cookie',
      `${SESSION_COOKIE}=${await sessionValue(expected)}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${30 * 24 * 3600}${secure}`,
    );
  }
  return new Response(null, { status: 303, headers });
}
