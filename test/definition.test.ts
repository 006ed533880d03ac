/** statemachine/pipeline.asl.json: valid ASL once resolved, and every Task guarded the way the design asks. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { newUploadId, uploadRefFromKey } from '#core/ids';
import { DEFINITION_PATH, lambdaStates, loadLocalDefinition, localCustom, resolveDefinition } from '../runtime/definition.ts';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const aslValidator = require('asl-validator') as (definition: unknown) => { isValid: boolean; errorsText: (separator?: string) => string };

type State = {
  Type: string;
  Resource?: string;
  TimeoutSeconds?: number;
  Retry?: Array<{ ErrorEquals: string[]; BackoffRate?: number; JitterStrategy?: string; MaxAttempts?: number }>;
  Catch?: Array<{ ErrorEquals: string[]; Next: string }>;
  Parameters?: Record<string, unknown>;
};

const definition = loadLocalDefinition(localCustom({ bucket: 'test-bucket' }));
const states = definition.States as Record<string, State>;
const LAMBDA_SERVICE_ERRORS = ['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.TooManyRequestsException'];

describe('the state machine definition', () => {
  it('passes asl-validator once its configuration is resolved', () => {
    // Act
    const { isValid, errorsText } = aslValidator(definition);
    // Assess
    expect(errorsText('\n')).toBe('');
    expect(isValid).toBe(true);
  });

  it('retries every Lambda task on the Lambda service errors with backoff and jitter, and catches everything else', () => {
    // Prepare
    const lambdaTasks = lambdaStates(definition);
    // Assess
    expect(lambdaTasks.map((t) => t.state).sort()).toEqual(['CaptionWithAudioLlm', 'Preprocess', 'RecordFailure', 'Summarize', 'SummarizeLocally']);
    for (const { state } of lambdaTasks) {
      const retry = states[state].Retry!.find((r) => r.ErrorEquals.includes('Lambda.ServiceException'))!;
      expect(retry.ErrorEquals).toEqual(LAMBDA_SERVICE_ERRORS);
      expect(retry.BackoffRate).toBeGreaterThan(1);
      expect(retry.JitterStrategy).toBe('FULL');
      expect(states[state].Catch!.some((c) => c.ErrorEquals.includes('States.ALL'))).toBe(true);
    }
  });

  it('gives every Task an explicit timeout and a Catch that leads to the failure document', () => {
    for (const [name, state] of Object.entries(states).filter(([, s]) => s.Type === 'Task' && s !== states.RecordFailure)) {
      expect({ name, timeout: state.TimeoutSeconds }).toEqual({ name, timeout: expect.any(Number) });
      const marker = states[state.Catch!.find((c) => c.ErrorEquals.includes('States.ALL'))!.Next] as State & { Next: string };
      expect({ name, marker: marker.Type, then: marker.Next }).toEqual({ name, marker: 'Pass', then: 'RecordFailure' });
    }
    // Writing the failure document may fail too; the run still ends FAILED with the original error.
    expect(states.RecordFailure.Catch![0].Next).toBe('FailedUnrecorded');
    expect(states.FailedUnrecorded).toMatchObject({ Type: 'Fail', ErrorPath: '$.error.Error' });
  });

  it('retries Summarize only on the LLM being unavailable, never on its final errors', () => {
    // Prepare
    const retried = states.Summarize.Retry!.flatMap((r) => r.ErrorEquals);
    // Assess
    expect(retried).toContain('SummaryServiceUnavailable');
    for (const final of ['SummaryAuthFailed', 'SummaryQuotaExceeded', 'SummaryRequestRejected', 'States.ALL']) expect(retried).not.toContain(final);
    expect(states.Summarize.Catch![0]).toMatchObject({ Next: 'SummarizeLocally' });
  });

  it('runs Caption as a processing job whose windows shard by S3 key, with its settings from configuration', () => {
    // Prepare
    const caption = states.Caption;
    const parameters = caption.Parameters as {
      RoleArn: string;
      ProcessingResources: { ClusterConfig: { InstanceCount: number; InstanceType: string } };
      ProcessingInputs: Array<{ InputName: string; S3Input: { S3DataDistributionType: string } }>;
      StoppingCondition: { MaxRuntimeInSeconds: number };
    };
    // Assess
    expect(caption.Resource).toBe('arn:aws:states:::sagemaker:createProcessingJob.sync');
    expect(parameters.ProcessingInputs.find((i) => i.InputName === 'windows')!.S3Input.S3DataDistributionType).toBe('ShardedByS3Key');
    expect(parameters.ProcessingInputs.find((i) => i.InputName === 'manifest')!.S3Input.S3DataDistributionType).toBe('FullyReplicated');
    expect(parameters.ProcessingResources.ClusterConfig).toMatchObject({ InstanceCount: 1, InstanceType: 'local' });
    expect(parameters.StoppingCondition.MaxRuntimeInSeconds).toBe(3600);
    expect(caption.TimeoutSeconds).toBeGreaterThan(parameters.StoppingCondition.MaxRuntimeInSeconds);
    // A missing quota is caught by name and explained, not retried.
    expect(caption.Retry!.flatMap((r) => r.ErrorEquals)).not.toContain('SageMaker.ResourceLimitExceededException');
    expect(caption.Catch![0]).toEqual({ ErrorEquals: ['SageMaker.ResourceLimitExceededException'], ResultPath: '$.error', Next: 'ExplainMissingQuota' });
    expect(JSON.stringify(states.ExplainMissingQuota)).toMatch(/Service Quotas.*local for processing job usage/);
  });

  it('chooses the caption backend the stack was configured with: the processing job by default, the audio-LLM function on "audio-llm"', () => {
    // Prepare
    const audioLlm = loadLocalDefinition(localCustom({ bucket: 'test-bucket', captionBackend: 'audio-llm' })).States as Record<string, State & Record<string, unknown>>;
    const choice = states.ChooseCaptioner as State & { Choices: Array<{ Variable: string; StringEquals: string; Next: string }>; Default: string };
    // Assess
    expect((states.Preprocess as State & { Next: string }).Next).toBe('PickCaptioner');
    expect(states.PickCaptioner).toMatchObject({ Type: 'Pass', Result: { backend: 'sagemaker' }, ResultPath: '$.captioner', Next: 'ChooseCaptioner' });
    expect(audioLlm.PickCaptioner).toMatchObject({ Result: { backend: 'audio-llm' } });
    expect(choice.Choices).toEqual([{ Variable: '$.captioner.backend', StringEquals: 'audio-llm', Next: 'CaptionWithAudioLlm' }]);
    expect(choice.Default).toBe('FirstCaptionAttempt');
    // The audio-LLM path passes S3 keys only, and goes on to the same Summarize.
    const llm = states.CaptionWithAudioLlm as State & { Next: string };
    expect(llm.Parameters!.Payload).toEqual({
      'id.$': '$.id',
      'bucket.$': '$.bucket',
      'manifestKey.$': '$.preprocess.manifestKey',
      'windowPrefix.$': '$.preprocess.windowPrefix',
      'captionPrefix.$': '$.preprocess.captionPrefix',
    });
    expect(llm.Next).toBe('Summarize');
    expect(states.Caption.Catch!.length).toBeGreaterThan(0);
    expect(llm.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'CaptionFailed' }]);
  });

  it('derives a valid SageMaker job name (letters, digits, hyphens, at most 63) from any upload id', () => {
    // Prepare
    const prefix = (localCustom({ bucket: 'b' }).caption as { jobNamePrefix: string }).jobNamePrefix;
    const ids = [newUploadId(), uploadRefFromKey('uploads/My Song (final) ☃.mp3').id, uploadRefFromKey(`uploads/${'x'.repeat(300)}/a.wav`).id];
    // Assess
    // The job name is "{prefix}{execution name}-{attempt}"; a run makes at most three attempts.
    expect(states.Caption.Parameters!['ProcessingJobName.$']).toBe(`States.Format('${prefix}{}-{}', $$.Execution.Name, $.captionAttempt.n)`);
    for (const id of ids) expect(`${prefix}${id}-3`).toMatch(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/);
  });

  it('names every ${self:custom.*} it uses in serverless.yml too', () => {
    // Prepare
    const raw = readFileSync(DEFINITION_PATH, 'utf8');
    const yaml = readFileSync(path.resolve(__dirname, '..', 'serverless.yml'), 'utf8');
    const used = [...new Set([...raw.matchAll(/\$\{self:custom\.([\w.]+)\}/g)].map((m) => m[1]))];
    // Assess
    expect(used.length).toBeGreaterThan(5);
    for (const dotted of used) {
      const leaf = dotted.split('.').pop()!;
      expect({ dotted, declared: new RegExp(`^\\s+${leaf}:`, 'm').test(yaml) }).toEqual({ dotted, declared: true });
    }
  });

  it('refuses to load with a value it cannot resolve, naming it', () => {
    expect(() => resolveDefinition({ A: '${self:custom.caption.nope}' }, localCustom({ bucket: 'b' }))).toThrow(/caption\.nope/);
    expect(() => resolveDefinition({ A: { 'Fn::GetAtt': ['OtherLambdaFunction', 'Arn'] } }, {})).toThrow(/OtherLambdaFunction/);
  });
});
