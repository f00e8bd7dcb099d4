/** Reliability suites that must run alone. */
const ALONE = ['broker-restart', 'loadtest-accuracy', 'endpoint-health-accuracy', 'slow-endpoints'];

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
    // Contract, integration and e2e suites, and the reliability suites that crash or stop only processes of their
    // own (hubs, a FerretDB, RabbitMQ nodes): each uses its own queues and database, so they run in parallel.
    { ...withServices, displayName: 'fast', testMatch: ['<rootDir>/test/{contract,integration,e2e}/**/*.test.ts', '<rootDir>/test/reliability/**/*.test.ts'], testPathIgnorePatterns: ['/node_modules/', ...ALONE.map((name) => `/test/reliability/${name}\\.test\\.ts$`)] },
    // These restart the shared RabbitMQ, or measure time (the load tester's accuracy, health-state accuracy, a
    // latency bound under hanging endpoints): one at a time (--runInBand), after the rest, on a quiet machine.
    { ...withServices, displayName: 'reliability', testMatch: ALONE.map((name) => `<rootDir>/test/reliability/${name}.test.ts`) },
  ],
};
