import { spawnSync } from 'node:child_process';

// The container's Python is tested by its own pytest suite; this runs it from `npm test` with Debian's python
// (numpy, pytest, jsonschema from apt) and fails with pytest's output when pytest fails.
describe('the captioning container', () => {
  it('passes its pytest suite', () => {
    // Act
    const result = spawnSync('/usr/bin/python3', ['-m', 'pytest', 'sagemaker/tests', '-q', '-rs', '-p', 'no:cacheprovider'], {
      encoding: 'utf8',
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
      timeout: 120_000,
    });
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}`;
    // Assess (pytest exits 5 when it collects nothing, which must fail too)
    if (result.status !== 0) throw new Error(`pytest exited ${result.status}:\n${output}`);
    expect(output).toMatch(/\d+ passed/);
  });
});
