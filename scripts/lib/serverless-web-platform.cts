/**
 * Serverless plugin: the `${webPlatform:arn}` variable, the Elastic Beanstalk platform (PlatformArn) the site's
 * environment runs on.
 *
 * `--param=webPlatformArn=ARN` wins; otherwise the ARN that `npm run deploy` recorded for this stage and region in
 * .deploy/web-platform.json (scripts/lib/web-platform.ts writes it); otherwise packaging stops with a sentence
 * saying how to get one. The platform is pinned, not looked up on every deploy, so the environment changes only
 * when asked (`npm run deploy -- --upgrade-platform`), and a change of PlatformArn is an in-place platform update,
 * where a change of SolutionStackName would make CloudFormation replace the named environment, which it refuses.
 *
 * CommonJS TypeScript that Node loads by stripping types (Node ≥ 22.18), like serverless-ffmpeg-layer.cts.
 */
const { existsSync, readFileSync } = require('node:fs');
const { join } = require('node:path');

interface ServerlessLike {
  serviceDir: string;
  classes: { Error: new (message: string) => Error };
}
interface ResolverArguments {
  options: { param?: string[] | string };
  resolveVariable: (address: string) => Promise<unknown>;
}

/** Where `npm run deploy` records each stage's platform; keep it in step with scripts/lib/web-platform.ts. */
const RECORD_FILE = join('.deploy', 'web-platform.json');

class WebPlatformPlugin {
  configurationVariablesSources: Record<string, { resolve: (args: ResolverArguments) => Promise<{ value: string }> }>;

  constructor(serverless: ServerlessLike) {
    const resolve = async ({ options, resolveVariable }: ResolverArguments) => {
      const given = ([] as string[])
        .concat(options.param ?? [])
        .find((param) => param.startsWith('webPlatformArn='))
        ?.slice('webPlatformArn='.length);
      if (given) return { value: given };
      const stage = String(await resolveVariable('sls:stage'));
      const region = String(await resolveVariable('self:provider.region'));
      const file = join(serverless.serviceDir, RECORD_FILE);
      const recorded = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>)[`${stage} ${region}`] : undefined;
      if (recorded) return { value: recorded };
      throw new serverless.classes.Error(
        `No Elastic Beanstalk platform is recorded for stage ${stage} in ${region} (${RECORD_FILE}). ` +
          `Deploy with \`npm run deploy -- --stage ${stage} --region ${region}\`, which picks the newest Node.js 22 platform and records it, ` +
          'or pass --param=webPlatformArn=<platform ARN> (aws elasticbeanstalk list-platform-versions lists them).',
      );
    };
    this.configurationVariablesSources = { webPlatform: { resolve } };
  }
}

module.exports = WebPlatformPlugin;
