/**
 * A BlobStore over a folder: the core's preprocess runs on local files exactly as in the pipeline, with
 * ffmpeg opening the file by path (what a presigned URL gives it in AWS). Window bodies are not kept.
 */
import { createReadStream, statSync } from 'node:fs';
import path from 'node:path';
import type { BlobStore } from '#core/blob-store';

export interface FileStore extends BlobStore {
  /** JSON documents written through `put`, by key. */
  readonly documents: Map<string, string>;
}

export function fileStore(folder: string): FileStore {
  const documents = new Map<string, string>();
  const local = (key: string) => path.join(folder, key);
  return {
    bucket: 'local-files',
    documents,
    async head(key) {
      try {
        return { sizeBytes: statSync(local(key)).size };
      } catch {
        return undefined;
      }
    },
    async getStream(key) {
      return createReadStream(local(key));
    },
    async getBytes(key) {
      const document = documents.get(key);
      if (document === undefined) throw new Error(`${key} was not written`);
      return Buffer.from(document);
    },
    async getJson<T>(key: string) {
      const document = documents.get(key);
      return document === undefined ? undefined : (JSON.parse(document) as T);
    },
    async put(key, body) {
      if (typeof body === 'string') documents.set(key, body);
    },
    async list(prefix) {
      return [...documents.keys()].filter((key) => key.startsWith(prefix));
    },
    async presignGet(key) {
      return local(key);
    },
  };
}
