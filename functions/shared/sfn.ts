import { SFNClient } from '@aws-sdk/client-sfn';

/** The Step Functions client: AWS, or the embedded runtime's loopback endpoint when SFN_ENDPOINT is set. */
export function createSfnClient(config: { AWS_REGION: string; SFN_ENDPOINT?: string }): SFNClient {
  return new SFNClient({ region: config.AWS_REGION, ...(config.SFN_ENDPOINT ? { endpoint: config.SFN_ENDPOINT } : {}) });
}
