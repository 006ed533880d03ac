/**
 * `serverless package` offline with each caption backend: the same template, the Caption Choice resolved to the
 * backend asked for, and the caption-llm function's least-privilege role.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { slsPackage, TEST_PLATFORM_ARN } from './helpers/sls.ts';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any
const STAGE = 'ci';

async function packaged(outDir: string, params: string[]): Promise<Json> {
  await slsPackage({ stage: STAGE, region: 'eu-west-1', outDir, ffmpegBinary: '/usr/bin/ffmpeg', params: [`--param=webPlatformArn=${TEST_PLATFORM_ARN}`, ...params] });
  return JSON.parse(readFileSync(join(outDir, 'cloudformation-template-update-stack.json'), 'utf8'));
}

const dirs = { sagemaker: mkdtempSync(join(tmpdir(), 'sls-sagemaker-')), audioLlm: mkdtempSync(join(tmpdir(), 'sls-audio-llm-')) };
let byDefault: Json;
let audioLlm: Json;

beforeAll(async () => {
  // One after the other: both build into the same .esbuild folder.
  byDefault = await packaged(dirs.sagemaker, []);
  audioLlm = await packaged(dirs.audioLlm, ['--param=captionBackend=audio-llm', '--param=captionLlmKeyParameter=/music-captioner/caption-llm-key']);
}, 240_000);

afterAll(() => {
  for (const dir of Object.values(dirs)) rmSync(dir, { recursive: true, force: true });
});

const definition = (template: Json) => {
  const [body, params] = template.Resources.Pipeline.Properties.DefinitionString['Fn::Sub'];
  return { asl: JSON.parse(body as string), params: params as Record<string, Json> };
};
const statements = (template: Json, role: string): Json[] =>
  template.Resources[role].Properties.Policies.flatMap((policy: Json) => policy.PolicyDocument.Statement);
const asList = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);
const sub = (value: Json): string => (typeof value === 'string' ? value : value['Fn::Sub']);

describe('the caption backend in the packaged stack', () => {
  it('takes the SageMaker job by default and the audio-LLM function with captionBackend=audio-llm, in the same state machine', () => {
    // Prepare
    const sagemaker = definition(byDefault).asl;
    const llm = definition(audioLlm);
    // Assess
    expect(sagemaker.States.PickCaptioner.Result).toEqual({ backend: 'sagemaker' });
    expect(llm.asl.States.PickCaptioner.Result).toEqual({ backend: 'audio-llm' });
    expect(Object.keys(llm.asl.States)).toEqual(Object.keys(sagemaker.States));
    expect(llm.asl.States.ChooseCaptioner.Choices[0]).toMatchObject({ StringEquals: 'audio-llm', Next: 'CaptionWithAudioLlm' });
    // The Task invokes this stack's caption-llm function, within a state timeout longer than the function's own.
    const placeholder = /^\$\{(\w+)\}$/.exec(llm.asl.States.CaptionWithAudioLlm.Parameters.FunctionName)![1];
    expect(llm.params[placeholder]).toEqual({ 'Fn::GetAtt': ['CaptionLlmLambdaFunction', 'Arn'] });
    expect(llm.asl.States.CaptionWithAudioLlm.TimeoutSeconds).toBeGreaterThan(audioLlm.Resources.CaptionLlmLambdaFunction.Properties.Timeout);
  });

  it('lets the caption-llm function read the manifest and windows, write captions and read its one key parameter, nothing more', () => {
    // Prepare
    const allowed = statements(audioLlm, 'CaptionLlmRole').filter((s: Json) => s.Effect === 'Allow');
    const byAction = (action: string) => allowed.filter((s: Json) => asList(s.Action).includes(action)).flatMap((s: Json) => asList(s.Resource).map(sub));
    // Assess
    expect(allowed.flatMap((s: Json) => asList(s.Action)).sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents', 's3:GetObject', 's3:PutObject', 'ssm:GetParameter']);
    expect(byAction('s3:GetObject')).toEqual([
      'arn:${AWS::Partition}:s3:::music-captioner-ci-${AWS::AccountId}-${AWS::Region}/chunks/*/manifest.json',
      'arn:${AWS::Partition}:s3:::music-captioner-ci-${AWS::AccountId}-${AWS::Region}/chunks/*/windows/*',
    ]);
    expect(byAction('s3:PutObject')).toEqual(['arn:${AWS::Partition}:s3:::music-captioner-ci-${AWS::AccountId}-${AWS::Region}/captions/*']);
    expect(byAction('ssm:GetParameter')).toEqual(['arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/music-captioner/caption-llm-key']);
    expect(byAction('logs:PutLogEvents')).toEqual(['arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/music-captioner-ci-captionLlm:*']);
  });

  it('gives the function the parameter name, never a key, and lets only the state machine invoke it', () => {
    // Prepare
    const variables = audioLlm.Resources.CaptionLlmLambdaFunction.Properties.Environment.Variables;
    const invoke = statements(audioLlm, 'StateMachineRole').find((s: Json) => asList(s.Action).includes('lambda:InvokeFunction'));
    // Assess
    expect(variables).toMatchObject({ CAPTION_LLM_API_KEY_PARAMETER: '/music-captioner/caption-llm-key', CAPTION_LLM_MODEL: 'gpt-audio-1.5' });
    expect(Object.keys(variables).filter((name) => /KEY$|SECRET|TOKEN/.test(name))).toEqual([]);
    expect(asList(invoke.Resource).map(sub)).toEqual(
      expect.arrayContaining([
        'arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:music-captioner-ci-captionLlm',
        'arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:music-captioner-ci-captionLlm:*',
      ]),
    );
    const zip = execFileSync('unzip', ['-Z1', join(dirs.audioLlm, 'captionLlm.zip')], { encoding: 'utf8' });
    expect(zip).toContain('functions/caption-llm/handler.js');
    expect(zip).not.toContain('ffmpeg');
  });
});
