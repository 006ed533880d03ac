/**
 * Deleting a run from the command line: `npm run caption -- delete <run id…>` (runtime/cli.ts picks the way;
 * this file does the work). Two ways, the same result:
 *   - `deleteRunInBucket`: straight against the bucket (the embedded S3 the CLI already talks to, or AWS with
 *     the caller's credentials, which are themselves the permission);
 *   - `deleteRunThroughSite`: through a running site's DELETE /api/runs/{id}, with its access token when one is
 *     set (Authorization: Bearer), so the site's rule — not while the run is still going — applies too.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { LibraryCache } from '#core/library';
import { s3LibraryStore } from '../functions/shared/library-store.ts';

/** Deletes the run's upload, windows, captions, result and library entry; the keys deleted (none: no such run). */
export async function deleteRunInBucket(s3: S3Client, bucket: string, id: string): Promise<string[]> {
  return new LibraryCache(s3LibraryStore(s3, bucket)).delete(id);
}

export interface SiteDeleteAnswer {
  ok: boolean;
  status: number;
  /** The site's own words: "Run … is still running", "There is no run …", or how many objects went. */
  message: string;
  deletedObjects?: number;
}

/** DELETE {siteUrl}/api/runs/{id}, with the access token as a bearer when given. Never throws for an HTTP answer. */
export async function deleteRunThroughSite(siteUrl: string, id: string, accessToken?: string): Promise<SiteDeleteAnswer> {
  const answer = await fetch(new URL(`/api/runs/${encodeURIComponent(id)}`, siteUrl), {
    method: 'DELETE',
    headers: accessToken ? { authorization: `Bearer ${accessToken}` } : {},
  });
  const body = (await answer.json().catch(() => ({}))) as { deletedObjects?: number; error?: { message?: string } };
  if (!answer.ok) return { ok: false, status: answer.status, message: body.error?.message ?? `The site answered ${answer.status}.` };
  return { ok: true, status: answer.status, deletedObjects: body.deletedObjects, message: `Deleted run ${id} (${body.deletedObjects ?? 0} objects).` };
}
