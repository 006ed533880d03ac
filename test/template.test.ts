/**
 * `serverless package` offline, then the CloudFormation template it writes: every resource the stack promises,
 * least-privilege IAM, no secrets, and a state machine whose references resolve to this template.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PREPROCESS_V8_FLAGS } from '../runtime/preprocess-pool.ts';
import { OUTPUT_NAMES } from '../scripts/lib/stack.ts';
import { slsPackage } from './helpers/sls.ts';

const ROOT = resolve(__dirname, '..');
const STAGE = 'ci';
const STACK_PREFIX = `music-captioner-${STAGE}`;

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any
interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: Json;
  Condition?: Json;
}

let outDir: string;
let template: Json;
let resources: Record<string, Json>;
let packagingLog: string;

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'sls-package-'));
  // CI has no ffmpeg-static download: Debian's ffmpeg is an x86-64 ELF stand-in for the bundled binary.
  const { stdout, stderr } = await slsPackage({ stage: STAGE, region: 'eu-west-1', outDir, ffmpegBinary: '/usr/bin/ffmpeg' });
  packagingLog = stdout + stderr;
  template = JSON.parse(readFileSync(join(outDir, 'cloudformation-template-update-stack.json'), 'utf8'));
  resources = template.Resources;
}, 300_000); // packaging waits its turn (test/helpers/sls.ts)

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

const ofType = (type: string) => Object.entries(resources).filter(([, resource]) => resource.Type === type);
const asList = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

function inlineStatements(logicalId: string): Statement[] {
  return resources[logicalId].Properties.Policies.flatMap((policy: Json) => policy.PolicyDocument.Statement);
}

function allPolicyStatements(): Array<{ where: string; statement: Statement }> {
  const found: Array<{ where: string; statement: Statement }> = [];
  for (const [id, resource] of Object.entries(resources)) {
    const documents: Json[] = [];
    if (resource.Type === 'AWS::IAM::Role') documents.push(...(resource.Properties.Policies ?? []).map((p: Json) => p.PolicyDocument));
    if (resource.Type === 'AWS::S3::BucketPolicy') documents.push(resource.Properties.PolicyDocument);
    for (const document of documents) for (const statement of document.Statement) found.push({ where: id, statement });
  }
  return found;
}

/** A resource's Fn::Sub template string (the ARNs here are built from names). */
const sub = (value: Json): string => (typeof value === 'string' ? value : value['Fn::Sub']);

function allowed(logicalId: string, action: string): string[] {
  return inlineStatements(logicalId)
    .filter((s) => s.Effect === 'Allow' && asList(s.Action).includes(action))
    .flatMap((s) => asList(s.Resource).map((r) => (typeof r === 'string' ? r : JSON.stringify(r))));
}

