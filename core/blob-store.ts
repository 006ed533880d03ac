import type { Readable } from 'node:stream';

/**
 * The storage the core needs, in its own words. Handlers hand it an S3-backed store (real S3 in AWS,
 * s3rver on one machine); nothing in the core knows which.
 */
export interface BlobStore {
  readonly bucket: string;
  /** Size and type, or undefined when the object does not exist. */
  head(key: string): Promise<{ sizeBytes: number; contentType?: string } | undefined>;
  getStream(key: string): Promise<Readable>;
  getBytes(key: string): Promise<Buffer>;
  /** Undefined when the object does not exist. */
  getJson<T>(key: string): Promise<T | undefined>;
  put(key: string, body: Buffer | string, contentType: string): Promise<void>;
  list(prefix: string): Promise<string[]>;
  /** A URL the holder can GET for a while (ffmpeg reads an MP4 through it when the index sits at the end). */
  presignGet(key: string, expiresInSec: number): Promise<string>;
}
