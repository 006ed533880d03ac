/**
 * The site's server-side pieces that need no pipeline: configuration, the content security policy, the
 * access token, the upload rate limit and the shared, throttled status reads.
 */
jest.mock('server-only', () => ({}), { virtual: true });

import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { hasAccess, sessionValue } from '../frontend/lib/access.ts';
import { contentSecurityPolicy, s3Origins } from '../frontend/lib/csp.ts';
import { loadConfig } from '../frontend/lib/server/config.ts';
import { clientKey } from '../frontend/lib/server/http.ts';
import { RateLimiter } from '../frontend/lib/server/rate-limit.ts';
import { runSnapshot, STATUS_INTERVAL_MS, waitingNotice, type RunSnapshot } from '../frontend/lib/server/runs.ts';

const AWS_ENV = {
  BUCKET: 'music-captioner-dev-uploads',
  AWS_REGION: 'eu-west-1',
  STATE_MACHINE_ARN: 'arn:aws:states:eu-west-1:123456789012:stateMachine:music-captioner-dev',
};

describe('loadConfig', () => {
  it('reads AWS mode with defaults and console links', () => {
    // Act
    const config = loadConfig(AWS_ENV);

    // Assess
    expect(config).toMatchObject({ ...AWS_ENV, MAX_UPLOAD_BYTES: 200_000_000, UPLOADS_PER_HOUR: 30, TRUSTED_PROXY_HOPS: 0, consoleLinks: true });
    expect(config.ACCESS_TOKEN).toBeUndefined();
  });

  it('reads embedded mode, where the endpoints are set and runs have no console link', () => {
    // Act
    const config = loadConfig({ ...AWS_ENV, S3_ENDPOINT: 'http://127.0.0.1:4569', SFN_ENDPOINT: 'http://127.0.0.1:8083', MAX_UPLOAD_BYTES: '5000' });

    // Assess
    expect(config).toMatchObject({ S3_ENDPOINT: 'http://127.0.0.1:4569', MAX_UPLOAD_BYTES: 5000, consoleLinks: false });
  });

  it('names every problem in one message', () => {
    // Act
    const attempt = () => loadConfig({ AWS_REGION: 'Ireland', STATE_MACHINE_ARN: 'music-captioner', ACCESS_TOKEN: 'short', MAX_UPLOAD_BYTES: 'lots' });

    // Assess
    expect(attempt).toThrow(expect.objectContaining({ name: 'ConfigError' }));
    const message = (() => {
      try {
        attempt();
        return '';
      } catch (error) {
        return (error as Error).message;
      }
    })();
    for (const name of ['BUCKET', 'AWS_REGION', 'STATE_MACHINE_ARN', 'ACCESS_TOKEN', 'MAX_UPLOAD_BYTES']) expect(message).toContain(name);
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ ...AWS_ENV, S3_ENDPOINT: '', ACCESS_TOKEN: '' })).toMatchObject({ consoleLinks: true, ACCESS_TOKEN: undefined });
  });
});

describe('contentSecurityPolicy', () => {
  const s3 = new S3Client({ region: AWS_ENV.AWS_REGION, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } });

  it('lets the browser reach the origins the SDK presigns the upload and the audio for, in AWS mode', async () => {
    // Prepare
    const post = await createPresignedPost(s3, { Bucket: AWS_ENV.BUCKET, Key: 'uploads/x/a.mp3' });
    const audio = await getSignedUrl(s3, new GetObjectCommand({ Bucket: AWS_ENV.BUCKET, Key: 'uploads/x/a.mp3' }));

    // Act
    const policy = contentSecurityPolicy('abc', AWS_ENV);

    // Assess
    const directive = (name: string) => policy.split('; ').find((part) => part.startsWith(`${name} `))!.split(' ');
    expect(directive('connect-src')).toContain(new URL(post.url).origin);
    expect(directive('media-src')).toContain(new URL(audio).origin);
  });

  it('allows scripts only from the site with the nonce, and nothing framed, embedded or posted elsewhere', () => {
    // Act
    const policy = contentSecurityPolicy('n0nce', { S3_ENDPOINT: 'http://127.0.0.1:4569/', BUCKET: 'b', AWS_REGION: 'us-east-1' });

    // Assess
    expect(policy).toContain("script-src 'self' 'nonce-n0nce' 'strict-dynamic'");
    expect(policy).not.toMatch(/script-src[^;]*unsafe-(inline|eval)/);
    expect(policy).toContain("connect-src 'self' http://127.0.0.1:4569");
    expect(policy).toContain("frame-ancestors 'none'");
    expect(policy).toContain("object-src 'none'");
    expect(policy).toContain("form-action 'self'");
  });

  it('names no S3 origin when the configuration has none', () => {
    expect(s3Origins({})).toEqual([]);
    expect(s3Origins({ S3_ENDPOINT: 'not a url' })).toEqual([]);
  });
});

describe('hasAccess', () => {
  it('lets everyone in when no access token is configured', async () => {
    expect(await hasAccess(undefined, {})).toBe(true);
  });

  it('lets in the session cookie made from the token, or the token as a bearer, and nothing else', async () => {
    // Prepare
    const token = 'correct-horse-battery';
    const cookie = await sessionValue(token);

    // Act + Assess
    expect(cookie).toMatch(/^[0-9a-f]{64}$/);
    expect(cookie).not.toContain(token);
    expect(await hasAccess(token, { cookie })).toBe(true);
    expect(await hasAccess(token, { authorization: `Bearer ${token}` })).toBe(true);
    expect(await hasAccess(token, {})).toBe(false);
    expect(await hasAccess(token, { cookie: await sessionValue('another-token') })).toBe(false);
    expect(await hasAccess(token, { cookie: token })).toBe(false);
    expect(await hasAccess(token, { authorization: `Bearer ${token}x` })).toBe(false);
  });
});

