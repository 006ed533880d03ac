import 'server-only';
import { cookies } from 'next/headers';
import { redirect } from 'next/navigation';
import { hasAccess, SESSION_COOKIE } from '../access.ts';
import { config } from './config.ts';

/** Pages check the access token themselves too: the proxy's check is only the fast path. */
export async function ensurePageAccess(path: string): Promise<void> {
  const cookie = (await cookies()).get(SESSION_COOKIE)?.value;
  if (!(await hasAccess(config().ACCESS_TOKEN, { cookie }))) redirect(`/login?next=${encodeURIComponent(path)}`);
}
