/** @type {import('jest').Config} */
module.exports = {
  // Shares Node's typed-array classes with the sandbox: onnxruntime-node checks
  // `data instanceof Float32Array` against the outer realm's classes.
  testEnvironment: '<rootDir>/test/fixtures/onnxruntime-environment.js',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    // Type checking happens in `npm run build`/`typecheck`; jest only transpiles.
    '^.+\\.ts$': ['ts-jest', { isolatedModules: true, tsconfig: 'tsconfig.json' }],
  },
  testTimeout: 60_000,
  // Integration suites start real servers and onnxruntime sessions; two cores can't
  // run many of them at once without timeouts that say nothing about the code.
  maxWorkers: 2,
};
