/** @type {import('jest').Config} */
const common = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
};
// Suites that talk to RabbitMQ and the MongoDB server: one clear failure when either is down.
const withServices = { ...common, globalSetup: '<rootDir>/test/support/global-setup.ts' };

module.exports = {
  testTimeout: 90000,
  projects: [
    // Pure logic: no broker, no database (`npm run test:unit` runs with both stopped).
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    // Contract, integration and e2e suites: each uses its own queues and database, so they run in parallel.
    { ...withServices, displayName: 'fast', testMatch: ['<rootDir>/test/{contract,integration,e2e}/**/*.test.ts'] },
    // These restart RabbitMQ or kill processes, or measure time (the load tester's accuracy): one at a time (--runInBand), after the rest.
    { ...withServices, displayName: 'reliability', testMatch: ['<rootDir>/test/reliability/**/*.test.ts'] },
  ],
};
