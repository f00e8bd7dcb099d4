import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../src/config/config';
import { silentLogger } from '../../src/core/logger';
import { Hub } from '../../src/hub';
import { waitUntil } from '../support/receiver';
import { AMQP_URL, mongoUrlFor, uniqueName } from '../support/services';
import { startTestHub } from '../support/test-hub';
import type { TestHub } from '../support/test-hub';

const SHIPPED = path.resolve(__dirname, '../../connectors');
type Json = Record<string, unknown>;

let dir: string;
let th: TestHub;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'hh-reload-'));
  cpSync(path.join(SHIPPED, 'webhook-custom'), path.join(dir, 'webhook-custom'), { recursive: true });
  cpSync(path.join(SHIPPED, 'slack'), path.join(dir, 'slack'), { recursive: true });
  th = await startTestHub({ mode: 'embedded', env: { HOOKHUB_CONNECTORS_DIR: dir } });
});

afterAll(async () => {
  await th.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const manifestPath = (...parts: string[]): string => path.join(dir, ...parts, 'connector.yaml');
const edit = (file: string, change: (text: string) => string): void => writeFileSync(file, change(readFileSync(file, 'utf8')));

async function connector(name: string): Promise<Json> {
  return (await th.api('GET', `/v1/connectors/${name}`)).body;
}

it('embedded mode reloads changed manifests, keeps the last good one when a change is invalid, and pins links to their major version', async () => {
  const link = await th.api('POST', '/v1/connections', { connector: 'webhook-custom', config: { url: 'https://crm.example.com/x' } });
  expect(link.body).toMatchObject({ connectorVersion: '1.0.0', runningVersion: '1.0.0' });
  const linkId = String(link.body['id']);

  // A minor release applies to existing links at once.
  edit(manifestPath('webhook-custom'), (t) => t.replace('version: 1.0.0', 'version: 1.1.0').replace('title: Custom webhook (CRM)', 'title: Custom CRM webhook'));
  await waitUntil(async () => (await connector('webhook-custom'))['version'] === '1.1.0', 10_000);
  expect(await connector('webhook-custom')).toMatchObject({ title: 'Custom CRM webhook' });
  expect((await th.api('GET', `/v1/connections/${linkId}`)).body).toMatchObject({ connectorVersion: '1.0.0', runningVersion: '1.1.0' });

  // A broken change is reported and the previous version stays in service.
  edit(manifestPath('slack'), (t) => t.replace('version: 1.0.0', 'version: 1.0.1').replace('    method: POST', '    method: POST\n    bogus: true'));
  await waitUntil(() => th.hub.connectors.problems.some((p) => p.path === '/actions/post_message/bogus'), 10_000);
  expect(await connector('slack')).toMatchObject({ version: '1.0.0' });
  edit(manifestPath('slack'), (t) => t.replace('    bogus: true\n', ''));
  await waitUntil(async () => (await connector('slack'))['version'] === '1.0.1', 10_000);
  expect(th.hub.connectors.problems).toEqual([]);

  // A new major: older majors stay installed in versions/<n>/; existing links stay on theirs until upgraded.
  mkdirSync(path.join(dir, 'webhook-custom', 'versions', '1'), { recursive: true });
  cpSync(manifestPath('webhook-custom'), manifestPath('webhook-custom', 'versions', '1'));
  edit(manifestPath('webhook-custom'), (t) => t.replace('version: 1.1.0', 'version: 2.0.0'));
  await waitUntil(async () => (await connector('webhook-custom'))['version'] === '2.0.0', 10_000);
  expect(await connector('webhook-custom')).toMatchObject({ installedMajors: [1, 2] });
  expect((await th.api('GET', `/v1/connections/${linkId}`)).body).toMatchObject({ connectorVersion: '1.0.0', runningVersion: '1.1.0' });
  const fresh = await th.api('POST', '/v1/connections', { connector: 'webhook-custom', config: { url: 'https://crm.example.com/y' } });
  expect(fresh.body).toMatchObject({ connectorVersion: '2.0.0' });

  // When the pinned major goes away, the link says so instead of silently running the new one.
  rmSync(path.join(dir, 'webhook-custom', 'versions'), { recursive: true });
  await waitUntil(async () => ((await connector('webhook-custom'))['installedMajors'] as number[]).length === 1, 10_000);
  expect((await th.api('GET', `/v1/connections/${linkId}`)).body).toMatchObject({ runningVersion: null });
  const check = await th.api('POST', `/v1/connections/${linkId}/check`);
  expect(check.body).toMatchObject({ error: { code: 'connector_not_installed', message: expect.stringContaining('{"upgrade": true}') } });
  const upgraded = await th.api('PATCH', `/v1/connections/${linkId}`, { upgrade: true });
  expect(upgraded.body).toMatchObject({ connectorVersion: '2.0.0', runningVersion: '2.0.0', config: { url: 'https://crm.example.com/x' } });
});

it('an invalid manifest stops a production hub, naming the file, line and problem', async () => {
  const broken = mkdtempSync(path.join(os.tmpdir(), 'hh-broken-'));
  try {
    cpSync(path.join(SHIPPED, 'slack'), path.join(broken, 'slack'), { recursive: true });
    edit(path.join(broken, 'slack', 'connector.yaml'), (t) => t.replace('actions: [post_message]', 'actions: [post_mesage]'));
    const config = loadConfig({
      NODE_ENV: 'production',
      AMQP_URL,
      MONGODB_URL: mongoUrlFor(uniqueName('hhprod')),
      HOOKHUB_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      HOOKHUB_CONNECTORS_DIR: broken,
      PORT: '0',
    });
    const hub = new Hub(config, { logger: silentLogger });
    await expect(hub.start()).rejects.toThrow(/Invalid connector manifests.*\n.*slack\/connector\.yaml:\d+:\d+ {2}\/triggers\/0\/actions\/0 {2}names action "post_mesage"/);
    await hub.connectors.close();
  } finally {
    rmSync(broken, { recursive: true, force: true });
  }
});
