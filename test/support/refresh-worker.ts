/**
 * A separate worker process for the refresh race test: it builds what a worker
 * has (its own MongoDB connection, key ring, connectors, token manager) from
 * the environment, prints `ready`, reads a start time (epoch ms) from stdin,
 * waits until then, forces a token refresh of one connection, and prints the
 * access token it ends up with. The test sets the start time once every racer
 * is ready, so a slow start (a busy machine) cannot make a worker miss the race.
 * Usage: node --import tsx test/support/refresh-worker.ts <connectionId>
 */
import { createInterface } from 'node:readline';
import { loadConfig } from '../../src/config/config';
import { silentLogger } from '../../src/core/logger';
import { SecretBox } from '../../src/core/secret-box';
import { ConnectionVault } from '../../src/integrations/connection-vault';
import { TokenManager } from '../../src/integrations/token-manager';
import { ConnectorRegistry } from '../../src/connectors/registry';
import { createMongoStore } from '../../src/store/mongo/mongo-store';

async function main(): Promise<void> {
  const [connectionId] = process.argv.slice(2);
  const config = loadConfig();
  const store = createMongoStore({ url: config.mongodbUrl as string });
  await store.connect();
  const registry = new ConnectorRegistry({ dir: config.connectors.dir, logger: silentLogger });
  registry.load();
  const vault = new ConnectionVault({ store, secretBox: new SecretBox(config.encryptionKeys), registry });
  const tokens = new TokenManager({ credentials: vault, leases: store, apps: config, onGrantLost: async () => undefined, logger: silentLogger });
  const loaded = await vault.reload(connectionId as string);
  if (!loaded) throw new Error(`no connection ${connectionId}`);
  process.stdout.write('ready\n');
  const lines = createInterface({ input: process.stdin });
  const startAt = Number(await new Promise<string>((resolve) => lines.once('line', resolve)));
  lines.close();
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - Date.now())));
  const credentials = await tokens.fresh(loaded, { force: true });
  process.stdout.write(`${String(credentials['access_token'])}\n`);
  await store.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
