// @ts-check
import tseslint from 'typescript-eslint';

const adapterImports = (allowed) =>
  [
    { name: 'amqplib', message: 'Only src/broker/amqp may talk to RabbitMQ.', group: 'amqp' },
    { name: 'amqp-connection-manager', message: 'Only src/broker/amqp may talk to RabbitMQ.', group: 'amqp' },
    { name: 'mongoose', message: 'Only src/store/mongo may talk to MongoDB.', group: 'mongo' },
    { name: 'express', message: 'Only src/api may use express.', group: 'express' },
  ]
    .filter((p) => !allowed.includes(p.group))
    .map(({ name, message }) => ({ name, message }));

const domainPatterns = [
  { group: ['**/broker/amqp/*', '**/broker/memory/*'], message: 'Domain code imports the Broker port (broker/port), never an adapter.' },
  { group: ['**/store/mongo/*', '**/store/memory/*'], message: 'Domain code uses the storage ports it declares (e.g. pipeline/ports.ts); only the composition root builds a store adapter.' },
  { group: ['**/api/*', '**/hub', '**/main'], message: 'Dependencies point inward: domain code never imports the API or the composition root.' },
];

export default tseslint.config(
  { ignores: ['dist/**', '.test-dist/**', '.bench-dist/**', '.bench-before/**', 'bench/*.cjs', 'node_modules/**', 'coverage/**', '.cache/**', 'tools/**', 'jest.config.js', 'eslint.config.mjs', '.dependency-cruiser.cjs'] },
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { project: './tsconfig.check.json', tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', { paths: adapterImports([]), patterns: domainPatterns }],
    },
  },
  // The web console (console/): its own tsconfig (DOM, JSX); it talks to the hub over HTTP only.
  { files: ['console/**/*.ts', 'console/**/*.tsx'], languageOptions: { parserOptions: { project: './console/tsconfig.json', tsconfigRootDir: import.meta.dirname } }, rules: { 'no-restricted-imports': 'off' } },
  { files: ['src/broker/amqp/**'], rules: { 'no-restricted-imports': ['error', { paths: adapterImports(['amqp']) }] } },
  { files: ['src/store/mongo/**'], rules: { 'no-restricted-imports': ['error', { paths: adapterImports(['mongo']) }] } },
  { files: ['src/api/**'], rules: { 'no-restricted-imports': ['error', { paths: adapterImports(['express']) }] } },
  { files: ['src/hub.ts', 'src/main.ts', 'src/cli/**'], rules: { 'no-restricted-imports': ['error', { paths: adapterImports(['express']) }] } },
  { files: ['test/**', 'bench/**', 'scripts/**'], rules: { 'no-restricted-imports': 'off' } },
  // Plain ES modules (the test OAuth server runs oidc-provider, which is ESM-only): no type information.
  { files: ['**/*.mjs'], ...tseslint.configs.disableTypeChecked },
  // The Zapier app (integrations/zapier) and the example receivers (examples/): plain CommonJS, as they run; no type information.
  { files: ['integrations/**/*.js', 'examples/**/*.js'], ...tseslint.configs.disableTypeChecked },
  { files: ['integrations/**/*.js', 'examples/**/*.js'], languageOptions: { sourceType: 'commonjs' }, rules: { '@typescript-eslint/no-require-imports': 'off' } },
);
