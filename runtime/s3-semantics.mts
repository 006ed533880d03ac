/**
 * S3's conditional writes on s3rver, which has none: a PutObject with `If-None-Match: *` (create it only if no
 * object has the key) or `If-Match: <ETag>` (replace only the version read) answers 412 PreconditionFailed when
 * the condition does not hold, as S3 does (conditional writes, 2024). core/library.ts keeps the library's index
 * object current from concurrent Summarize steps with them; the same code runs against S3 and this.
 *
 * Conditional writes to one key pass one at a time, so a check and the write it allows cannot be split by another
 * conditional write (S3 answers 409 to such a conflict; here the second one waits and then sees the first's ETag).
 * An unconditional write is not held back: last writer wins, as in S3.
 * Runs in the embedded S3's process (runtime/s3-process.mts); plain Node strips the types.
 */
import type S3rver from 's3rver';
import S3Error from 's3rver/lib/models/error.js';

interface KoaContext {
  method: string;
  path: string;
  query: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
  app: { store: { getMetadata(bucket: string, key: string): Promise<{ etag: string }> } };
}
type Middleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;

const unquote = (etag: string) => etag.trim().replace(/^W\//, '').replace(/^"|"$/g, '');

export function conditionalWrites(server: S3rver): void {
  const writing = new Map<string, Promise<void>>();

  const middleware: Middleware = async (ctx, next) => {
    const ifMatch = ctx.headers['if-match'];
    const ifNoneMatch = ctx.headers['if-none-match'];
    // Path-style requests only (every client of the embedded S3 uses them): /bucket/key.
    const match = /^\/([^/]+)\/(.+)$/.exec(ctx.path);
    const isObjectPut = ctx.method === 'PUT' && match && !('partNumber' in ctx.query) && !('uploadId' in ctx.query);
    if (!isObjectPut || (typeof ifMatch !== 'string' && typeof ifNoneMatch !== 'string')) return next();

    const bucket = decodeURIComponent(match[1]);
    const key = decodeURIComponent(match[2]);
    const lockKey = `${bucket}/${key}`;
    const before = writing.get(lockKey) ?? Promise.resolve();
    let release = () => undefined as void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const chained = before.then(() => mine);
    writing.set(lockKey, chained);
    await before;
    try {
      const current = await ctx.app.store.getMetadata(bucket, key).then(
        (metadata) => unquote(metadata.etag),
        (error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT') return undefined;
          throw error;
        },
      );
      const holds =
        (typeof ifNoneMatch !== 'string' || (ifNoneMatch.trim() === '*' ? current === undefined : current !== unquote(ifNoneMatch))) &&
        (typeof ifMatch !== 'string' || (current !== undefined && (ifMatch.trim() === '*' || current === unquote(ifMatch))));
      if (!holds) {
        throw preconditionFailed(typeof ifMatch === 'string' ? 'If-Match' : 'If-None-Match');
      }
      await next();
    } finally {
      release();
      if (writing.get(lockKey) === chained) writing.delete(lockKey);
    }
  };
  // First in the chain, before s3rver's own routing; Koa composes the list when the server starts listening.
  (server as unknown as { middleware: Middleware[] }).middleware.unshift(middleware);
}

/** s3rver's own error type, so its error handler answers with S3's XML body and status 412. */
function preconditionFailed(condition: string): Error {
  return new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: condition });
}
