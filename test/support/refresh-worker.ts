/**
 * A separate worker process for the refresh race test: it builds what a worker
 * has (its own MongoDB connection, key ring, connectors, token manager) from
 * the environment, waits until the given start time, forces a token refresh
 * of one connection, and prints the access token it ends up with.
 * Usage: node --import tsx test/support/refresh-worker.ts <connectionId> <startAtMs>
 */
import { loadConfig } from '../../src/config/config';
import { silentLogger } from '../../src/core/logger';
import { SecretBox } from '../../src/core/secret-box';
import { ConnectionVault } from '../../src/integrations/connection-vault';
import { TokenManager } from '../../src/integrations/token-manager';
import { ConnectorRegistry } from '../../src/connectors/registry';
import { createMongoStore } from '../../src/store/mongo/mongo-store';

async function main(): Promise<void> {
  const [connectionId, startAt] = process.argv.slice(2);
  const config = loadConfig();
  const store = createMongoStore({ url: config.mongodbUrl as string });
  await store.connect();
  const registry = new ConnectorRegistry({ dir: config.connectors.dir, logger: silentLogger });
  registry.load();
  const vault = new ConnectionVault({ store, secretBox: new SecretBox(config.encryptionKeys), registry });
  const tokens = new TokenManager({ credentials: vault, leases: store, apps: config, onGrantLost: async () => undefined, logger: silentLogger });
  const loaded = await vault.reload(connectionId as string);
  if (!loaded) throw new Error(`no connection ${connectionId}`);
  // A worker that read the connection after the others refreshed it would be a later request, not a racer.
  if (Date.now() > Number(startAt)) throw new Error('started too late to race; give the workers more time');
  await new Promise((resolve) => setTimeout(resolve, Number(startAt) - Date.now()));
  const credentials = await tokens.fresh(loaded, { force: true });
  process.stdout.write(`${String(credentials['access_token'])}\n`);
  await store.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
