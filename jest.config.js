/** @type {import('jest').Config} */
const common = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
};

module.exports = {
  testTimeout: 90000,
  projects: [
    // Unit, contract, integration and e2e suites: each uses its own queues and database, so they run in parallel.
    { ...common, displayName: 'fast', testMatch: ['<rootDir>/test/{unit,contract,integration,e2e}/**/*.test.ts'] },
    // These restart RabbitMQ or kill processes: run one at a time (--runInBand), after the rest.
    { ...common, displayName: 'reliability', testMatch: ['<rootDir>/test/reliability/**/*.test.ts'] },
  ],
};
