/**
 * `npm run deploy [-- --stage dev --region us-east-1 --model transfer.pth [--python PY] --upgrade-platform --param=name=value …]`:
 * the whole stack in one command.
 *
 *   1. `sls deploy` (serverless.yml) on the Beanstalk platform recorded for this stage and region (the first deploy
 *      records the region's newest Node.js 22 platform; `--upgrade-platform` moves to the newest again);
 *   2. `npm run image:build` (the captioning image, in CodeBuild)   — `--skip-image` leaves the current image;
 *   3. `npm run model:upload -- <transfer.pth>` when `--model` names the weights;
 *   4. `npm run deploy:web` (the site on Beanstalk)                 — `--skip-web` leaves the current site;
 *
 * and prints the site's URL, the bucket, and the state machine's page in the Step Functions console.
 * `--param=…` options go to `sls deploy` as they are (see `params:` in serverless.yml).
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { ElasticBeanstalkClient, paginateListPlatformVersions, type PlatformSummary } from '@aws-sdk/client-elastic-beanstalk';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { parseCommandLine } from '#core/command-line';
import { deployWeb } from './deploy-web.ts';
import { parseDeployTarget, readStackOutputs, stackName, stateMachineConsoleUrl, type DeployTarget } from './lib/stack.ts';
import { choosePlatform, NODE_22_BRANCH, newestNode22Platform, recordedPlatform, recordPlatform } from './lib/web-platform.ts';

const ROOT = resolve(__dirname, '..');
/** serverless.yml's default; `--param=openaiKeyParameter=/other/name` changes it. */
const DEFAULT_KEY_PARAMETER = '/music-captioner/openai-api-key';

export class DeployStepFailed extends Error {
  readonly name = 'DeployStepFailed';
}

export interface DeployArgs {
  target: DeployTarget;
  /** Passed to `sls deploy` unchanged: --param=name=value. */
  params: string[];
  model?: string;
  /** The Python with torch that model:upload strips the checkpoint with (its own default otherwise). */
  python?: string;
  skipImage: boolean;
  skipWeb: boolean;
  /** Move the site to the region's newest Node.js 22 platform (an in-place platform update). */
  upgradePlatform: boolean;
}

/** What the options that take a path need, said when the path is missing. */
const MISSING_VALUE: Record<string, string> = {
  '--model needs a value': '--model needs the path of the LP-MusicCaps transfer.pth to upload.',
  '--python needs a value': '--python needs the path of a Python that has torch (for model:upload).',
};

export function parseDeployArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): DeployArgs {
  const { values } = parseCommandLine(
    argv,
    {
      stage: { type: 'string' },
      region: { type: 'string' },
      param: { type: 'string', multiple: true },
      model: { type: 'string' },
      python: { type: 'string' },
      'skip-image': { type: 'boolean', default: false },
      'skip-web': { type: 'boolean', default: false },
      'upgrade-platform': { type: 'boolean', default: false },
    },
    (problem) => new DeployStepFailed(MISSING_VALUE[problem] ?? `${problem}.`),
  );
  return {
    target: parseDeployTarget(argv, env),
    // As `sls deploy` takes them.
    params: (values.param ?? []).map((param) => `--param=${param}`),
    model: values.model,
    python: values.python,
    skipImage: values['skip-image'],
    skipWeb: values['skip-web'],
    upgradePlatform: values['upgrade-platform'],
  };
}

/** The value a `--param=name=value` sets, if any. */
export function paramValue(params: readonly string[], name: string): string | undefined {
  const prefix = `--param=${name}=`;
  return params.find((param) => param.startsWith(prefix))?.slice(prefix.length);
}

/** The platform the deployed stack's environment runs on (its WebPlatformArn output), if it is deployed. */
async function deployedPlatform(target: DeployTarget): Promise<string | undefined> {
  try {
    const answer = await new CloudFormationClient({ region: target.region }).send(new DescribeStacksCommand({ StackName: stackName(target.stage) }));
    return answer.Stacks?.[0]?.Outputs?.find((output) => output.OutputKey === 'WebPlatformArn')?.OutputValue;
  } catch (error) {
    if ((error as Error).name === 'ValidationError' && /does not exist/.test((error as Error).message)) return undefined;
    throw error;
  }
}

