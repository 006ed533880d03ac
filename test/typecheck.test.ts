/** The whole project type-checks: `next build` skips it (ignoreBuildErrors), tsx and jest strip types without checking. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '..');

it('type-checks every TypeScript file of the project with tsc', () => {
  // Act
  const run = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '--noEmit', '-p', root], { cwd: root, encoding: 'utf8' });
  // Assess
  expect(run.stdout + run.stderr).toBe('');
  expect(run.status).toBe(0);
}, 180_000);