describe('RateLimiter', () => {
  it('allows the limit within the window, then says how long to wait, then allows again', () => {
    // Prepare
    const limiter = new RateLimiter(2, 60_000);

    // Act
    const answers = [limiter.take('a', 0), limiter.take('a', 1000), limiter.take('a', 2000), limiter.take('b', 2000), limiter.take('a', 60_001)];

    // Assess
    expect(answers).toEqual([0, 0, 58, 0, 0]);
  });

  it('forgets the oldest clients beyond its size', () => {
    // Prepare
    const limiter = new RateLimiter(1, 60_000, 2);
    limiter.take('a', 0);
    limiter.take('b', 0);
    limiter.take('c', 0);

    // Act + Assess
    expect(limiter.take('a', 1)).toBe(0);
    expect(limiter.take('c', 1)).toBeGreaterThan(0);
  });
});

describe('clientKey', () => {
  it('takes the address the nearest trusted proxy saw', () => {
    expect(clientKey('203.0.113.9', 0)).toBe('203.0.113.9');
    expect(clientKey('6.6.6.6, 203.0.113.9', 0)).toBe('203.0.113.9');
    expect(clientKey('6.6.6.6, 203.0.113.9, 10.0.0.2', 1)).toBe('203.0.113.9');
    expect(clientKey(null, 0)).toBe('unknown');
  });
});

describe('runSnapshot', () => {
  const snapshot = (id: string, phase: RunSnapshot['phase'], result?: RunSnapshot['result']): RunSnapshot => ({
    id,
    fileName: 'a.mp3',
    phase,
    steps: [],
    result,
  });

  it('makes one read for many callers at once, and none more within the interval', async () => {
    // Prepare
    let clock = 1_000_000;
    const reads: string[] = [];
    const read = async (id: string) => {
      reads.push(id);
      await new Promise((resolve) => setTimeout(resolve, 20));
      return snapshot(id, 'running');
    };

    // Act
    const together = await Promise.all(Array.from({ length: 25 }, () => runSnapshot('shared-1', read, () => clock)));
    clock += STATUS_INTERVAL_MS - 1;
    await runSnapshot('shared-1', read, () => clock);
    const readsWithinInterval = reads.length;
    clock += 1;
    await runSnapshot('shared-1', read, () => clock);

    // Assess
    expect(together.every((answer) => answer?.id === 'shared-1')).toBe(true);
    expect(readsWithinInterval).toBe(1);
    expect(reads).toHaveLength(2);
  });

  it('keeps a finished run with its result and never reads it again', async () => {
    // Prepare
    let clock = 2_000_000;
    let reads = 0;
    const result = { id: 'done-1', status: 'FAILED' as const, error: { name: 'InvalidAudio', message: 'x', step: 'Preprocess' as const }, createdAt: '' };
    const read = async (id: string) => {
      reads += 1;
      return snapshot(id, 'failed', result);
    };

    // Act
    await runSnapshot('done-1', read, () => clock);
    clock += 60 * STATUS_INTERVAL_MS;
    const later = await runSnapshot('done-1', read, () => clock);

    // Assess
    expect(reads).toBe(1);
    expect(later?.result).toEqual(result);
  });

  it('answers a failed read with its error until the interval has passed, instead of asking again', async () => {
    // Prepare
    let clock = 3_000_000;
    let reads = 0;
    const read = async (): Promise<RunSnapshot> => {
      reads += 1;
      throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    };

    // Act
    await expect(runSnapshot('throttled-1', read, () => clock)).rejects.toThrow('Rate exceeded');
    await expect(runSnapshot('throttled-1', read, () => clock + 10)).rejects.toThrow('Rate exceeded');
    clock += STATUS_INTERVAL_MS;
    await expect(runSnapshot('throttled-1', read, () => clock)).rejects.toThrow('Rate exceeded');

    // Assess
    expect(reads).toBe(2);
  });

  it('remembers that a run does not exist for the interval too', async () => {
    // Prepare
    let reads = 0;
    const read = async () => {
      reads += 1;
      return undefined;
    };

    // Act
    const answers = [await runSnapshot('missing-1', read, () => 5_000_000), await runSnapshot('missing-1', read, () => 5_000_500)];

    // Assess
    expect(answers).toEqual([null, null]);
    expect(reads).toBe(1);
  });
});

describe('waitingNotice', () => {
  it('says nothing for the first minute after the upload, then says plainly that no run started', () => {
    // Prepare
    const uploadedAt = '2026-03-01T12:00:00.000Z';
    const after = (seconds: number) => new Date(Date.parse(uploadedAt) + seconds * 1000);

    // Act + Assess
    expect(waitingNotice(uploadedAt, after(5))).toBeUndefined();
    expect(waitingNotice(uploadedAt, after(60))).toBeUndefined();
    expect(waitingNotice(uploadedAt, after(61))).toMatch(/^The upload arrived 61 s ago, but no pipeline run has started for it\./);
    expect(waitingNotice(uploadedAt, after(600))).toMatch(/^The upload arrived 10 min ago/);
  });
});
