import 'server-only';
import type { S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { z } from 'zod';
import { keys } from '#core/contract';
import { newUploadId, safeFileName } from '#core/ids';
import { checkUpload } from '#core/upload-policy';
import type { UploadTicket } from '../run-view.ts';
import { clients } from './aws.ts';
import { config, type SiteConfig } from './config.ts';
import { BadRequest, TooManyRequests } from './http.ts';
import { RateLimiter } from './rate-limit.ts';

/** A signed form is good for this long: enough to start a large upload on a slow line. */
const POST_EXPIRES_SECONDS = 15 * 60;

export const uploadRequestSchema = z.object({
  fileName: z.string().min(1).max(500),
  contentType: z.string().max(200).default(''),
  sizeBytes: z.number().int().nonnegative(),
});
export type UploadRequest = z.infer<typeof uploadRequestSchema>;

/**
 * A presigned POST for one new upload: the server picks the id and the key, and the policy pins the key,
 * the content type and the size range, so the browser can only put that one file there.
 */
export async function createUploadTicket(
  request: UploadRequest,
  settings: Pick<SiteConfig, 'BUCKET' | 'MAX_UPLOAD_BYTES'>,
  s3: S3Client,
  now: Date = new Date(),
): Promise<UploadTicket> {
  const verdict = checkUpload({ name: request.fileName, type: request.contentType, size: request.sizeBytes }, settings.MAX_UPLOAD_BYTES);
  if (!verdict.ok) throw new BadRequest(verdict.reason);
  const id = newUploadId(now);
  const key = keys.upload(id, safeFileName(request.fileName));
  const { url, fields } = await createPresignedPost(s3, {
    Bucket: settings.BUCKET,
    Key: key,
    Conditions: [
      ['content-length-range', 1, settings.MAX_UPLOAD_BYTES],
      ['eq', '$Content-Type', verdict.contentType],
    ],
    Fields: { 'Content-Type': verdict.contentType },
    Expires: POST_EXPIRES_SECONDS,
  });
  return { id, url, fields, runPath: `/runs/${id}`, maxBytes: settings.MAX_UPLOAD_BYTES };
}

const LIMITER = Symbol.for('music-captioner.site.upload-limiter');
type Holder = { [LIMITER]?: RateLimiter };

/** The route handler's one call: rate limit per client, then the ticket. */
export async function startUpload(body: unknown, client: string): Promise<UploadTicket> {
  const parsed = uploadRequestSchema.safeParse(body);
  if (!parsed.success) throw new BadRequest('Send { fileName, contentType, sizeBytes } as JSON.');
  const settings = config();
  // A file the policy refuses costs no slot: say why straight away.
  const verdict = checkUpload({ name: parsed.data.fileName, type: parsed.data.contentType, size: parsed.data.sizeBytes }, settings.MAX_UPLOAD_BYTES);
  if (!verdict.ok) throw new BadRequest(verdict.reason);
  const holder = globalThis as Holder;
  holder[LIMITER] ??= new RateLimiter(settings.UPLOADS_PER_HOUR, 60 * 60_000);
  const waitSec = holder[LIMITER].take(client);
  if (waitSec > 0) {
    throw new TooManyRequests(
      `That is ${settings.UPLOADS_PER_HOUR} uploads within the hour from here; try again in ${Math.ceil(waitSec / 60)} min.`,
      waitSec,
    );
  }
  return createUploadTicket(parsed.data, settings, clients().s3);
}