async function newestPlatformOfRegion(region: string): Promise<string | undefined> {
  const client = new ElasticBeanstalkClient({ region });
  const summaries: PlatformSummary[] = [];
  const filter = { Filters: [{ Type: 'PlatformBranchName', Operator: '=', Values: [NODE_22_BRANCH] }] };
  for await (const page of paginateListPlatformVersions({ client }, filter)) summaries.push(...(page.PlatformSummaryList ?? []));
  return newestNode22Platform(summaries);
}

function run(step: string, command: string, args: string[], env: NodeJS.ProcessEnv): void {
  console.log(`\n── ${step}: ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { cwd: ROOT, stdio: 'inherit', env });
  if (result.status !== 0) throw new DeployStepFailed(`${step} failed (exit ${result.status ?? result.signal}).`);
}

async function warnWithoutOpenAiKey(target: DeployTarget, name: string): Promise<void> {
  try {
    await new SSMClient({ region: target.region }).send(new GetParameterCommand({ Name: name }));
  } catch (error) {
    if ((error as Error).name !== 'ParameterNotFound') throw error;
    console.warn(
      `\nNo SSM parameter ${name} in ${target.region}: summaries fall back to the local summary until you create it:\n` +
        `  aws ssm put-parameter --region ${target.region} --name ${name} --type SecureString --value "$OPENAI_API_KEY"\n`,
    );
  }
}

async function main(argv: string[]): Promise<void> {
  const args = parseDeployArgs(argv, process.env);
  const { stage, region } = args.target;
  const env = { ...process.env, AWS_REGION: region, STAGE: stage, SLS_TELEMETRY_DISABLED: '1' };

  await warnWithoutOpenAiKey(args.target, paramValue(args.params, 'openaiKeyParameter') ?? DEFAULT_KEY_PARAMETER);

  const platform = await choosePlatform({
    given: paramValue(args.params, 'webPlatformArn'),
    upgrade: args.upgradePlatform,
    recorded: recordedPlatform(ROOT, stage, region),
    deployed: () => deployedPlatform(args.target),
    newest: () => newestPlatformOfRegion(region),
    region,
  });
  // Recorded before deploying: a plain `npx sls deploy` afterwards keeps this platform too.
  recordPlatform(ROOT, stage, region, platform.platformArn);
  console.log(`site platform (${platform.source}): ${platform.platformArn}`);
  const params = [...args.params.filter((param) => !param.startsWith('--param=webPlatformArn=')), `--param=webPlatformArn=${platform.platformArn}`];

  const sls = createRequire(resolve(ROOT, 'package.json')).resolve('serverless/bin/serverless.js');
  run('stack', process.execPath, [sls, 'deploy', '--stage', stage, '--region', region, ...params], env);
  if (!args.skipImage) run('caption image', 'npm', ['run', 'image:build', '--', '--stage', stage], env);
  if (args.model) {
    const python = args.python ? ['--python', args.python] : [];
    run('model weights', 'npm', ['run', 'model:upload', '--', args.model, '--stage', stage, ...python], env);
  }
  if (!args.skipWeb) {
    console.log('\n── site');
    await deployWeb(args.target, process.env.ACCESS_TOKEN);
  }

  const outputs = await readStackOutputs(args.target);
  console.log(`
Deployed music-captioner-${stage} in ${region}.
  site:           ${outputs.SiteUrl}
  bucket:         s3://${outputs.UploadBucketName}
  state machine:  ${stateMachineConsoleUrl(outputs.StateMachineArn)}
  model weights:  ${outputs.ModelS3Uri}${args.model ? '' : '  (upload them with `npm run model:upload -- <transfer.pth>` if you have not)'}`);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error: Error) => {
    console.error(`${error.name}: ${error.message}`);
    process.exit(1);
  });
}
