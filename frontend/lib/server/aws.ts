import 'server-only';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { config, type SiteConfig } from './config.ts';

export interface AwsClients {
  s3: S3Client;
  sfn: SFNClient;
}

/** Clients for one configuration: the embedded endpoints when set, AWS otherwise; credentials from the default chain. */
export function createClients(settings: SiteConfig): AwsClients {
  return {
    s3: new S3Client({
      region: settings.AWS_REGION,
      ...(settings.S3_ENDPOINT ? { endpoint: settings.S3_ENDPOINT, forcePathStyle: true } : {}),
    }),
    sfn: new SFNClient({
      region: settings.AWS_REGION,
      ...(settings.SFN_ENDPOINT ? { endpoint: settings.SFN_ENDPOINT } : {}),
    }),
  };
}

const CLIENTS = Symbol.for('music-captioner.site.clients');
type Holder = { [CLIENTS]?: AwsClients };

/** One set of clients per process (kept on globalThis: each route bundle has its own module instances). */
export function clients(): AwsClients {
  const holder = globalThis as Holder;
  holder[CLIENTS] ??= createClients(config());
  return holder[CLIENTS];
}

export function consoleUrl(region: string, arn: string): string {
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${arn}`;
}