describe('serverless package', () => {
  it('packages each function with its own bundle and ffmpeg only with preprocess', () => {
    // Prepare: the zips serverless wrote
    const { execFileSync } = require('node:child_process') as typeof import('node:child_process');
    const list = (name: string) => execFileSync('unzip', ['-Z1', join(outDir, `${name}.zip`)], { encoding: 'utf8' });

    // Act
    const preprocess = list('preprocess');
    const start = list('start');

    // Assess
    expect(preprocess).toContain('functions/preprocess/handler.js');
    expect(preprocess).toContain('layers/ffmpeg/bin/ffmpeg');
    expect(start).toContain('functions/start/handler.js');
    expect(start).not.toContain('ffmpeg');
    expect(packagingLog).toMatch(/definition is valid/);
    expect(resources.PreprocessLambdaFunction.Properties.Environment.Variables.FFMPEG_BIN).toBe('/var/task/layers/ffmpeg/bin/ffmpeg');
  });

  it('declares every resource the stack promises', () => {
    const expected: Record<string, string> = {
      UploadBucket: 'AWS::S3::Bucket',
      UploadBucketPolicy: 'AWS::S3::BucketPolicy',
      StartLambdaFunction: 'AWS::Lambda::Function',
      PreprocessLambdaFunction: 'AWS::Lambda::Function',
      SummarizeLambdaFunction: 'AWS::Lambda::Function',
      RecordFailureLambdaFunction: 'AWS::Lambda::Function',
      StartUploadPermission: 'AWS::Lambda::Permission',
      Pipeline: 'AWS::StepFunctions::StateMachine',
      StateMachineRole: 'AWS::IAM::Role',
      CaptionRepository: 'AWS::ECR::Repository',
      SageMakerExecutionRole: 'AWS::IAM::Role',
      CaptionImageBuild: 'AWS::CodeBuild::Project',
      WebApplication: 'AWS::ElasticBeanstalk::Application',
      WebEnvironment: 'AWS::ElasticBeanstalk::Environment',
      WebInstanceProfile: 'AWS::IAM::InstanceProfile',
      FailedRunsAlarm: 'AWS::CloudWatch::Alarm',
    };
    for (const [id, type] of Object.entries(expected)) expect([id, resources[id]?.Type]).toEqual([id, type]);
    expect(Object.keys(template.Outputs)).toEqual(expect.arrayContaining([...OUTPUT_NAMES]));
  });

  it('runs Node.js 22 on x86-64 with a preprocess sized for a 60-minute file', () => {
    const functions = ofType('AWS::Lambda::Function').map(([, f]) => f.Properties);
    for (const fn of functions) {
      expect(fn.Runtime).toBe('nodejs22.x');
      expect(fn.Architectures).toEqual(['x86_64']);
    }
    const preprocess = resources.PreprocessLambdaFunction.Properties;
    expect(preprocess.Timeout).toBe(900);
    expect(preprocess.MemorySize).toBeGreaterThanOrEqual(3008);
    // preprocess streams (nothing of the file is written to /tmp), so /tmp stays at Lambda's smallest size
    const maxUpload = Number(preprocess.Environment.Variables.MAX_UPLOAD_BYTES);
    expect(preprocess.EphemeralStorage.Size).toBe(512);
    expect(Number(preprocess.Environment.Variables.MAX_DURATION_SEC)).toBe(3600);
    // The same V8 flags as the embedded runtime's Preprocess processes (and the bench's memory figure).
    const nodeOptions = String(preprocess.Environment.Variables.NODE_OPTIONS).split(/\s+/);
    expect(nodeOptions).toEqual(expect.arrayContaining(['--enable-source-maps', ...PREPROCESS_V8_FLAGS]));
    // the site refuses what preprocess would refuse
    const site = resources.WebEnvironment.Properties.OptionSettings.find((s: Json) => s.OptionName === 'MAX_UPLOAD_BYTES');
    expect(Number(site.Value)).toBe(maxUpload);
  });

  it('keeps the bucket private, encrypted, TLS-only, expiring intermediates and aborting stale uploads', () => {
    const bucket = resources.UploadBucket.Properties;
    expect(Object.values(bucket.PublicAccessBlockConfiguration)).toEqual([true, true, true, true]);
    expect(bucket.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe('AES256');
    const rules = bucket.LifecycleConfiguration.Rules;
    const expiring = Object.fromEntries(rules.filter((r: Json) => r.Prefix).map((r: Json) => [r.Prefix, r.ExpirationInDays]));
    expect(expiring).toEqual({ 'chunks/': 7, 'captions/': 7 });
    expect(rules.some((r: Json) => r.AbortIncompleteMultipartUpload?.DaysAfterInitiation >= 1)).toBe(true);
    const tls = resources.UploadBucketPolicy.Properties.PolicyDocument.Statement[0];
    expect(tls).toMatchObject({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } });
    const cors = bucket.CorsConfiguration.CorsRules[0];
    expect(cors.AllowedMethods).toContain('POST');
    expect(JSON.stringify(cors.AllowedOrigins)).toContain('SiteDistribution.DomainName');
    expect(JSON.stringify(template.Outputs.SiteUrl.Value)).toBe(JSON.stringify(cors.AllowedOrigins[0]));
  });

  it('starts a run for every object created under uploads/, and nothing else', () => {
    const [notification] = resources.UploadBucket.Properties.NotificationConfiguration.LambdaConfigurations;
    expect(notification.Function).toEqual({ 'Fn::GetAtt': ['StartLambdaFunction', 'Arn'] });
    expect(notification.Filter.S3Key.Rules).toEqual([{ Name: 'prefix', Value: 'uploads/' }]);
    expect(resources.UploadBucket.DependsOn).toContain('StartUploadPermission');
    expect(resources.StartUploadPermission.Properties.Principal).toBe('s3.amazonaws.com');
    expect(sub(resources.StartLambdaFunction.Properties.Environment.Variables.STATE_MACHINE_ARN)).toBe(
      `arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:stateMachine:${STACK_PREFIX}`,
    );
    expect(resources.Pipeline.Properties.StateMachineName).toBe(STACK_PREFIX);
  });
});

