import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { loadSummarizeConfig } from '../shared/config.ts';
import { lambdaLogger, logInvocations } from '../shared/lambda-log.ts';
import { createOpenAiWriter } from '../shared/openai.ts';
import { s3IndexObjects } from '../shared/library-store.ts';
import { createS3Client, storesFor } from '../shared/s3-store.ts';
import { createSummarizeHandler } from './summarize.ts';

const config = loadSummarizeConfig(process.env);

/** The key comes from the environment (one machine) or an SSM SecureString, fetched once per cold start. */
async function apiKey(): Promise<string | undefined> {
  if (config.OPENAI_API_KEY) return config.OPENAI_API_KEY;
  if (!config.OPENAI_API_KEY_PARAMETER) return undefined;
  const ssm = new SSMClient({ region: config.AWS_REGION });
  const parameter = await ssm.send(new GetParameterCommand({ Name: config.OPENAI_API_KEY_PARAMETER, WithDecryption: true }));
  return parameter.Parameter?.Value || undefined;
}

const writer = apiKey().then((key) =>
  key ? createOpenAiWriter({ apiKey: key, baseURL: config.OPENAI_BASE_URL, model: config.OPENAI_MODEL, timeoutMs: config.OPENAI_TIMEOUT_MS }) : undefined,
);
// A failed read surfaces in the first invocation, not as an unhandled rejection at load.
writer.catch(() => undefined);

const s3 = createS3Client(config);
const { logger, log } = lambdaLogger('summarize');
export const handler = logInvocations(
  logger,
  createSummarizeHandler({ storeFor: storesFor(s3), writer: () => writer, indexFor: (bucket) => s3IndexObjects(s3, bucket), log }),
);
