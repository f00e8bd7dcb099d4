import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { AMQP_URL, dropDatabase, mongoUrlFor, uniqueName } from '../support/services';
import { startTestHub } from '../support/test-hub';
import { entryArgs } from '../support/entry';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');

it('`hookhub keys create` makes a key that works for its tenant only', async () => {
  const database = uniqueName('hhcli');
  const encryptionKey = randomBytes(32).toString('base64');
  const env = { PATH: process.env['PATH'] ?? '', AMQP_URL, MONGODB_URL: mongoUrlFor(database), HOOKHUB_ENCRYPTION_KEY: encryptionKey };
  const cli = (...args: string[]): ReturnType<typeof run> => run(process.execPath, [...entryArgs('cli/index'), ...args], { cwd: ROOT, env });
  try {
    const { stdout, stderr } = await cli('keys', 'create', '--tenant', 'acme');
    const key = String(stdout).trim();
    expect(key).toMatch(/^hh_[A-Za-z0-9_-]{32}$/);
    expect(String(stderr)).toContain('tenant "acme"');

    const th = await startTestHub({ reuse: { prefix: uniqueName('hhcli'), database, encryptionKey } });
    try {
      const created = await th.api('POST', '/v1/subscriptions', { endpointUrl: 'http://127.0.0.1:9/x', events: ['*'] }, key);
      expect(created.status).toBe(201);
      // The bootstrap key belongs to another tenant, which cannot see acme's subscription.
      expect((await th.api('GET', `/v1/subscriptions/${String(created.body['id'])}`)).status).toBe(404);
    } finally {
      await th.destroy();
    }
    await expect(cli('keys', 'create', '--tenant', 'a b')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('--tenant must be') });
  } finally {
    await dropDatabase(database);
  }
});
