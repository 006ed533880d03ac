import { createHash, randomBytes } from 'node:crypto';
import { keys } from './contract.ts';

/** Upload ids double as execution names and SageMaker job-name suffixes: lowercase, digits and '-' only. */
export const UPLOAD_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,39}$/;

/** A new upload id: sortable by time, e.g. "20261121-053012-k3j9x2". */
export function newUploadId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const suffix = BigInt(`0x${randomBytes(5).toString('hex')}`).toString(36).padStart(8, '0').slice(-8);
  return `${stamp}-${suffix}`;
}

/** A file name safe to use as the last part of an S3 key and in a Content-Disposition header. */
export function safeFileName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  const cleaned = base
    .normalize('NFKD')
    .replace(/[^\w.\-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^[-.]+/, '');
  const dot = cleaned.lastIndexOf('.');
  const ext = dot > 0 ? cleaned.slice(dot).slice(0, 12) : '';
  const stem = (dot > 0 ? cleaned.slice(0, dot) : cleaned).slice(0, 100);
  return `${stem || 'upload'}${ext}`;
}

export interface UploadRef {
  id: string;
  fileName: string;
}

/**
 * Where an upload key says the upload came from. Keys made by the site and the CLI are
 * `uploads/{id}/{fileName}`; any other key under `uploads/` (a file dropped in with the S3 console) gets an
 * id hashed from the key, so the same key always maps to the same execution name and a duplicate S3 event
 * starts nothing new.
 */
export function uploadRefFromKey(key: string): UploadRef {
  if (!key.startsWith(keys.uploadPrefix)) {
    throw new Error(`"${key}" is not an upload: uploads live under ${keys.uploadPrefix}`);
  }
  const rest = key.slice(keys.uploadPrefix.length);
  const parts = rest.split('/');
  const fileName = parts[parts.length - 1] || 'upload';
  if (parts.length === 2 && UPLOAD_ID_PATTERN.test(parts[0])) {
    return { id: parts[0], fileName };
  }
  const digest = createHash('sha256').update(key).digest('hex').slice(0, 24);
  return { id: `k${digest}`, fileName };
}
