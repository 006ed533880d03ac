/**
 * What S3 guarantees and s3rver does not, added in the embedded S3's process (runtime/s3-process.mts); plain Node
 * strips the types.
 *
 * 1. Read-after-write: s3rver answers a PutObject once its hash has seen the last byte, before the file is on
 *    disk, and writes over the old file in place, so a GET right after (or during) it can read a cut-off body.
 *    `atomicWrites` writes each object to a file beside it and renames it into place before answering: a
 *    reader sees the old object or the new one, whole. The metadata and the ETag (s3rver's .md5 file) are
 *    replaced the same way after it, the ETag last, and read before the body, so a reader never pairs an old
 *    body with a new ETag.
 *
 * 2. Conditional writes, which s3rver has none of: a PutObject with `If-None-Match: *` (create it only if no
 * object has the key) or `If-Match: <ETag>` (replace only the version read) answers 412 PreconditionFailed when
 * the condition does not hold, as S3 does (conditional writes, 2024). core/library.ts keeps the library's index
 * object current from concurrent Summarize steps with them; the same code runs against S3 and this.
 *
 * Conditional writes to one key pass one at a time, so a check and the write it allows cannot be split by another
 * conditional write (S3 answers 409 to such a conflict; here the second one waits and then sees the first's ETag).
 * An unconditional write is not held back: last writer wins, as in S3.
 *
 * 3. Uploads in turn (`uploadsInTurn`). This is no S3 guarantee but the one-machine stand-in for S3's capacity:
 *    S3 takes twenty people's uploads as fast as one person's, while here one JavaScript thread hashes and
 *    writes them all. Taken all at once they share it evenly and all finish together, so the first person's run
 *    cannot start until the twentieth's upload is in (20 three-minute mp3s: the first done after 0.9–1.4 s,
 *    against 0.09 s alone). Uploads are let in oldest first, one or a few at a time; the others are not read meanwhile
 *    (TCP holds their bytes back). One that has waited `maxWaitMs` goes ahead anyway, so a slow uploader (a
 *    phone on a bad line) holds nobody up for longer than that.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type S3rver from 's3rver';
import S3Error from 's3rver/lib/models/error.js';
import S3Object from 's3rver/lib/models/object.js';

/** The parts of s3rver's FilesystemStore that a write and a read use. */
interface FilesystemStore {
  getResourcePath(bucket: string, key: string, resource: string): string;
  getMetadata(bucket: string, key: string): Promise<Record<string, unknown>>;
  getObject(bucket: string, key: string, options?: { start?: number; end?: number }): Promise<unknown>;
  putMetadata(bucket: string, key: string, metadata: unknown, md5: string): Promise<void>;
  putObject(object: { bucket: string; key: string; content: Buffer | Readable; metadata: unknown }): Promise<{ size: number; md5: string }>;
}

/** Bytes of an object's body gathered before they are written to its file. */
const WRITE_BATCH_BYTES = 1 << 20;

