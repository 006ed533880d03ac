/**
 * The compiled template as a deploy uses it, offline: `sls package` twice, the second time on a newer Beanstalk
 * platform and with a domain of one's own, must be an in-place update (no create-only property changes, by the
 * resource schemas cfn-lint ships); cfn-lint passes it; the site is HTTPS behind CloudFront; the site's instance
 * role lists only uploads/ and has Beanstalk's managed web-tier policy; every Beanstalk option value is a string.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { slsPackage } from './helpers/sls.ts';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const PLATFORM = (version: string) => `arn:aws:elasticbeanstalk:eu-west-1::platform/Node.js 22 running on 64bit Amazon Linux 2023/${version}`;
const CERTIFICATE = 'arn:aws:acm:us-east-1:123456789012:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0';
// AWS's managed policy ids (CloudFront developer guide, "Use managed cache policies" / "origin request policies").
const CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';
const CACHING_OPTIMIZED = '658327ea-f89d-4fab-a63d-7e88639e58f6';
const ALL_VIEWER = '216adef6-5c7f-47e4-b989-5492eafa07d3';

/**
 * cfn-lint's warnings this template keeps, each with why. W3005: serverless adds `DependsOn: <role>` to every
 * function whose `role:` names a role of the template, beside the Fn::GetAtt that already orders them; the framework
 * writes it, and it changes nothing.
 */
const ACCEPTED_WARNINGS: Record<string, RegExp> = { W3005: /^'\w+Role' dependency already enforced by a 'GetAtt' at 'Resources\/\w+LambdaFunction\/Properties\/Role'$/ };

let work: string;
let first: Json;
let second: Json;
let templateFiles: string[];

/** A Python that has cfn-lint (installed with pip in the machine's pyenv Python). */
function cfnLintPython(): string {
  const candidates = [process.env.CFN_LINT_PYTHON, 'python3', `${process.env.HOME}/.pyenv/shims/python3`, '/root/.pyenv/shims/python3'];
  for (const python of candidates.filter((candidate): candidate is string => Boolean(candidate))) {
    try {
      execFileSync(python, ['-c', 'import cfnlint'], { stdio: 'ignore' });
      return python;
    } catch {
      // not this one
    }
  }
  throw new Error('No Python with cfn-lint: `pip install cfn-lint` (or set CFN_LINT_PYTHON to a Python that has it).');
}

