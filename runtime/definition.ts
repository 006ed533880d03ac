/**
 * Loads statemachine/pipeline.asl.json for the embedded runtime, resolving what `sls deploy` resolves in AWS:
 * `Fn::GetAtt [<Function>LambdaFunction, Arn]` to a local function ARN, and `${self:custom.*}` to the local
 * configuration. Anything it cannot resolve is an error at load, never a surprise mid-run.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const DEFINITION_PATH = path.resolve(__dirname, '..', 'statemachine', 'pipeline.asl.json');

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_STATE_MACHINE_NAME = 'music-captioner-local';
export const LOCAL_STATE_MACHINE_ARN = `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${LOCAL_STATE_MACHINE_NAME}`;

/** serverless.yml's function logical ids (`<Name>LambdaFunction`) → the local function names. */
export const LOCAL_FUNCTIONS = {
  StartLambdaFunction: 'start',
  PreprocessLambdaFunction: 'preprocess',
  SummarizeLambdaFunction: 'summarize',
  RecordFailureLambdaFunction: 'recordFailure',
  CaptionLlmLambdaFunction: 'captionLlm',
} as const;
export type LocalFunctionName = (typeof LOCAL_FUNCTIONS)[keyof typeof LOCAL_FUNCTIONS];

export const localFunctionArn = (name: LocalFunctionName) =>
  `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:music-captioner-local-${name}`;

/** The `custom:` values of serverless.yml the definition uses, as they are on one machine. */
export function localCustom(options: { bucket: string; captionMaxRuntimeSeconds?: number; captionBackend?: 'sagemaker' | 'audio-llm' }): Record<string, unknown> {
  const maxRuntime = options.captionMaxRuntimeSeconds ?? 3600;
  return {
    pipeline: { executionTimeoutSeconds: 21600, preprocessStateTimeoutSeconds: 930, summarizeStateTimeoutSeconds: 150 },
    caption: {
      // The Caption state's Choice: "sagemaker" runs the processing job (here, the local runner with the
      // builtin or python captioner), "audio-llm" the caption-llm function.
      backend: options.captionBackend ?? 'sagemaker',
      llmStateTimeoutSeconds: 960,
      jobNamePrefix: 'caption-',
      roleArn: `arn:aws:iam::${LOCAL_ACCOUNT}:role/music-captioner-local-sagemaker`,
      imageUri: 'local/music-captioner-caption:latest',
      modelS3Uri: `s3://${options.bucket}/model/`,
      instanceType: 'local',
      instanceCount: 1,
      volumeSizeGb: 30,
      maxRuntimeSeconds: maxRuntime,
      stateTimeoutSeconds: maxRuntime + 600,
      batchSize: '8',
      numBeams: '5',
      maxLength: '128',
    },
  };
}

const VARIABLE = /\$\{self:custom\.([A-Za-z0-9_.]+)\}/g;

function lookup(custom: Record<string, unknown>, dotted: string): unknown {
  let value: unknown = custom;
  for (const part of dotted.split('.')) {
    if (value === null || typeof value !== 'object' || !(part in value)) {
      throw new Error(`${DEFINITION_PATH}: \${self:custom.${dotted}} has no local value (runtime/definition.ts localCustom).`);
    }
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

export function resolveDefinition(raw: unknown, custom: Record<string, unknown>): unknown {
  const walk = (node: unknown): unknown => {
    if (typeof node === 'string') {
      const whole = /^\$\{self:custom\.([A-Za-z0-9_.]+)\}$/.exec(node);
      if (whole) return lookup(custom, whole[1]);
      return node.replace(VARIABLE, (_, dotted: string) => String(lookup(custom, dotted)));
    }
    if (Array.isArray(node)) return node.map(walk);
    if (node && typeof node === 'object') {
      const record = node as Record<string, unknown>;
      const getAtt = record['Fn::GetAtt'];
      if (getAtt !== undefined) {
        const [logicalId, attribute] = getAtt as [string, string];
        const fn = LOCAL_FUNCTIONS[logicalId as keyof typeof LOCAL_FUNCTIONS];
        if (!fn || attribute !== 'Arn') throw new Error(`${DEFINITION_PATH}: Fn::GetAtt ${logicalId}.${attribute} has no local counterpart.`);
        return localFunctionArn(fn);
      }
      return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, walk(value)]));
    }
    return node;
  };
  return walk(raw);
}

export function loadLocalDefinition(custom: Record<string, unknown>): Record<string, unknown> {
  return resolveDefinition(JSON.parse(readFileSync(DEFINITION_PATH, 'utf8')), custom) as Record<string, unknown>;
}

/** Every state name of the definition whose Resource is a Lambda invoke, with the function it calls. */
export function lambdaStates(definition: Record<string, unknown>): Array<{ state: string; functionArn: string }> {
  const states = definition.States as Record<string, { Type: string; Resource?: string; Parameters?: { FunctionName?: string } }>;
  return Object.entries(states)
    .filter(([, state]) => state.Type === 'Task' && state.Resource === 'arn:aws:states:::lambda:invoke')
    .map(([state, value]) => ({ state, functionArn: String(value.Parameters?.FunctionName) }));
}