describe('IAM', () => {
  it('allows no wildcard action; the only wildcard is the bucket policy denying plain HTTP', () => {
    const wildcards = allPolicyStatements().filter(({ statement }) => asList(statement.Action).some((a) => a.includes('*')));
    expect(wildcards.map(({ where, statement }) => [where, statement.Effect])).toEqual(
      expect.arrayContaining([['UploadBucketPolicy', 'Deny']]),
    );
    expect(wildcards.every(({ statement }) => statement.Effect === 'Deny')).toBe(true);
  });

  it('grants Resource "*" only for the actions AWS offers no resource scope for', () => {
    const unscopable = new Set(['ecr:GetAuthorizationToken', 'cloudwatch:PutMetricData']);
    const everywhere = allPolicyStatements().filter(
      ({ statement }) => statement.Effect === 'Allow' && asList(statement.Resource).includes('*'),
    );
    expect(everywhere.length).toBeGreaterThan(0);
    for (const { statement } of everywhere) for (const action of asList(statement.Action)) expect(unscopable).toContain(action);
    // and the yml says why at each of them
    const yml = readFileSync(join(ROOT, 'serverless.yml'), 'utf8').split('\n');
    const starLines = yml.flatMap((line, i) => (/Resource: '\*'/.test(line) ? [i] : []));
    expect(starLines).toHaveLength(everywhere.length);
    for (const line of starLines) expect(yml.slice(line - 6, line).join('\n')).toMatch(/AWS requires "\*"/);
  });

  it('passes only the SageMaker role, and only to SageMaker', () => {
    const passes = allPolicyStatements().filter(({ statement }) => asList(statement.Action).includes('iam:PassRole'));
    expect(passes.map(({ where }) => where)).toEqual(['StateMachineRole']);
    expect(passes[0].statement.Resource).toEqual({ 'Fn::GetAtt': ['SageMakerExecutionRole', 'Arn'] });
    expect(passes[0].statement.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } });
  });

  it('lets the state machine invoke its three functions, run its own caption jobs and wait on the SageMaker rule', () => {
    const invoked = allowed('StateMachineRole', 'lambda:InvokeFunction').join('\n');
    for (const name of ['preprocess', 'summarize', 'recordFailure']) expect(invoked).toContain(`function:${STACK_PREFIX}-${name}`);
    expect(invoked).not.toContain('-start');
    for (const action of ['CreateProcessingJob', 'DescribeProcessingJob', 'StopProcessingJob', 'AddTags', 'ListTags']) {
      expect(allowed('StateMachineRole', `sagemaker:${action}`)).toEqual([
        expect.stringContaining(`processing-job/caption-*`),
      ]);
    }
    for (const action of ['PutTargets', 'PutRule', 'DescribeRule']) {
      expect(allowed('StateMachineRole', `events:${action}`)).toEqual([
        expect.stringMatching(/rule\/StepFunctionsGetEventsForSageMakerProcessingJobsRule"}$/),
      ]);
    }
  });

  it('gives each function exactly the bucket prefixes it touches', () => {
    const s3 = (role: string) =>
      Object.fromEntries(
        ['s3:GetObject', 's3:PutObject'].map((action) => [
          action,
          allowed(role, action).map((r) => /:::[^/]+\/([a-z]+)\/\*/.exec(r)?.[1]).sort(),
        ]),
      );
    expect(s3('StartRole')).toEqual({ 's3:GetObject': [], 's3:PutObject': [] });
    expect(s3('PreprocessRole')).toEqual({ 's3:GetObject': ['uploads'], 's3:PutObject': ['chunks'] });
    expect(s3('SummarizeRole')).toEqual({ 's3:GetObject': ['captions', 'chunks', 'library'], 's3:PutObject': ['library', 'results'] });
    expect(s3('RecordFailureRole')).toEqual({ 's3:GetObject': [], 's3:PutObject': ['results'] });
    expect(s3('SageMakerExecutionRole')).toEqual({ 's3:GetObject': ['chunks', 'model'], 's3:PutObject': ['captions'] });
    expect(allowed('StartRole', 'states:StartExecution')).toEqual([expect.stringContaining(`stateMachine:${STACK_PREFIX}"`)]);
    // no generated catch-all role for the functions
    expect(resources.IamRoleLambdaExecution).toBeUndefined();
  });

  it('limits the site to presigning uploads, reading uploads, results and the library, deleting runs, and this state machine', () => {
    const role = 'WebInstanceRole';
    expect(allowed(role, 's3:PutObject')).toEqual([expect.stringMatching(/\/uploads\/\*"}$/), expect.stringMatching(/\/library\/\*"}$/)]);
    expect(allowed(role, 's3:GetObject').filter((r) => r.includes('music-captioner'))).toEqual([
      expect.stringMatching(/\/uploads\/\*"}$/),
      expect.stringMatching(/\/results\/\*"}$/),
      expect.stringMatching(/\/library\/\*"}$/),
    ]);
    expect(allowed(role, 's3:DeleteObject').map((r) => /:::[^/]+\/([a-z]+)\/\*/.exec(r)?.[1]).sort()).toEqual(['captions', 'chunks', 'library', 'results', 'uploads']);
    for (const action of ['states:StartExecution', 'states:ListExecutions']) {
      expect(allowed(role, action)).toEqual([expect.stringContaining(`stateMachine:${STACK_PREFIX}"`)]);
    }
    for (const action of ['states:DescribeExecution', 'states:GetExecutionHistory']) {
      expect(allowed(role, action)).toEqual([expect.stringContaining(`execution:${STACK_PREFIX}:*`)]);
    }
    const settings = resources.WebEnvironment.Properties.OptionSettings;
    const profile = settings.find((s: Json) => s.OptionName === 'IamInstanceProfile');
    expect(profile.Value).toEqual({ Ref: 'WebInstanceProfile' });
    const variables = settings.filter((s: Json) => s.Namespace === 'aws:elasticbeanstalk:application:environment').map((s: Json) => s.OptionName);
    expect(variables).toEqual(expect.arrayContaining(['BUCKET', 'AWS_REGION', 'STATE_MACHINE_ARN']));
  });

  it('keeps the OpenAI key out of the template: summarize gets the parameter name and may read only it', () => {
    const variables = resources.SummarizeLambdaFunction.Properties.Environment.Variables;
    expect(variables.OPENAI_API_KEY_PARAMETER).toBe('/music-captioner/openai-api-key');
    expect(variables.OPENAI_API_KEY).toBeUndefined();
    expect(allowed('SummarizeRole', 'ssm:GetParameter')).toEqual([
      expect.stringContaining(':parameter/music-captioner/openai-api-key"'),
    ]);
    const text = JSON.stringify(template);
    expect(text).not.toMatch(/sk-[A-Za-z0-9_-]{16,}/);
    expect(text).not.toMatch(/AKIA[0-9A-Z]{16}/);
    expect(text).not.toMatch(/"(ACCESS_TOKEN|OPENAI_API_KEY|AWS_SECRET_ACCESS_KEY)"/);
    expect(text).not.toContain('offline'); // the fake credentials this test packaged with
  });
});

describe('the state machine in the template', () => {
  const definition = () => {
    const [body, params] = resources.Pipeline.Properties.DefinitionString['Fn::Sub'];
    return { body: body as string, params: params as Record<string, Json>, asl: JSON.parse(body) };
  };

  it('runs under the role written for it', () => {
    expect(resources.Pipeline.Properties.RoleArn).toEqual({ 'Fn::GetAtt': ['StateMachineRole', 'Arn'] });
  });

  it('resolves every reference to a resource of this template or a pseudo parameter', () => {
    const { body, params } = definition();
    const placeholders = [...body.matchAll(/\$\{([^}]+)\}/g)].map((m) => m[1]);
    expect(placeholders.length).toBeGreaterThan(0);
    const pseudo = /^AWS::/;
    for (const name of placeholders) expect(pseudo.test(name) || name in params).toBe(true);
    const referenced = JSON.stringify(params);
    for (const [, logicalId] of referenced.matchAll(/"Fn::GetAtt":\["([^"]+)"/g)) expect(resources[logicalId]).toBeDefined();
    expect(body).not.toContain('self:custom');
  });

  it('takes the processing job parameters from configuration', () => {
    const { asl, params } = definition();
    const job = asl.States.Caption.Parameters;
    expect(job.ProcessingResources.ClusterConfig).toEqual({ InstanceCount: 1, InstanceType: 'ml.m5.xlarge', VolumeSizeInGB: 30 });
    expect(job.StoppingCondition.MaxRuntimeInSeconds).toBe(3600);
    const resolve = (placeholder: string) => params[/^\$\{(.+)\}$/.exec(placeholder)?.[1] as string];
    expect(resolve(job.RoleArn)).toEqual({ 'Fn::GetAtt': ['SageMakerExecutionRole', 'Arn'] });
    expect(JSON.stringify(resolve(job.AppSpecification.ImageUri))).toContain('CaptionRepository');
    const model = job.ProcessingInputs.find((input: Json) => input.InputName === 'model').S3Input.S3Uri;
    expect(resolve(model)).toEqual({ 'Fn::Sub': `s3://${STACK_PREFIX}-\${AWS::AccountId}-\${AWS::Region}/model/` });
    expect(template.Outputs.ModelS3Uri.Value).toEqual(resolve(model));
    // the role may touch exactly the job names the state names its jobs with
    const prefix = /States\.Format\('([^{']*)\{\}-\{\}'/.exec(job['ProcessingJobName.$'])?.[1];
    expect(allowed('StateMachineRole', 'sagemaker:CreateProcessingJob')[0]).toContain(`processing-job/${prefix}*`);
  });

  it('alarms on failed executions of this state machine', () => {
    const alarm = resources.FailedRunsAlarm.Properties;
    expect(alarm).toMatchObject({ Namespace: 'AWS/States', MetricName: 'ExecutionsFailed', Threshold: 1 });
    expect(alarm.Dimensions).toEqual([{ Name: 'StateMachineArn', Value: { Ref: 'Pipeline' } }]);
  });
});

describe('the caption image and logs', () => {
  it('scans images on push and keeps only the newest few', () => {
    const repository = resources.CaptionRepository.Properties;
    expect(repository.ImageScanningConfiguration.ScanOnPush).toBe(true);
    const policy = JSON.parse(repository.LifecyclePolicy.LifecyclePolicyText);
    expect(policy.rules[0].selection).toMatchObject({ countType: 'imageCountMoreThan', countNumber: 5 });
  });

  it('builds the image from the zip image:build uploads, with sagemaker/buildspec.yml', () => {
    const project = resources.CaptionImageBuild.Properties;
    expect(sub(project.Source.Location)).toMatch(/\/build\/caption-image\.zip$/);
    expect(project.Source.BuildSpec).toBe('buildspec.yml');
    expect(project.Environment.PrivilegedMode).toBe(true);
    expect(readFileSync(join(ROOT, 'sagemaker', 'buildspec.yml'), 'utf8')).toContain('REPOSITORY_URI');
  });

  it('keeps every log group for a limited time', () => {
    const groups = ofType('AWS::Logs::LogGroup');
    expect(groups.length).toBeGreaterThanOrEqual(5);
    for (const [, group] of groups) expect(group.Properties.RetentionInDays).toBe(14);
  });
});
