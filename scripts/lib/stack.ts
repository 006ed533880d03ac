/**
 * The deployed stack as the scripts see it: its name, where it lives, and the outputs every script reads
 * (deploy, deploy:web, image:build, model:upload).
 */
import { parseArgs } from 'node:util';
import { CloudFormationClient, DescribeStacksCommand, type Output } from '@aws-sdk/client-cloudformation';

export const SERVICE = 'music-captioner';

/** The outputs serverless.yml declares; the other scripts read exactly these names. */
export const OUTPUT_NAMES = [
  'UploadBucketName',
  'StateMachineArn',
  'CaptionRepositoryUri',
  'CaptionImageBuildProjectName',
  'ModelS3Uri',
  'SiteUrl',
  'BeanstalkApplicationName',
  'BeanstalkEnvironmentName',
] as const;

export type OutputName = (typeof OUTPUT_NAMES)[number];
export type StackOutputs = Record<OutputName, string>;

export interface DeployTarget {
  stage: string;
  region: string;
}

export class InvalidStage extends Error {
  readonly name = 'InvalidStage';
}

export class StackNotDeployed extends Error {
  readonly name = 'StackNotDeployed';
}

export class StackOutputsMissing extends Error {
  readonly name = 'StackOutputsMissing';
}

export function stackName(stage: string): string {
  return `${SERVICE}-${stage}`;
}

/**
 * The stage goes into the bucket name (music-captioner-{stage}-{account}-{region}, at most 63 characters) and the
 * Beanstalk environment name (at most 40), hence lowercase and short.
 */
const STAGE = /^[a-z][a-z0-9-]{0,14}$/;

/** `--stage`/`--region` from the command line, else STAGE and AWS_REGION / AWS_DEFAULT_REGION, else dev in us-east-1. */
export function parseDeployTarget(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): DeployTarget {
  // Not strict: this reads two options out of a command line its caller reads (and checks) as a whole.
  const { values } = parseArgs({ args: [...argv], options: { stage: { type: 'string' }, region: { type: 'string' } }, strict: false, allowPositionals: true });
  const given = (value: unknown) => (typeof value === 'string' ? value : undefined);
  const stage = given(values.stage) ?? env.STAGE ?? 'dev';
  const region = given(values.region) ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
  if (!STAGE.test(stage)) {
    throw new InvalidStage(
      `Stage "${stage}" cannot name this stack's bucket: use 1–15 lowercase letters, digits or hyphens, starting with a letter.`,
    );
  }
  return { stage, region };
}

/** Picks the declared outputs out of a DescribeStacks answer; names every one that is missing. */
export function parseStackOutputs(outputs: readonly Output[], stack: string): StackOutputs {
  const byName = new Map(outputs.map((output) => [output.OutputKey, output.OutputValue]));
  const missing = OUTPUT_NAMES.filter((name) => !byName.get(name));
  if (missing.length > 0) {
    throw new StackOutputsMissing(
      `Stack ${stack} has no ${missing.join(', ')} output${missing.length > 1 ? 's' : ''}: deploy it again with \`npx sls deploy\`.`,
    );
  }
  return Object.fromEntries(OUTPUT_NAMES.map((name) => [name, byName.get(name) as string])) as StackOutputs;
}

export async function readStackOutputs(
  target: DeployTarget,
  client = new CloudFormationClient({ region: target.region }),
): Promise<StackOutputs> {
  const name = stackName(target.stage);
  try {
    const answer = await client.send(new DescribeStacksCommand({ StackName: name }));
    return parseStackOutputs(answer.Stacks?.[0]?.Outputs ?? [], name);
  } catch (error) {
    if ((error as Error).name === 'ValidationError' && /does not exist/.test((error as Error).message)) {
      throw new StackNotDeployed(
        `No stack ${name} in ${target.region}: run \`npm run deploy -- --stage ${target.stage} --region ${target.region}\` first.`,
      );
    }
    throw error;
  }
}

function regionOfArn(arn: string): string {
  const region = arn.split(':')[3];
  if (!region) throw new Error(`Not a regional ARN: ${arn}`);
  return region;
}

/** The Step Functions console page listing this state machine's runs. */
export function stateMachineConsoleUrl(stateMachineArn: string): string {
  const region = regionOfArn(stateMachineArn);
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/statemachines/view/${encodeURIComponent(stateMachineArn)}`;
}

/** The Step Functions console page of one run: its graph, each state's input and output, and the events. */
export function executionConsoleUrl(executionArn: string): string {
  const region = regionOfArn(executionArn);
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${encodeURIComponent(executionArn)}`;
}
