/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts', '**/*.test.tsx'],
  transform: { '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2023', transform: { react: { runtime: 'automatic' } } } }] },
  // ESM-only packages that jest must transform to run them in its CommonJS sandbox.
  transformIgnorePatterns: ['/node_modules/(?!(aws-local-stepfunctions)/)'],
  moduleNameMapper: {
    '^#core/(.*)$': '<rootDir>/core/$1.ts',
    '^#runtime/(.*)$': '<rootDir>/runtime/$1.ts',
  },
  testTimeout: 60_000,
  reporters: ['default', '<rootDir>/test/helpers/closing-line-reporter.js'],
  // Every temporary folder of the run under one, removed at the end (test/helpers/scratch-folder.js).
  globalSetup: '<rootDir>/test/helpers/scratch-setup.js',
  globalTeardown: '<rootDir>/test/helpers/scratch-teardown.js',
  // Tests boot real servers (s3rver, the Step Functions endpoint) and run ffmpeg; two workers keep a
  // 2-core CI machine busy without thrashing it.
  maxWorkers: 2,
};