export function atomicWrites(server: S3rver): void {
  const store = (server as unknown as { store: FilesystemStore }).store;
  let written = 0;
  store.putObject = async (object) => {
    const objectPath = store.getResourcePath(object.bucket, object.key, 'object');
    await mkdir(path.dirname(objectPath), { recursive: true });
    // Beside the object, so the rename stays on one file system; s3rver's listing skips names not ending in its suffix.
    const partial = `${objectPath}.partial-${process.pid}-${++written}`;
    const md5 = createHash('md5');
    let size = 0;
    const file = await open(partial, 'w');
    try {
      // The body's pieces are hashed as they come and written a batch at a time: a window's 320 KB is one write,
      // where a stream pipeline (body → hashing transform → file stream) took one write and three stream hops
      // per 64 KB piece. The batch bounds the memory a large upload holds.
      let batch: Buffer[] = [];
      let batchBytes = 0;
      for await (const piece of Buffer.isBuffer(object.content) ? [object.content] : (object.content as AsyncIterable<Buffer>)) {
        md5.update(piece);
        size += piece.length;
        batch.push(piece);
        batchBytes += piece.length;
        if (batchBytes >= WRITE_BATCH_BYTES) {
          await file.writeFile(Buffer.concat(batch, batchBytes));
          batch = [];
          batchBytes = 0;
        }
      }
      if (batchBytes > 0) await file.writeFile(Buffer.concat(batch, batchBytes));
      await file.close();
      await rename(partial, objectPath);
    } catch (error) {
      await file.close().catch(() => undefined);
      await rm(partial, { force: true });
      throw error;
    }
    const digest = md5.digest('hex');
    await store.putMetadata(object.bucket, object.key, object.metadata, digest);
    return { size, md5: digest };
  };
  // s3rver writes an object's metadata and ETag files in place too: a HEAD or GET meanwhile read an empty JSON
  // file and answered 500. Each is written beside and renamed into place, the ETag last.
  const replace = async (file: string, text: string) => {
    const partial = `${file}.partial-${process.pid}-${++written}`;
    await writeFile(partial, text);
    await rename(partial, file);
  };
  store.putMetadata = async (bucket, key, metadata, md5) => {
    const kept = Object.fromEntries(
      Object.entries(metadata as Record<string, string>).filter(([name]) => S3Object.ALLOWED_METADATA.includes(name) || name.startsWith('x-amz-meta-')),
    );
    await replace(store.getResourcePath(bucket, key, 'metadata.json'), JSON.stringify(kept, null, 2));
    if (md5) await replace(store.getResourcePath(bucket, key, 'object.md5'), md5);
  };
  // s3rver's GET takes the length from one stat of the object's path and then opens the path again: a rename
  // between the two served the new body cut to the old length. The body is opened once here and its length
  // read from that open file, so length and bytes are one version's. (The ETag, read before, is then that
  // version's or an older one: a conditional write based on it fails and reads again, never overwrites.)
  store.getObject = async (bucket, key, options) => {
    let metadata: Record<string, unknown>;
    let file;
    try {
      metadata = await store.getMetadata(bucket, key);
      file = await open(store.getResourcePath(bucket, key, 'object'), 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    const stat = await file.stat();
    const opened = { ...metadata, 'content-length': stat.size, 'last-modified': stat.mtime.toUTCString() };
    const lastByte = Math.max(0, stat.size - 1);
    const range = { start: options?.start ?? 0, end: Math.min(options?.end ?? Infinity, lastByte) };
    const ranged = options !== undefined && (options.start !== undefined || Boolean(options.end));
    if (range.start < 0 || range.end < range.start) {
      await file.close();
      const object = new S3Object(bucket, key, null, opened);
      if (ranged) object.range = range;
      return object;
    }
    const object = new S3Object(bucket, key, file.createReadStream({ start: range.start, end: range.end, autoClose: true }), opened);
    if (ranged) object.range = range;
    return object;
  };
}

interface KoaContext {
  method: string;
  path: string;
  query: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
  app: { store: { getMetadata(bucket: string, key: string): Promise<{ etag: string }> } };
}
type Middleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;

/** The bucket and key a request names, path-style (every client of the embedded S3 uses it): /bucket/key. */
function objectOf(ctx: KoaContext): { bucket: string; key: string } | undefined {
  const match = /^\/([^/]+)\/(.+)$/.exec(ctx.path);
  return match ? { bucket: decodeURIComponent(match[1]), key: decodeURIComponent(match[2]) } : undefined;
}

const unquote = (etag: string) => etag.trim().replace(/^W\//, '').replace(/^"|"$/g, '');

export function conditionalWrites(server: S3rver): void {
  const writing = new Map<string, Promise<void>>();

  const middleware: Middleware = async (ctx, next) => {
    const ifMatch = ctx.headers['if-match'];
    const ifNoneMatch = ctx.headers['if-none-match'];
    const object = objectOf(ctx);
    const isObjectPut = ctx.method === 'PUT' && object && !('partNumber' in ctx.query) && !('uploadId' in ctx.query);
    if (!isObjectPut || (typeof ifMatch !== 'string' && typeof ifNoneMatch !== 'string')) return next();

    const { bucket, key } = object;
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

export interface UploadTurns {
  /** PUTs (whole objects and multipart parts) under this key prefix take turns, and browsers' form POSTs: people's uploads. */
  keyPrefix: string;
  /** How many uploads are read at once. */
  slots: number;
  /** The longest an upload waits for its turn before it goes ahead anyway. */
  maxWaitMs: number;
}

export function uploadsInTurn(server: S3rver, turns: UploadTurns): void {
  let reading = 0;
  const waiting: Array<() => void> = [];
  const letNextIn = () => {
    while (reading < turns.slots && waiting.length > 0) {
      reading++;
      waiting.shift()!();
    }
  };
  /** Resolves with true once it holds a slot, or false once it has waited maxWaitMs (it goes ahead without one). */
  const turn = () =>
    new Promise<boolean>((resolve) => {
      if (reading < turns.slots && waiting.length === 0) {
        reading++;
        return resolve(true);
      }
      const enter = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        waiting.splice(waiting.indexOf(enter), 1);
        resolve(false);
      }, turns.maxWaitMs);
      waiting.push(enter);
    });

  /** A request that carries an upload's bytes: a PUT under the prefix (whole, or one part), or a browser's form POST. */
  const isUpload = (ctx: KoaContext) => {
    if (ctx.method === 'PUT') return objectOf(ctx)?.key.startsWith(turns.keyPrefix) ?? false;
    // The site's presigned POST goes to the bucket itself, its key inside the form; DeleteObjects is POST ?delete.
    return ctx.method === 'POST' && /^\/[^/]+\/?$/.test(ctx.path) && !('delete' in ctx.query);
  };

  const middleware: Middleware = async (ctx, next) => {
    if (!isUpload(ctx)) return next();
    const holdsSlot = await turn();
    try {
      await next();
    } finally {
      if (holdsSlot) {
        reading--;
        letNextIn();
      }
    }
  };
  (server as unknown as { middleware: Middleware[] }).middleware.unshift(middleware);
}
