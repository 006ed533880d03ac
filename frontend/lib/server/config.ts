import 'server-only';
import { z } from 'zod';
import { ConfigError } from '#core/errors';
import { DEFAULT_MAX_UPLOAD_BYTES } from '#core/upload-policy';

/** Unset and empty are the same thing in an environment: `FOO=` must not pass for a value. */
const optional = <T extends z.ZodType>(schema: T) => z.preprocess((value) => (value === '' ? undefined : value), schema.optional());

const schema = z.object({
  BUCKET: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name'),
  AWS_REGION: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as eu-west-1'),
  STATE_MACHINE_ARN: z
    .string()
    .regex(/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$/, 'must be a Step Functions state machine ARN'),
  /** Embedded mode: s3rver. */
  S3_ENDPOINT: optional(z.url({ protocol: /^https?$/ })),
  /** Embedded mode: the loopback Step Functions endpoint. */
  SFN_ENDPOINT: optional(z.url({ protocol: /^https?$/ })),
  ACCESS_TOKEN: optional(z.string().min(8, 'must be at least 8 characters')),
  MAX_UPLOAD_BYTES: optional(z.coerce.number().int().positive()).transform((value) => value ?? DEFAULT_MAX_UPLOAD_BYTES),
  UPLOADS_PER_HOUR: optional(z.coerce.number().int().positive()).transform((value) => value ?? 30),
  /** Proxies in front of the one that talks to Next (an ALB before Elastic Beanstalk's nginx: 1). */
  TRUSTED_PROXY_HOPS: optional(z.coerce.number().int().min(0).max(5)).transform((value) => value ?? 0),
});

export type SiteConfig = z.infer<typeof schema> & {
  /** AWS mode: link runs to the Step Functions console. */
  consoleLinks: boolean;
};

/** Parses the site's configuration, naming every problem at once. */
export function loadConfig(env: Record<string, string | undefined>): SiteConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'environment'} ${issue.message}`);
    throw new ConfigError(`The site's configuration is incomplete: ${problems.join('; ')}.`);
  }
  return { ...parsed.data, consoleLinks: parsed.data.SFN_ENDPOINT === undefined };
}

let cached: SiteConfig | undefined;

/** The configuration from process.env, parsed on first use (not at import: `next build` has no env). */
export function config(): SiteConfig {
  cached ??= loadConfig(process.env);
  return cached;
}
