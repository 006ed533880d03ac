import { spawnSync } from 'node:child_process';

// The Caption container's real code path (LpMusicCapsCaptioner → transformers' generate()) with a tiny random
// LP-MusicCaps-shaped BART (sagemaker/tests/test_real_network.py). It needs torch and transformers, which .ci/run
// installs offline into this machine's own python3 (pyenv, first on PATH); CAPTION_REQUIRE_TORCH=1 makes their
// absence a failure rather than a skip, so an API change in transformers fails CI instead of a SageMaker job.
const PYTHON = process.env.CAPTION_TEST_PYTHON ?? 'python3';

describe('the captioning container with torch and transformers', () => {
  it('captions windows through generate() with the job\'s exact settings', () => {
    // Act
    const result = spawnSync(
      PYTHON,
      ['-m', 'pytest', 'sagemaker/tests/test_real_network.py', '-q', '-rs', '-p', 'no:cacheprovider'],
      {
        encoding: 'utf8',
        env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', CAPTION_REQUIRE_TORCH: '1', OMP_NUM_THREADS: '2' },
        timeout: 300_000,
      },
    );
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}`;
    // Assess (a skip would mean the libraries were not there: every test must pass)
    if (result.status !== 0) throw new Error(`${PYTHON} -m pytest exited ${result.status}:\n${output}`);
    expect(output).toMatch(/\b3 passed\b/);
    expect(output).not.toMatch(/skipped/);
  }, 320_000);
});
