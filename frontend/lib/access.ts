/**
 * The optional access token. The browser keeps a session cookie holding a digest of the token (never the
 * token itself); API clients may send `Authorization: Bearer <token>`. Pure and Web-Crypto based, so the
 * proxy, the pages and the route handlers share it.
 */
export const SESSION_COOKIE = 'mc_session';

export async function sessionValue(token: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`music-captioner session:${token}`));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** Compares in time independent of where the strings differ. */
export function sameSecret(a: string, b: string): boolean {
  let difference = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) difference |= (a.charCodeAt(i) | 0) ^ (b.charCodeAt(i) | 0);
  return difference === 0;
}

export interface Credentials {
  cookie?: string;
  authorization?: string | null;
}

/** Whether a request may pass: always when no token is configured. */
export async function hasAccess(accessToken: string | undefined, credentials: Credentials): Promise<boolean> {
  if (!accessToken) return true;
  const bearer = credentials.authorization?.match(/^Bearer\s+(.+)$/i)?.[1];
  if (bearer !== undefined && sameSecret(bearer.trim(), accessToken)) return true;
  return credentials.cookie !== undefined && sameSecret(credentials.cookie, await sessionValue(accessToken));
}
