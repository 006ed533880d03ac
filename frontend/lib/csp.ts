/**
 * The content security policy: scripts only from this origin with the request's nonce; the browser may talk
 * to S3 (the presigned POST, the presigned audio) and nothing else off-site. Pure, so the proxy and the tests
 * use it without the AWS SDK.
 */
export interface CspSettings {
  S3_ENDPOINT?: string;
  BUCKET?: string;
  AWS_REGION?: string;
  /**
   * The address users reach the site at in AWS (CloudFront's https://{id}.cloudfront.net or your domain). When it
   * is HTTPS, pages ask the browser to upgrade any plain-HTTP request, and forms and fetches may go only there.
   */
  SITE_ORIGIN?: string;
}

/** SITE_ORIGIN as an origin, when it is a valid HTTPS URL. */
export function httpsSiteOrigin(settings: CspSettings): string | undefined {
  try {
    const url = new URL(settings.SITE_ORIGIN ?? '');
    return url.protocol === 'https:' ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

/** Origins the browser reaches S3 at, for the presigned POST and the presigned audio GET. */
export function s3Origins(settings: CspSettings): string[] {
  if (settings.S3_ENDPOINT) {
    try {
      return [new URL(settings.S3_ENDPOINT).origin];
    } catch {
      return [];
    }
  }
  const { BUCKET: bucket, AWS_REGION: region } = settings;
  if (!bucket || !region) return [];
  return [`https://${bucket}.s3.${region}.amazonaws.com`, `https://s3.${region}.amazonaws.com`, `https://${bucket}.s3.amazonaws.com`];
}

export function contentSecurityPolicy(nonce: string, settings: CspSettings): string {
  const s3 = s3Origins(settings).join(' ');
  const site = httpsSiteOrigin(settings);
  const self = site ? `'self' ${site}` : `'self'`;
  return [
    `default-src 'self'`,
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'`,
    `style-src 'self' 'nonce-${nonce}'`,
    // React writes the timeline's widths and the progress as style attributes.
    `style-src-attr 'unsafe-inline'`,
    `img-src 'self' data: blob:`,
    `font-src 'self'`,
    `connect-src ${self} ${s3}`.trim(),
    `media-src 'self' blob: ${s3}`.trim(),
    `object-src 'none'`,
    `base-uri 'self'`,
    `form-action ${self}`,
    `frame-ancestors 'none'`,
    ...(site ? ['upgrade-insecure-requests'] : []),
  ].join('; ');
}