async function packaged(name: string, params: string[]): Promise<{ file: string; template: Json }> {
  const outDir = join(work, name);
  // CI has no ffmpeg-static download: Debian's ffmpeg is an x86-64 ELF stand-in for the bundled binary.
  await slsPackage({ stage: 'ci', region: 'eu-west-1', outDir, ffmpegBinary: '/usr/bin/ffmpeg', params });
  const file = join(outDir, 'cloudformation-template-update-stack.json');
  return { file, template: JSON.parse(readFileSync(file, 'utf8')) };
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'deploy-template-'));
  const before = await packaged('first', [`--param=webPlatformArn=${PLATFORM('6.6.0')}`]);
  const after = await packaged('second', [
    `--param=webPlatformArn=${PLATFORM('6.7.0')}`,
    '--param=siteDomain=captions.example.com',
    `--param=siteCertificateArn=${CERTIFICATE}`,
  ]);
  [first, second, templateFiles] = [before.template, after.template, [before.file, after.file]];
}, 400_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The value at a schema path such as /properties/Tier/Name inside a resource. */
function at(resource: Json, pointer: string): Json {
  return pointer
    .replace(/^\/properties\//, '')
    .split('/')
    .reduce((value: Json, key) => (value === undefined ? undefined : value[key]), resource.Properties ?? {});
}

describe('a second deploy', () => {
  it('changes no create-only property of any resource: a newer platform and an own domain update in place', () => {
    // Prepare: each resource type's createOnlyProperties, from the CloudFormation resource schemas cfn-lint ships
    const types = [...new Set(Object.values(first.Resources).map((resource: Json) => resource.Type as string))];
    const script = [
      'import json, sys',
      'from cfnlint.schema import PROVIDER_SCHEMA_MANAGER as schemas',
      "print(json.dumps({t: schemas.get_resource_schema('eu-west-1', t).schema.get('createOnlyProperties', []) for t in sys.argv[1:]}))",
    ].join('\n');
    const createOnly = JSON.parse(execFileSync(cfnLintPython(), ['-c', script, ...types], { encoding: 'utf8' })) as Record<string, string[]>;

    // Act
    const changed = Object.entries(first.Resources).flatMap(([id, resource]: [string, Json]) =>
      createOnly[resource.Type]
        .filter((pointer) => JSON.stringify(at(resource, pointer)) !== JSON.stringify(at(second.Resources[id], pointer)))
        .map((pointer) => `${id}${pointer}`),
    );

    // Assess
    expect(Object.keys(second.Resources).sort()).toEqual(Object.keys(first.Resources).sort());
    expect(changed).toEqual([]);
    expect(createOnly['AWS::ElasticBeanstalk::Environment']).toContain('/properties/SolutionStackName');
    expect(first.Resources.WebEnvironment.Properties.SolutionStackName).toBeUndefined();
    // the update is there, in a property CloudFormation updates in place
    expect(first.Resources.WebEnvironment.Properties.PlatformArn).toBe(PLATFORM('6.6.0'));
    expect(second.Resources.WebEnvironment.Properties.PlatformArn).toBe(PLATFORM('6.7.0'));
    expect(createOnly['AWS::ElasticBeanstalk::Environment']).not.toContain('/properties/PlatformArn');
    expect(second.Outputs.WebPlatformArn.Value).toBe(PLATFORM('6.7.0'));
  });
});

describe('cfn-lint', () => {
  it('finds no error in the compiled templates (CloudFront address and own domain), and only the warnings listed with their reason', () => {
    // Act: exit 0 clean, 4 warnings, 2 errors (bit flags); the JSON lists every finding
    let output: string;
    try {
      // cfn-lint's console script, run through the Python found to have it.
      const cli = "import sys; from cfnlint.runner import main; sys.argv[0] = 'cfn-lint'; sys.exit(main())";
      output = execFileSync(cfnLintPython(), ['-c', cli, '--format', 'json', '--', ...templateFiles], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
    } catch (error) {
      output = (error as { stdout: string }).stdout;
    }
    const findings = JSON.parse(output) as Array<{ Rule: { Id: string }; Level: string; Message: string }>;

    // Assess
    expect(findings.filter((finding) => finding.Level === 'Error')).toEqual([]);
    const unexplained = findings.filter((finding) => !ACCEPTED_WARNINGS[finding.Rule.Id]?.test(finding.Message));
    expect(unexplained.map((finding) => `${finding.Rule.Id} ${finding.Message}`)).toEqual([]);
  }, 120_000);
});

describe('the site', () => {
  const distribution = (template: Json) => template.Resources.SiteDistribution.Properties.DistributionConfig;
  const options = (template: Json) => template.Resources.WebEnvironment.Properties.OptionSettings as Json[];
  const option = (template: Json, name: string) => options(template).find((setting) => setting.OptionName === name)?.Value;

  it('is served over HTTPS by CloudFront, with its own certificate and HTTP redirected', () => {
    const config = distribution(first);
    const origin = config.Origins[0];
    expect(origin.DomainName).toEqual({ 'Fn::Sub': 'music-captioner-ci-${AWS::AccountId}.${AWS::Region}.elasticbeanstalk.com' });
    expect(origin.CustomOriginConfig.OriginProtocolPolicy).toBe('http-only');
    for (const behavior of [config.DefaultCacheBehavior, ...config.CacheBehaviors]) expect(behavior.ViewerProtocolPolicy).toBe('redirect-to-https');
    expect(config.ViewerCertificate['Fn::If'][2]).toEqual({ CloudFrontDefaultCertificate: true });
    expect(first.Parameters.SiteDomain.Default).toBe('');
  });

  it('caches nothing of the pages and the API, and caches the static assets', () => {
    const config = distribution(first);
    expect(config.DefaultCacheBehavior).toMatchObject({ CachePolicyId: CACHING_DISABLED, OriginRequestPolicyId: ALL_VIEWER });
    expect(config.DefaultCacheBehavior.AllowedMethods).toEqual(expect.arrayContaining(['GET', 'POST', 'PUT', 'DELETE']));
    expect(config.CacheBehaviors).toEqual([expect.objectContaining({ PathPattern: '/_next/static/*', CachePolicyId: CACHING_OPTIMIZED })]);
  });

  it("lets the bucket take uploads from that origin only, and tells the site its origin", () => {
    const origins = first.Resources.UploadBucket.Properties.CorsConfiguration.CorsRules.flatMap((rule: Json) => rule.AllowedOrigins);
    const siteUrl = {
      'Fn::If': ['HasSiteDomain', { 'Fn::Sub': 'https://${SiteDomain}' }, { 'Fn::Sub': 'https://${SiteDistribution.DomainName}' }],
    };
    expect(origins).toEqual([siteUrl]);
    expect(option(first, 'SITE_ORIGIN')).toEqual(siteUrl);
    expect(first.Outputs.SiteUrl.Value).toEqual(siteUrl);
    // CloudFront, then nginx, before the site
    expect(option(first, 'TRUSTED_PROXY_HOPS')).toBe('1');
  });

  it('takes an own domain with its ACM certificate from custom.site', () => {
    expect(second.Parameters.SiteDomain.Default).toBe('captions.example.com');
    expect(second.Parameters.SiteCertificateArn.Default).toBe(CERTIFICATE);
    const config = distribution(second);
    expect(config.Aliases).toEqual({ 'Fn::If': ['HasSiteDomain', [{ Ref: 'SiteDomain' }], { Ref: 'AWS::NoValue' }] });
    expect(config.ViewerCertificate['Fn::If'][1]).toMatchObject({ AcmCertificateArn: { Ref: 'SiteCertificateArn' }, SslSupportMethod: 'sni-only' });
  });

  it('gives every Beanstalk option a string value, as the option schema types it', () => {
    const literal = options(first).filter((setting) => typeof setting.Value !== 'object');
    expect(literal.length).toBeGreaterThan(5);
    expect(literal.filter((setting) => typeof setting.Value !== 'string')).toEqual([]);
    expect(option(first, 'MAX_UPLOAD_BYTES')).toBe('200000000');
  });
});

describe("the site's instance role", () => {
  const statements = (template: Json): Json[] =>
    template.Resources.WebInstanceRole.Properties.Policies.flatMap((policy: Json) => policy.PolicyDocument.Statement);

  it('may list the bucket under uploads/, library/, results/ and a run\'s own chunks/ and captions/ only', () => {
    const listing = statements(first).filter((statement) => [statement.Action].flat().includes('s3:ListBucket'));
    expect(listing).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::music-captioner-ci-${AWS::AccountId}-${AWS::Region}' },
        Condition: { StringLike: { 's3:prefix': ['uploads/', 'uploads/*', 'library/', 'library/*', 'results/', 'results/*', 'chunks/*', 'captions/*'] } },
      }),
    ]);
  });

  it("has AWS's managed web-tier policy for Beanstalk's health agent, bundle download and log streaming", () => {
    expect(first.Resources.WebInstanceRole.Properties.ManagedPolicyArns).toEqual([
      { 'Fn::Sub': 'arn:${AWS::Partition}:iam::aws:policy/AWSElasticBeanstalkWebTier' },
    ]);
    expect(first.Resources.WebEnvironment.Properties.OptionSettings).toEqual(
      expect.arrayContaining([expect.objectContaining({ OptionName: 'IamInstanceProfile', Value: { Ref: 'WebInstanceProfile' } })]),
    );
  });
});

