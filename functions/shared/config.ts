/**
 * The functions' configuration: one zod schema, parsed once per cold start, every problem reported in one
 * message. Each function loads the part it needs, so a missing value fails that function's cold start loudly.
 */
import { z } from 'zod';
import { ConfigError } from '#core/errors';

const positiveNumber = z.coerce.number().positive();

const schema = z.object({
  AWS_REGION: z.string().min(1).default('us-east-1'),
  /** Set only on one machine: the embedded S3 (s3rver). */
  S3_ENDPOINT: z.url().optional(),
  /** Set only on one machine: the embedded Step Functions endpoint. */
  SFN_ENDPOINT: z.url().optional(),
  STATE_MACHINE_ARN: z.string().startsWith('arn:'),
  MAX_UPLOAD_BYTES: positiveNumber.default(200_000_000),
  MAX_DURATION_SEC: positiveNumber.default(3600),
  MIN_DURATION_SEC: positiveNumber.default(0.2),
  OPENAI_API_KEY: z.string().min(1).optional(),
  /** Name of an SSM SecureString holding the key (AWS); read at cold start. */
  OPENAI_API_KEY_PARAMETER: z.string().min(1).optional(),
  OPENAI_BASE_URL: z.url().optional(),
  OPENAI_MODEL: z.string().min(1).default('gpt-4o-mini'),
  OPENAI_TIMEOUT_MS: positiveNumber.default(30_000),
});

export type FunctionsConfig = z.infer<typeof schema>;

function parse<K extends keyof FunctionsConfig>(env: NodeJS.ProcessEnv | Record<string, string | undefined>, fields: readonly K[]): Pick<FunctionsConfig, K> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const picked = schema.pick(Object.fromEntries(fields.map((f) => [f, true])) as any);
  const blanksRemoved = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const result = picked.safeParse(blanksRemoved);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new ConfigError(`Invalid configuration: ${problems}`);
  }
  return result.data as unknown as Pick<FunctionsConfig, K>;
}

export const loadStartConfig = (env: NodeJS.ProcessEnv | Record<string, string | undefined>) =>
  parse(env, ['AWS_REGION', 'SFN_ENDPOINT', 'STATE_MACHINE_ARN'] as const);
export const loadPreprocessConfig = (env: NodeJS.ProcessEnv | Record<string, string | undefined>) =>
  parse(env, ['AWS_REGION', 'S3_ENDPOINT', 'MAX_UPLOAD_BYTES', 'MAX_DURATION_SEC', 'MIN_DURATION_SEC'] as const);
export const loadSummarizeConfig = (env: NodeJS.ProcessEnv | Record<string, string | undefined>) =>
  parse(env, ['AWS_REGION', 'S3_ENDPOINT', 'OPENAI_API_KEY', 'OPENAI_API_KEY_PARAMETER', 'OPENAI_BASE_URL', 'OPENAI_MODEL', 'OPENAI_TIMEOUT_MS'] as const);
export const loadRecordFailureConfig = (env: NodeJS.ProcessEnv | Record<string, string | undefined>) =>
  parse(env, ['AWS_REGION', 'S3_ENDPOINT'] as const);
