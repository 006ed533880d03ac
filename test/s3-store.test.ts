/**
 * The S3 BlobStore's requests as S3 receives them, through the real SDK to a loopback HTTP server standing in for
 * S3 (the embedded S3 does not check signatures, so what matters is what goes on the wire).
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createS3Client, createS3Store } from '../functions/shared/s3-store.ts';

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

describe('the S3 BlobStore', () => {
  let server: http.Server;
  const received: Received[] = [];

  beforeAll(async () => {
    server = http.createServer((request, response) => {
      const pieces: Buffer[] = [];
      request.on('data', (piece: Buffer) => pieces.push(piece));
      request.on('end', () => {
        received.push({ method: request.method!, url: request.url!, headers: request.headers, body: Buffer.concat(pieces) });
        response.writeHead(200, { ETag: `"${createHash('md5').update(Buffer.concat(pieces)).digest('hex')}"` });
        response.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('signs a put without hashing its body (UNSIGNED-PAYLOAD) and sends the body whole', async () => {
    // Prepare
    const env = { ...process.env };
    process.env.AWS_ACCESS_KEY_ID = 'test-key';
    process.env.AWS_SECRET_ACCESS_KEY = 'test-secret';
    const client = createS3Client({ AWS_REGION: 'us-east-1', S3_ENDPOINT: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
    const body = Buffer.alloc(640_128, 7);
    try {
      // Act
      await createS3Store(client, 'bucket').put('chunks/x/windows/00000.npy', body, 'application/octet-stream');
    } finally {
      client.destroy();
      process.env = env;
    }
    // Assess
    expect(received).toHaveLength(1);
    const [put] = received;
    expect(put.method).toBe('PUT');
    expect(new URL(put.url, 'http://s3').pathname).toBe('/bucket/chunks/x/windows/00000.npy');
    expect(put.headers['x-amz-content-sha256']).toBe('UNSIGNED-PAYLOAD');
    // The header is itself signed, so S3 checks the signature against the literal, not against a body hash.
    expect(put.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=test-key\/.*SignedHeaders=[^,]*x-amz-content-sha256/);
    expect(put.body.equals(body)).toBe(true);
  });
});
