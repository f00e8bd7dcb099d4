#!/usr/bin/env node
import { randomBytes } from 'node:crypto';
import { Command } from 'commander';
import { ConfigError, loadConfig } from '../config/config';
import { connectorCommands } from './connectors';
import { loadtestCommand } from './loadtest';
import { deliveryCommands } from './deliveries';
import { eventCommands } from './events';
import { endpointCommands } from './endpoints';
import { verifyCommand } from './verify';
import { listenCommand } from './listen';
import { tunnelCommand } from './tunnel';
import { loginCommands } from './login';
import { replayCommand } from './replay';
import { subscriptionCommands } from './subscriptions';
import { secretCommands } from './secrets';
import { newId, sha256Hex } from '../core/ids';
import { API_SCOPES, OPERATOR_SCOPE, isApiScope } from '../api/scopes';
import { planCommands } from './plans';
import { loadHub, loadMongoStore } from './lazy';


/** The `hookhub` command for operators. */
const program = new Command('hookhub').description('Hookhub, the webhook and integration hub of the Lawless Directory API');
// Usage errors (a missing argument, an unknown option) exit with 2, as connection and HTTP errors do; help exits with 0.
// Set before the commands are added, which inherit it.
program.exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

program
  .command('start')
  .description('run the hub (the same as `npm start`)')
  .action(() => loadHub().startFromCommandLine());

const keys = program.command('keys').description('API keys of tenants');
keys
  .command('create')
  .description('create an API key for a tenant and print it (it is stored only as a hash)')
  .requiredOption('--tenant <id>', 'the tenant the key belongs to, e.g. acme')
  .option('--name <name>', 'what the key is for', 'cli')
  .option('--scopes <list>', `comma-separated scopes: ${API_SCOPES.join(', ')}; or ${OPERATOR_SCOPE} (a hub operator's key: changes tenants' plans, nothing else)`, 'admin')
  .action(async (options: { tenant: string; name: string; scopes: string }) => {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(options.tenant)) fail('--tenant must be 1-64 letters, digits, "_" or "-".');
    const scopes = [...new Set(options.scopes.split(',').map((s) => s.trim()).filter((s) => s !== ''))];
    const unknown = scopes.filter((s) => !isApiScope(s) && s !== OPERATOR_SCOPE);
    if (scopes.length === 0 || unknown.length > 0) fail(`--scopes must list one or more of ${[...API_SCOPES, OPERATOR_SCOPE].join(', ')}${unknown.length > 0 ? ` (unknown: ${unknown.join(', ')})` : ''}.`);
    const config = loadConfigOrExit();
    if (!config.mongodbUrl) fail('Set MONGODB_URL (and AMQP_URL): in embedded mode keys live in the memory of the running hub.');
    const { createMongoStore } = loadMongoStore();
    const store = createMongoStore({ url: config.mongodbUrl });
    await store.connect();
    try {
      const key = `hh_${randomBytes(24).toString('base64url')}`;
      const id = newId('key');
      await store.upsertApiKey({ id, hash: sha256Hex(key), tenantId: options.tenant, name: options.name, scopes, createdAt: new Date() });
      process.stdout.write(`${key}\n`);
      process.stderr.write(`API key ${id} (${scopes.join(', ')}) for tenant "${options.tenant}" created. It is shown only now: store it safely.\n`);
    } finally {
      await store.close();
    }
  });

connectorCommands(program);
loadtestCommand(program, fail);
listenCommand(program);
tunnelCommand(program);
loginCommands(program);
eventCommands(program);
endpointCommands(program);
verifyCommand(program);
deliveryCommands(program);
replayCommand(program);
subscriptionCommands(program);
secretCommands(program, fail);
planCommands(program, fail);

function loadConfigOrExit(): ReturnType<typeof loadConfig> {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
}

function fail(message: string): never {
  process.stderr.write(`hookhub: ${message}\n`);
  process.exit(2);
}

program.parseAsync(process.argv).catch((err: unknown) => fail((err as Error).message));
