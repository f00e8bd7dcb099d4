import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../../src/config/config';
import { sealedKeyId } from '../../src/core/secret-box';
import { silentLogger } from '../../src/core/logger';
import { Hub } from '../../src/hub';
import { createMongoStore } from '../../src/store/mongo/mongo-store';
import { AMQP_URL, deleteTopology, dropDatabase, mongoUrlFor, uniqueName } from '../support/services';
import { startTestHub } from '../support/test-hub';
import { entryArgs } from '../support/entry';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
const key = (): string => randomBytes(32).toString('base64');

async function keyIdsInUse(database: string): Promise<string[]> {
  const store = createMongoStore({ url: mongoUrlFor(database) });
  await store.connect();
  try {
    const ids: string[] = [];
    for await (const sealed of store.scanSealed()) ids.push(sealedKeyId(sealed.value) ?? '?');
    return ids;
  } finally {
    await store.close();
  }
}

it('rotates the encryption key: new data uses the newest key, `hookhub secrets reencrypt` moves the rest, a missing key stops the start', async () => {
  const prefix = uniqueName('hhkeys');
  const database = uniqueName('hhkeys');
  const [k1, k2, k3] = [key(), key(), key()];
  const hubWith = (ring: string, env: Record<string, string> = {}): ReturnType<typeof startTestHub> =>
    startTestHub({ reuse: { prefix, database, encryptionKey: '' }, env: { HOOKHUB_ENCRYPTION_KEYS: ring, ...env } });
  try {
    let th = await hubWith(`k1:${k1}`);
    const first = await th.api('POST', '/v1/subscriptions', { endpointUrl: 'https://hooks.example.com/a', events: ['*'] });
    const connection = await th.api('POST', '/v1/connections', { connector: 'webhook-custom', config: { url: 'https://crm.example.com/x', auth: { type: 'bearer', token: 'tok-abcdef' } } });
    expect([first.status, connection.status]).toEqual([201, 201]);
    await th.stop();

    th = await hubWith(`k1:${k1},k2:${k2}`);
    await th.api('POST', '/v1/subscriptions', { endpointUrl: 'https://hooks.example.com/b', events: ['*'] });
    await th.stop();
    expect((await keyIdsInUse(database)).sort()).toEqual(['k1', 'k1', 'k2']);

    const cli = await run(process.execPath, [...entryArgs('cli/index'), 'secrets', 'reencrypt'], {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '', AMQP_URL, MONGODB_URL: mongoUrlFor(database), HOOKHUB_ENCRYPTION_KEYS: `k1:${k1},k2:${k2}` },
    });
    expect(JSON.parse(String(cli.stdout))).toMatchObject({ newestKey: 'k2', scanned: 3, reencrypted: 2, skipped: 0 });
    expect(await keyIdsInUse(database)).toEqual(['k2', 'k2', 'k2']);

    // The old key can go: everything still opens.
    th = await hubWith(`k2:${k2}`);
    const secret = await th.api('GET', `/v1/subscriptions/${String(first.body['id'])}/secret`);
    expect(secret.body['secret']).toBe(first.body['secret']);
    await th.stop();

    const config = loadConfig({ AMQP_URL, MONGODB_URL: mongoUrlFor(database), HOOKHUB_ENCRYPTION_KEYS: `k3:${k3}`, HOOKHUB_QUEUE_PREFIX: prefix, PORT: '0' });
    const hub = new Hub(config, { logger: silentLogger });
    await expect(hub.start()).rejects.toThrow(/encrypted with key\(s\) "k2" \(3 values\) that HOOKHUB_ENCRYPTION_KEYS does not contain/);
    await hub.stop().catch(() => undefined);
  } finally {
    await deleteTopology(prefix);
    await dropDatabase(database);
  }
});
