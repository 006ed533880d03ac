/**
 * The deploy scripts' offline parts: the ffmpeg binary check and copy (and packaging stopping on a bad binary),
 * the stack's name, outputs and console links, the Beanstalk platform choice and the site's configuration.
 */
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { slsPackage } from './helpers/sls.ts';
import {
  buildFfmpegLayer,
  checkLambdaBinary,
  defaultFfmpegSource,
  FfmpegBinaryMissing,
  FfmpegWrongArchitecture,
} from '../scripts/lib/ffmpeg-layer.ts';
import {
  executionConsoleUrl,
  InvalidStage,
  OUTPUT_NAMES,
  parseDeployTarget,
  parseStackOutputs,
  stackName,
  stateMachineConsoleUrl,
  StackOutputsMissing,
} from '../scripts/lib/stack.ts';
import { siteEnvironment } from '../scripts/lib/web-bundle.ts';
import { contentSecurityPolicy } from '../frontend/lib/csp.ts';
import type { PlatformStatus, PlatformSummary } from '@aws-sdk/client-elastic-beanstalk';
import { paramValue, parseDeployArgs } from '../scripts/deploy.ts';
import { choosePlatform, newestNode22Platform, NoPlatformAvailable, recordedPlatform, recordPlatform } from '../scripts/lib/web-platform.ts';

const ROOT = resolve(__dirname, '..');
// Debian's ffmpeg: a real Linux x86-64 ELF executable (ffmpeg-static's own download is skipped on CI).
const X86_64_ELF = '/usr/bin/ffmpeg';

let work: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'deploy-test-'));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

/** A copy of a real x86-64 executable whose ELF header claims another machine (e_machine, bytes 18–19). */
function withMachine(machine: number): string {
  const path = join(work, `ffmpeg-${machine.toString(16)}`);
  copyFileSync(X86_64_ELF, path);
  const bytes = readFileSync(path);
  bytes.writeUInt16LE(machine, 18);
  writeFileSync(path, bytes);
  return path;
}

describe('the ffmpeg binary for Lambda', () => {
  it('accepts a Linux x86-64 executable and copies it executable to bin/ffmpeg', () => {
    // Act
    const layer = buildFfmpegLayer(X86_64_ELF, join(work, 'layer'));

    // Assess
    expect(layer.elf).toMatchObject({ bits: 64, machineName: 'x86-64' });
    expect(layer.binary).toBe(join(work, 'layer', 'bin', 'ffmpeg'));
    expect(readFileSync(layer.binary).equals(readFileSync(X86_64_ELF))).toBe(true);
    expect(statSync(layer.binary).mode & 0o111).toBe(0o111);
  });

  it('reports a dynamically linked binary, which Lambda could not run', () => {
    expect(checkLambdaBinary(X86_64_ELF).dynamic).toBe(true);
  });

  it('stops with FfmpegBinaryMissing and the packaging hint when the binary is not there', () => {
    const missing = join(work, 'node_modules', 'ffmpeg-static', 'ffmpeg');
    expect(() => buildFfmpegLayer(missing, join(work, 'layer'))).toThrow(FfmpegBinaryMissing);
    expect(() => checkLambdaBinary(missing)).toThrow(
      new RegExp(`No ffmpeg binary at ${missing}.*npm_config_platform=linux npm_config_arch=x64`),
    );
  });

  it('stops with FfmpegWrongArchitecture naming what it found for an ARM64 build', () => {
    const arm = withMachine(0xb7);
    expect(() => buildFfmpegLayer(arm, join(work, 'layer'))).toThrow(FfmpegWrongArchitecture);
    expect(() => checkLambdaBinary(arm)).toThrow(/is a 64-bit ARM64 \(aarch64\) ELF executable, but Lambda runs this stack on Linux x86-64/);
  });

  it('stops with FfmpegWrongArchitecture for a macOS (Mach-O) build', () => {
    const macho = join(work, 'ffmpeg-darwin');
    const header = Buffer.alloc(64);
    header.writeUInt32LE(0xfeedfacf, 0); // MH_MAGIC_64
    writeFileSync(macho, header);
    chmodSync(macho, 0o755);
    expect(() => checkLambdaBinary(macho)).toThrow(/not an ELF executable/);
  });

  it("takes FFMPEG_LAYER_BINARY, else ffmpeg-static's own file, never the host's FFMPEG_BIN", () => {
    expect(defaultFfmpegSource(ROOT, { FFMPEG_LAYER_BINARY: '/opt/ffmpeg' })).toBe('/opt/ffmpeg');
    expect(defaultFfmpegSource(ROOT, { FFMPEG_BIN: '/usr/bin/ffmpeg' })).toBe(
      join(ROOT, 'node_modules', 'ffmpeg-static', 'ffmpeg'),
    );
  });

  it('makes `sls package` stop with the message when the binary is missing', async () => {
    // Prepare
    const missing = join(work, 'no-ffmpeg');

    // Act
    const failure = await slsPackage({ stage: 'ci', outDir: join(work, 'out'), ffmpegBinary: missing }).then(
      () => null,
      (error: { code: number; stdout: string; stderr: string }) => error,
    );

    // Assess
    expect(failure?.code).not.toBe(0);
    expect(`${failure?.stdout}${failure?.stderr}`).toContain(`No ffmpeg binary at ${missing}`);
  }, 300_000); // packaging waits its turn (test/helpers/sls.ts)
});

