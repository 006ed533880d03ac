/** The embedded runtime's configuration (`npm start`, the CLI): one schema, every problem in one message. */
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from '#core/errors';
import { captionLlmFields } from '../functions/shared/config.ts';

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('127.0.0.1'),
  DATA_DIR: z.string().default('.data'),
  S3_PORT: z.coerce.number().int().min(0).max(65535).default(0),
  SFN_PORT: z.coerce.number().int().min(0).max(65535).default(0),
  BUCKET: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/).default('music-captioner-local'),
  /** "audio-llm" takes the state machine's audio-LLM branch (the caption-llm function, CAPTION_LLM_*). */
  CAPTION_BACKEND: z.enum(['builtin', 'python', 'audio-llm']).default('builtin'),
  ...captionLlmFields,
  CAPTION_PYTHON: z.string().default('python3'),
  /** Folder holding transfer.pth for the python backend. */
  CAPTION_MODEL_DIR: z.string().optional(),
  MAX_UPLOAD_BYTES: z.coerce.number().positive().default(200_000_000),
  MAX_DURATION_SEC: z.coerce.number().positive().default(3600),
  MIN_DURATION_SEC: z.coerce.number().positive().default(0.2),
  OPENAI_API_KEY: z.string().min(1).optional(),
  OPENAI_BASE_URL: z.url().optional(),
  OPENAI_MODEL: z.string().min(1).default('gpt-4o-mini'),
  OPENAI_TIMEOUT_MS: z.coerce.number().positive().default(30_000),
  /** "off" serves only the status page (tests of the pipeline alone need no site). */
  SITE: z.enum(['on', 'off']).default('on'),
  /** Runs whose heavy steps (Preprocess, Caption) go at once; later uploads wait in line, first come first served. */
  MAX_CONCURRENT_RUNS: z.coerce.number().int().min(1).default(os.availableParallelism()),
}).refine((config) => config.CAPTION_BACKEND !== 'audio-llm' || Boolean(config.CAPTION_LLM_API_KEY ?? config.OPENAI_API_KEY), {
  path: ['CAPTION_BACKEND'],
  message: 'audio-llm needs CAPTION_LLM_API_KEY or OPENAI_API_KEY (any value for a server that asks for none)',
});

export type RuntimeConfig = z.infer<typeof schema> & { dataDir: string };

export function loadRuntimeConfig(env: Record<string, string | undefined> = process.env): RuntimeConfig {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const result = schema.safeParse(present);
  if (!result.success) {
    throw new ConfigError(`Invalid configuration: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return { ...result.data, dataDir: path.resolve(result.data.DATA_DIR) };
}
