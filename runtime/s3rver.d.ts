// s3rver ships no type declarations; this covers what the runtime uses.
declare module 's3rver' {
  import type { EventEmitter } from 'node:events';
  interface S3rverOptions {
    address?: string;
    port?: number;
    silent?: boolean;
    directory?: string;
    resetOnClose?: boolean;
    allowMismatchedSignatures?: boolean;
    configureBuckets?: Array<{ name: string; configs?: Array<string | Buffer> }>;
  }
  export default class S3rver extends EventEmitter {
    constructor(options?: S3rverOptions);
    run(): Promise<{ address: string; port: number }>;
    close(): Promise<void>;
  }
}

// s3rver's error type: thrown from a middleware, its error handler answers with S3's XML error body and status.
declare module 's3rver/lib/models/error.js' {
  export default class S3Error extends Error {
    constructor(code: string, message: string, detail?: Record<string, string>);
  }
}

// s3rver's object model: which request headers it keeps as an object's metadata; what a GET answers with.
declare module 's3rver/lib/models/object.js' {
  export default class S3Object {
    static ALLOWED_METADATA: string[];
    constructor(bucket: string, key: string, content: import('node:stream').Readable | null, metadata: Record<string, unknown>);
    range?: { start: number; end: number };
  }
}
