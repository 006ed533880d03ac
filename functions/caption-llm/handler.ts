import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { loadCaptionLlmConfig } from '../shared/config.ts';
import { lambdaLogger, logInvocations } from '../shared/lambda-log.ts';
import { createS3Client, storesFor } from '../shared/s3-store.ts';
import { audioLlmClientSettings, audioLlmSettings, createAudioLlm } from './audio-llm.ts';
import { createCaptionLlmHandler } from './caption-llm.ts';

const config = loadCaptionLlmConfig(process.env);

/** The key comes from the environment (one machine) or an SSM SecureString, fetched once per cold start. */
async function keyFromSsm(): Promise<string | undefined> {
  if (config.CAPTION_LLM_API_KEY || !config.CAPTION_LLM_API_KEY_PARAMETER) return undefined;
  const ssm = new SSMClient({ region: config.AWS_REGION });
  const parameter = await ssm.send(new GetParameterCommand({ Name: config.CAPTION_LLM_API_KEY_PARAMETER, WithDecryption: true }));
  return parameter.Parameter?.Value || undefined;
}

const llm = keyFromSsm().then((key) => {
  const settings = audioLlmClientSettings(config, key);
  return settings
    ? { llm: createAudioLlm(settings) }
    : { missingLlmReason: `no API key is configured (the SSM parameter ${config.CAPTION_LLM_API_KEY_PARAMETER ?? '(unset)'} is empty)` };
});
// A failed read surfaces in the first invocation, not as an unhandled rejection at load.
llm.catch(() => undefined);

const { logger, log } = lambdaLogger('caption-llm');
export const handler = logInvocations(logger, createCaptionLlmHandler({ storeFor: storesFor(createS3Client(config)), llm: () => llm, settings: audioLlmSettings(config), log }));