describe('the stack', () => {
  const outputs = OUTPUT_NAMES.map((name) => ({ OutputKey: name, OutputValue: `value of ${name}` }));

  it('is named music-captioner-{stage} and targets the stage and region asked for', () => {
    expect(stackName('dev')).toBe('music-captioner-dev');
    expect(parseDeployTarget(['--stage', 'prod', '--region=eu-west-1'], {})).toEqual({ stage: 'prod', region: 'eu-west-1' });
    expect(parseDeployTarget([], { STAGE: 'test', AWS_REGION: 'us-west-2' })).toEqual({ stage: 'test', region: 'us-west-2' });
    expect(parseDeployTarget([], {})).toEqual({ stage: 'dev', region: 'us-east-1' });
  });

  it('refuses a stage that cannot go into a bucket name', () => {
    expect(() => parseDeployTarget(['--stage', 'Prod'], {})).toThrow(InvalidStage);
    expect(() => parseDeployTarget(['--stage', 'a-stage-name-too-long'], {})).toThrow(/1–15 lowercase/);
  });

  it('reads every declared output, and names each one that is missing', () => {
    const parsed = parseStackOutputs([...outputs, { OutputKey: 'Other', OutputValue: 'x' }], 'music-captioner-dev');
    expect(parsed.SiteUrl).toBe('value of SiteUrl');
    expect(Object.keys(parsed)).toEqual([...OUTPUT_NAMES]);
    const partial = outputs.filter((o) => o.OutputKey !== 'SiteUrl' && o.OutputKey !== 'ModelS3Uri');
    expect(() => parseStackOutputs(partial, 'music-captioner-dev')).toThrow(StackOutputsMissing);
    expect(() => parseStackOutputs(partial, 'music-captioner-dev')).toThrow(/no ModelS3Uri, SiteUrl outputs/);
  });

  it("links the state machine's and a run's pages in the console of their region", () => {
    const machine = 'arn:aws:states:eu-west-1:123456789012:stateMachine:music-captioner-dev';
    expect(stateMachineConsoleUrl(machine)).toBe(
      'https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/statemachines/view/' +
        'arn%3Aaws%3Astates%3Aeu-west-1%3A123456789012%3AstateMachine%3Amusic-captioner-dev',
    );
    const run = 'arn:aws:states:eu-west-1:123456789012:execution:music-captioner-dev:abc';
    expect(executionConsoleUrl(run)).toMatch(/^https:\/\/eu-west-1\.console\.aws\.amazon\.com\/states\/home\?region=eu-west-1#\/v2\/executions\/details\/arn%3A/);
  });

  it('configures the site from the outputs, with the access token only when one is given', () => {
    const parsed = parseStackOutputs(outputs, 'music-captioner-dev');
    const settings = siteEnvironment(parsed, 'eu-west-1');
    expect(Object.fromEntries(settings.map((s) => [s.OptionName, s.Value]))).toEqual({
      BUCKET: 'value of UploadBucketName',
      AWS_REGION: 'eu-west-1',
      STATE_MACHINE_ARN: 'value of StateMachineArn',
    });
    expect(settings.every((s) => s.Namespace === 'aws:elasticbeanstalk:application:environment')).toBe(true);
    expect(siteEnvironment(parsed, 'eu-west-1', 'letmein').find((s) => s.OptionName === 'ACCESS_TOKEN')?.Value).toBe('letmein');
  });
});

describe('npm run deploy', () => {
  const arn = (branch: string, version: string) => `arn:aws:elasticbeanstalk:eu-west-1::platform/${branch}/${version}`;
  const NODE_22 = 'Node.js 22 running on 64bit Amazon Linux 2023';

  it('picks the newest Ready Node.js 22 on Amazon Linux 2023 platform, comparing versions as numbers', () => {
    const summary = (branch: string, version: string, status: PlatformStatus = 'Ready'): PlatformSummary => ({
      PlatformArn: arn(branch, version),
      PlatformBranchName: branch,
      PlatformVersion: version,
      PlatformStatus: status,
    });
    const summaries = [
      summary(NODE_22, '6.9.0'),
      summary(NODE_22, '6.10.0'),
      summary(NODE_22, '6.11.0', 'Creating'),
      summary('Node.js 20 running on 64bit Amazon Linux 2023', '6.12.0'),
      summary('Node.js 24 running on 64bit Amazon Linux 2023', '6.12.0'),
    ];
    expect(newestNode22Platform(summaries)).toBe(arn(NODE_22, '6.10.0'));
    expect(newestNode22Platform(summaries.slice(2))).toBeUndefined();
  });

  it('keeps the recorded platform, else the deployed one, and asks for the newest only the first time or when upgrading', async () => {
    // Prepare
    const [recorded, deployed, newest] = ['6.6.0', '6.7.0', '6.10.0'].map((version) => arn(NODE_22, version));
    const asked: string[] = [];
    const lookups = {
      deployed: async () => (asked.push('deployed'), deployed),
      newest: async () => (asked.push('newest'), newest),
      region: 'eu-west-1',
    };

    // Act
    const choices = [
      await choosePlatform({ ...lookups, upgrade: false, recorded }),
      await choosePlatform({ ...lookups, upgrade: false }),
      await choosePlatform({ ...lookups, upgrade: true, recorded }),
      await choosePlatform({ ...lookups, upgrade: true, recorded, given: recorded }),
    ];

    // Assess
    expect(choices).toEqual([
      { platformArn: recorded, source: 'recorded' },
      { platformArn: deployed, source: 'stack' },
      { platformArn: newest, source: 'newest' },
      { platformArn: recorded, source: 'given' },
    ]);
    expect(asked).toEqual(['deployed', 'newest']);
    await expect(
      choosePlatform({ upgrade: false, deployed: async () => undefined, newest: async () => undefined, region: 'eu-west-1' }),
    ).rejects.toThrow(NoPlatformAvailable);
  });

  it('records the platform per stage and region in .deploy/web-platform.json', () => {
    // Act
    recordPlatform(work, 'dev', 'eu-west-1', arn(NODE_22, '6.6.0'));
    recordPlatform(work, 'prod', 'eu-west-1', arn(NODE_22, '6.7.0'));
    recordPlatform(work, 'dev', 'eu-west-1', arn(NODE_22, '6.10.0'));

    // Assess
    expect(recordedPlatform(work, 'dev', 'eu-west-1')).toBe(arn(NODE_22, '6.10.0'));
    expect(recordedPlatform(work, 'prod', 'eu-west-1')).toBe(arn(NODE_22, '6.7.0'));
    expect(recordedPlatform(work, 'dev', 'us-east-1')).toBeUndefined();
    expect(JSON.parse(readFileSync(join(work, '.deploy', 'web-platform.json'), 'utf8'))).toEqual({
      'dev eu-west-1': arn(NODE_22, '6.10.0'),
      'prod eu-west-1': arn(NODE_22, '6.7.0'),
    });
  });

  it('passes --param options through and reads the ones it needs', () => {
    const args = parseDeployArgs(
      ['--stage', 'prod', '--param=captionInstanceType=ml.g4dn.xlarge', '--param=openaiKeyParameter=/team/openai', '--skip-image'],
      {},
    );
    expect(args).toMatchObject({ target: { stage: 'prod', region: 'us-east-1' }, skipImage: true, skipWeb: false, upgradePlatform: false });
    expect(parseDeployArgs(['--upgrade-platform'], {}).upgradePlatform).toBe(true);
    expect(parseDeployArgs(['--model', 'w.pth', '--python', '.venv-model/bin/python'], {})).toMatchObject({ model: 'w.pth', python: '.venv-model/bin/python' });
    expect(() => parseDeployArgs(['--python'], {})).toThrow(/torch/);
    expect(args.params).toEqual(['--param=captionInstanceType=ml.g4dn.xlarge', '--param=openaiKeyParameter=/team/openai']);
    expect(paramValue(args.params, 'openaiKeyParameter')).toBe('/team/openai');
    expect(paramValue(args.params, 'webPlatformArn')).toBeUndefined();
    expect(() => parseDeployArgs(['--model'], {})).toThrow(/transfer\.pth/);
  });
});

describe('the site behind CloudFront', () => {
  const AWS_SITE = { BUCKET: 'music-captioner-dev-123456789012-eu-west-1', AWS_REGION: 'eu-west-1' };

  it('names its HTTPS origin in the content security policy and has the browser upgrade plain-HTTP requests', () => {
    // Act
    const policy = contentSecurityPolicy('n0nce', { ...AWS_SITE, SITE_ORIGIN: 'https://d111111abcdef8.cloudfront.net' });

    // Assess
    const directive = (name: string) => policy.split('; ').find((part) => part === name || part.startsWith(`${name} `));
    expect(directive('connect-src')).toMatch(/^connect-src 'self' https:\/\/d111111abcdef8\.cloudfront\.net https:\/\/music-captioner-dev-/);
    expect(directive('form-action')).toBe("form-action 'self' https://d111111abcdef8.cloudfront.net");
    expect(directive('upgrade-insecure-requests')).toBeDefined();
  });

  it('keeps the policy as it was without an HTTPS origin (the embedded site on loopback)', () => {
    for (const SITE_ORIGIN of [undefined, '', 'http://127.0.0.1:3000', 'not a url']) {
      const policy = contentSecurityPolicy('n0nce', { ...AWS_SITE, SITE_ORIGIN });
      expect(policy).toContain("form-action 'self';");
      expect(policy).not.toContain('upgrade-insecure-requests');
    }
  });
});