describe('the caption image build', () => {
  const sagemaker = (file: string) => readFileSync(join(__dirname, '..', 'sagemaker', file), 'utf8');

  it("starts from AWS's PyTorch Deep Learning Container in ECR, not Docker Hub", () => {
    const from = sagemaker('Dockerfile').split('\n').filter((line) => line.startsWith('FROM '));
    expect(from).toEqual(['FROM --platform=linux/amd64 ${BASE_REGISTRY}/pytorch-training:${BASE_TAG}']);
    expect(sagemaker('Dockerfile')).toMatch(/^ARG BASE_REGISTRY=763104351884\.dkr\.ecr\.us-east-1\.amazonaws\.com$/m);
    expect(sagemaker('Dockerfile')).toMatch(/^ARG BASE_TAG=2\.1\.0-gpu-py310-cu121-ubuntu20\.04-sagemaker$/m);
  });

  it("logs in to that region's DLC registry in CodeBuild and builds against it, with a role that may pull only that repository", () => {
    // Prepare
    const commands = sagemaker('buildspec.yml');
    // Assess
    expect(commands).toContain('BASE_REGISTRY="$DLC_ACCOUNT.dkr.ecr.$AWS_DEFAULT_REGION.amazonaws.com"');
    expect(commands).toContain('docker login --username AWS --password-stdin "$BASE_REGISTRY"');
    expect(commands).toContain('--build-arg BASE_REGISTRY="$BASE_REGISTRY"');
    const pull = first.Resources.CaptionImageBuildRole.Properties.Policies[0].PolicyDocument.Statement.find(
      (statement: Json) => statement.Sid === 'PullPyTorchBaseImage',
    );
    expect(pull.Action).toEqual(['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability']);
    expect(pull.Resource).toEqual({ 'Fn::Sub': 'arn:${AWS::Partition}:ecr:${AWS::Region}:*:repository/pytorch-training' });
  });
});
