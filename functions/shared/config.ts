/**
 * The functions' configuration: one zod schema, parsed once per cold start, every problem reported in one
 * message. Each function loads the part it needs, so a missing value fails that function's cold start loudly.
 */
import { z } from 'zod';
import { ConfigError } from '#core/errors';

const positiveNumber = z.coerce.number().positive();

/**
 * The audio-LLM caption backend's settings (issue 11), shared by the functions and the embedded runtime. The base
 * URL and key default to the summary's (OPENAI_BASE_URL, OPENAI_API_KEY) where they are unset.
 */
export const captionLlmFields = {
  CAPTION_LLM_BASE_URL: z.url().optional(),
  CAPTION_LLM_API_KEY: z.string().min(1).optional(),
  /** An audio-input chat model; gpt-audio-1.5 is OpenAI's current one for Chat Completions (2026-11). */
  CAPTION_LLM_MODEL: z.string().min(1).default('gpt-audio-1.5'),
  /** Windows in flight at once; OpenAI's tier-1 limit for gpt-audio-1.5 is 500 requests a minute. */
  CAPTION_LLM_CONCURRENCY: z.coerce.number().int().min(1).max(32).default(4),
  CAPTION_LLM_TIMEOUT_MS: positiveNumber.default(30_000),
  /**
   * Per-song time budget: no window starts after it. A window started just before may take its 4 tries of up to
   * CAPTION_LLM_TIMEOUT_MS more, so the cap leaves that and the writing inside the function's 900 s timeout.
   */
  CAPTION_LLM_MAX_SECONDS: z.coerce.number().positive().max(720).default(600),
  /** Per-song cost budget, from the server's reported usage and the model's published prices. */
  CAPTION_LLM_MAX_COST_USD: positiveNumber.default(1),
};

const schema = z.object({
  ...captionLlmFields,
  /** Name of an SSM SecureString holding the caption LLM's key (AWS); read at cold start. */
  CAPTION_LLM_API_KEY_PARAMETER: z.string().min(1).optional(),
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
export const loadCaptionLlmConfig = (env: NodeJS.ProcessEnv | Record<string, string | undefined>) =>
  parse(env, [
    'AWS_REGION',
    'S3_ENDPOINT',
    'OPENAI_API_KEY',
    'OPENAI_BASE_URL',
    'CAPTION_LLM_BASE_URL',
    'CAPTION_LLM_API_KEY',
    'CAPTION_LLM_API_KEY_PARAMETER',
    'CAPTION_LLM_MODEL',
    'CAPTION_LLM_CONCURRENCY',
    'CAPTION_LLM_TIMEOUT_MS',
    'CAPTION_LLM_MAX_SECONDS',
    'CAPTION_LLM_MAX_COST_USD',
  ] as const);
