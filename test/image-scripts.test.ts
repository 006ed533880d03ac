import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BatchGetBuildsCommand, StartBuildCommand } from '@aws-sdk/client-codebuild';
import { GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  followBuild,
  parseImageBuildArgs,
  SOURCE_KEY,
  sourceFiles,
  startImageBuild,
} from '../scripts/image-build.ts';
import { parseModelUploadArgs, stripCheckpoint, weightsLocation } from '../scripts/model-upload.ts';

/** A stand-in AWS client (test double): answers each command with the function given for its class. */
function fakeClient(answers: Record<string, (input: any) => unknown>) {
  const sent: { name: string; input: any }[] = [];
  return {
    sent,
    async send(command: { constructor: { name: string }; input: any }): Promise<any> {
      const name = command.constructor.name;
      sent.push({ name, input: command.input });
      const answer = answers[name];
      if (!answer) throw new Error(`unexpected ${name}`);
      return answer(command.input);
    },
  };
}

describe('npm run image:build', () => {
  it('takes the stage from --stage, else STAGE, else dev', () => {
    // Act
    const parsed = [
      parseImageBuildArgs([], {}),
      parseImageBuildArgs([], { STAGE: 'prod' }),
      parseImageBuildArgs(['--stage', 'test', '--zip-only', 'out.zip'], { STAGE: 'prod' }),
    ];
    // Assess
    expect(parsed).toEqual([{ stage: 'dev' }, { stage: 'prod' }, { stage: 'test', zipOnly: 'out.zip' }]);
    expect(() => parseImageBuildArgs(['--stage'], {})).toThrow('--stage needs a value');
    expect(() => parseImageBuildArgs(['--push'], {})).toThrow('unknown argument --push');
  });

  it('ships sagemaker/ without its tests', () => {
    // Act
    const files = sourceFiles();
    // Assess
    expect(files).toEqual(expect.arrayContaining(['Dockerfile', 'buildspec.yml', 'requirements.txt', 'music_captioner/__main__.py', 'music_captioner/entrypoint.py']));
    expect(files.filter((file) => file.startsWith('tests/') || file.includes('__pycache__'))).toEqual([]);
  });

  it('writes exactly those files into the zip it would upload', async () => {
    // Prepare
    const folder = await mkdtemp(path.join(tmpdir(), 'image-zip-'));
    const zip = path.join(folder, 'source.zip');
    try {
      // Act
      const made = spawnSync(path.resolve('node_modules/.bin/tsx'), ['scripts/image-build.ts', '--zip-only', zip], { encoding: 'utf8' });
      const listed = spawnSync('/usr/bin/python3', ['-c', 'import sys, zipfile; print("\\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))', zip], { encoding: 'utf8' });
      // Assess
      expect(made.status).toBe(0);
      expect(listed.stdout.trim().split('\n').sort()).toEqual(sourceFiles());
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('starts the project on the uploaded zip with the repository buildspec and the image address', async () => {
    // Prepare
    const codeBuild = fakeClient({ StartBuildCommand: () => ({ build: { id: 'caption-image:42' } }) });
    // Act
    const id = await startImageBuild(codeBuild, 'music-captioner-dev-caption-image', 'bucket-1', '123.dkr.ecr.eu-west-1.amazonaws.com/caption');
    // Assess
    expect(id).toBe('caption-image:42');
    expect(codeBuild.sent[0]).toEqual({
      name: StartBuildCommand.name,
      input: {
        projectName: 'music-captioner-dev-caption-image',
        sourceTypeOverride: 'S3',
        sourceLocationOverride: `bucket-1/${SOURCE_KEY}`,
        buildspecOverride: 'buildspec.yml',
        environmentVariablesOverride: [{ name: 'REPOSITORY_URI', value: '123.dkr.ecr.eu-west-1.amazonaws.com/caption', type: 'PLAINTEXT' }],
      },
    });
  });

  it('prints phases and log lines until the build ends, and returns its status', async () => {
    // Prepare
    const states = [
      { buildStatus: 'IN_PROGRESS', currentPhase: 'PROVISIONING' },
      { buildStatus: 'IN_PROGRESS', currentPhase: 'BUILD', logs: { groupName: 'g', streamName: 's' } },
      { buildStatus: 'IN_PROGRESS', currentPhase: 'BUILD', logs: { groupName: 'g', streamName: 's' } },
      { buildStatus: 'FAILED', currentPhase: 'COMPLETED', logs: { groupName: 'g', streamName: 's' } },
    ];
    // Log pages as CloudWatch serves them: the stream is missing at first, then lines arrive in two bursts.
    const answers = [
      () => {
        throw Object.assign(new Error('stream not there yet'), { name: 'ResourceNotFoundException' });
      },
      () => ({ events: [{ message: 'Step 1/9 : FROM pytorch\n' }], nextForwardToken: 'a' }),
      () => ({ events: [], nextForwardToken: 'a' }),
      () => ({ events: [{ message: 'ERROR: pip failed' }], nextForwardToken: 'b' }),
    ];
    const codeBuild = fakeClient({ BatchGetBuildsCommand: () => ({ builds: [states.shift()] }) });
    const logs = fakeClient({
      GetLogEventsCommand: (input: { nextToken?: string }) => (answers.shift() ?? (() => ({ events: [], nextForwardToken: input.nextToken })))(),
    });
    const printed: string[] = [];
    // Act
    const status = await followBuild(codeBuild, logs, 'caption-image:42', { print: (line) => printed.push(line), sleep: async () => {}, pollMs: 0 });
    // Assess
    expect(status).toBe('FAILED');
    expect(printed).toEqual(['── PROVISIONING', '── BUILD', 'Step 1/9 : FROM pytorch', '── COMPLETED', 'ERROR: pip failed']);
    expect(codeBuild.sent.every((call) => call.name === BatchGetBuildsCommand.name)).toBe(true);
    expect(logs.sent.every((call) => call.name === GetLogEventsCommand.name && call.input.startFromHead)).toBe(true);
  });
});

describe('npm run model:upload', () => {
  it('takes the checkpoint, the stage and the python', () => {
    // Act
    const parsed = parseModelUploadArgs(['transfer.pth', '--stage', 'prod'], { CAPTION_PYTHON: '/opt/py/bin/python' });
    // Assess
    expect(parsed).toEqual({ checkpoint: path.resolve('transfer.pth'), stage: 'prod', python: '/opt/py/bin/python' });
    expect(parseModelUploadArgs(['w.pth'], {}).python).toBe('python3');
    expect(() => parseModelUploadArgs([], {})).toThrow('name the transfer.pth to upload');
    expect(() => parseModelUploadArgs(['a.pth', 'b.pth'], {})).toThrow('unexpected argument b.pth');
  });

  it('puts transfer.pth under the stack model prefix', () => {
    // Act / Assess
    expect(weightsLocation('s3://bucket-1/model/')).toEqual({ bucket: 'bucket-1', key: 'model/transfer.pth' });
    expect(weightsLocation('s3://bucket-1/model')).toEqual({ bucket: 'bucket-1', key: 'model/transfer.pth' });
    expect(weightsLocation('s3://bucket-1')).toEqual({ bucket: 'bucket-1', key: 'transfer.pth' });
    expect(() => weightsLocation('https://bucket-1/model/')).toThrow('is not an s3:// address');
  });

  it('says how to get torch when the python has none', async () => {
    // Act
    const failure = await stripCheckpoint('/usr/bin/python3', '/nonexistent/transfer.pth', '/nonexistent/out.pth').catch((error: Error) => error);
    // Assess
    expect(failure).toMatchObject({ name: 'TorchUnavailable', message: expect.stringContaining('pip install torch') });
  });
});
