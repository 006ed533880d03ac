import { NextResponse, type NextRequest } from 'next/server';
import { hasAccess, SESSION_COOKIE } from './lib/access.ts';
import { contentSecurityPolicy } from './lib/csp.ts';

/**
 * Every page gets a fresh nonce and the content security policy built on it; with an access token
 * configured, requests without the session cookie go to /login (pages) or get 401 (API). Route handlers and
 * pages check access again themselves.
 */
export async function proxy(request: NextRequest) {
  const token = process.env.ACCESS_TOKEN || undefined;
  const { pathname, search } = request.nextUrl;
  const open = pathname === '/login' || pathname === '/api/session';
  if (!open) {
    const allowed = await hasAccess(token, {
      cookie: request.cookies.get(SESSION_COOKIE)?.value,
      authorization: request.headers.get('authorization'),
    });
    if (!allowed && pathname.startsWith('/api/')) {
      return NextResponse.json(
        { error: { name: 'Unauthorized', message: 'This site needs its access token.' } },
        { status: 401, headers: { 'Cache-Control': 'no-store' } },
      );
    }
    if (!allowed) {
      const login = new URL('/login', request.url);
      login.searchParams.set('next', `${pathname}${search}`);
      return NextResponse.redirect(login, 303);
    }
  }
  if (pathname.startsWith('/api/')) return NextResponse.next();

  const nonce = btoa(crypto.randomUUID());
  const { S3_ENDPOINT, BUCKET, AWS_REGION, SITE_ORIGIN } = process.env;
  const policy = contentSecurityPolicy(nonce, { S3_ENDPOINT, BUCKET, AWS_REGION, SITE_ORIGIN });
  const requestHeaders = new Headers(request.headers);
  requestHeaders.set('x-nonce', nonce);
  requestHeaders.set('Content-Security-Policy', policy);
  const response = NextResponse.next({ request: { headers: requestHeaders } });
  response.headers.set('Content-Security-Policy', policy);
  return response;
}

export const config = {
  matcher: [
    {
      source: '/((?!_next/static|_next/image|favicon.ico|icon.svg).*)',
      missing: [
        { type: 'header', key: 'next-router-prefetch' },
        { type: 'header', key: 'purpose', value: 'prefetch' },
      ],
    },
  ],
};
