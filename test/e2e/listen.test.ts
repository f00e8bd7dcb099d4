import { randomBytes } from 'node:crypto';
import { sha256Hex } from '../../src/core/ids';
import { verifyWebhook } from '../../src/verify';
import { killCliProcesses, startCliProcess } from '../support/cli-process';
import type { CliProcess } from '../support/cli-process';
import { freePort } from '../support/local-server';
import { startReceiver, waitUntil } from '../support/receiver';
import type { ReceivedRequest, Receiver } from '../support/receiver';
import { publishMany } from '../support/services';
import { businessCreated, startTestHub } from '../support/test-hub';
import type { TestHub } from '../support/test-hub';

jest.setTimeout(120_000);

/** A `hookhub listen` process with its relay and secret once ready. */
interface ListenProcess extends CliProcess {
  relayId: string;
  secret: string;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  killCliProcesses();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function startCli(hubUrl: string, apiKey: string, forwardTo: string, ...args: string[]): CliProcess {
  return startCliProcess(['listen', '--url', hubUrl, '--api-key', apiKey, '--forward-to', forwardTo, ...args]);
}

async function listen(hubUrl: string, apiKey: string, forwardTo: string, ...args: string[]): Promise<ListenProcess> {
  const cli = startCli(hubUrl, apiKey, forwardTo, ...args);
  let ready: RegExpExecArray | null = null;
  await waitUntil(() => (ready = /Relay (rly_\w+) forwards[^\n]*\nSigning secret: (whsec_\S+)/.exec(cli.stdout())) !== null, 30_000, () => `listen never got ready: ${cli.stdout()} ${cli.stderr()}`);
  const [, relayId, secret] = ready as unknown as [string, string, string];
  return { ...cli, relayId, secret };
}

async function hub(env: Record<string, string> = {}, reuse?: TestHub): Promise<TestHub> {
  const th = await startTestHub({ env, ...(reuse ? { reuse: { prefix: reuse.prefix, database: reuse.database, encryptionKey: reuse.env['HOOKHUB_ENCRYPTION_KEY'] ?? '' } } : {}) });
  cleanups.push(() => (reuse ? th.stop() : th.destroy()));
  return th;
}

async function receiver(respond?: Parameters<typeof startReceiver>[0]): Promise<Receiver> {
  const r = await startReceiver(respond);
  cleanups.push(() => r.close());
  return r;
}

async function publish(th: TestHub, key: string, data: Record<string, unknown> = {}): Promise<string> {
  const published = await th.api('POST', '/v1/events', businessCreated({}, data), key);
  expect(published.status).toBe(202);
  return String(published.body['id']);
}

/** The delivery's body once its signature verifies with `secret` (throws when it does not). */
function verified(request: ReceivedRequest | undefined, secret: string): Record<string, unknown> {
  verifyWebhook(request?.body ?? '', request?.headers ?? {}, secret);
  return JSON.parse(request?.body ?? '') as Record<string, unknown>;
}

async function attemptsOf(th: TestHub, tenantId: string, relayId: string): Promise<Array<Record<string, unknown>>> {
  const page = await th.hub.store.listAttempts(tenantId, { subscriptionId: relayId, limit: 100 });
  return page.data as unknown as Array<Record<string, unknown>>;
}

it('delivers the tenant\'s events to the local URL signed with the printed secret; the attempt log has the local answer; other tenants see nothing', async () => {
  const th = await hub();
  const local = await receiver(() => ({ status: 201, body: 'stored locally', headers: { 'content-type': 'text/plain', 'x-local': 'yes' } }));
  const acme = await th.keyForTenant('acme');
  const globex = await th.keyForTenant('globex');
  const cli = await listen(th.hub.url, acme, `${local.url}/webhooks`, '--events', 'business.created');

  const eventId = await publish(th, acme);
  const [request] = await local.waitFor(1);
  expect(request?.path).toBe('/webhooks');
  expect(verified(request, cli.secret)).toMatchObject({ id: eventId, type: 'business.created', webhook: { subscription_id: cli.relayId, delivery_attempt: 1 } });
  expect(() => verifyWebhook(request?.body ?? '', request?.headers ?? {}, `whsec_${randomBytes(24).toString('base64')}`)).toThrow();
  await waitUntil(() => new RegExp(`\\d\\d:\\d\\d:\\d\\d  business\\.created  ${eventId}  → 201  \\d+ ms`).test(cli.stdout()), 10_000, () => cli.stdout());

  let attempts: Array<Record<string, unknown>> = [];
  await waitUntil(async () => (attempts = await attemptsOf(th, 'acme', cli.relayId)).length === 1);
  expect(attempts[0]).toMatchObject({ eventId, httpStatus: 201, responseBody: 'stored locally', status: 'succeeded' });
  expect(attempts[0]?.['responseHeaders']).toMatchObject({ 'x-local': 'yes' });
  expect(typeof attempts[0]?.['durationMs']).toBe('number');

  // Another tenant's event, and its own view of deliveries: nothing of acme's relay.
  await publish(th, globex);
  await publish(th, acme);
  await local.waitFor(2);
  await new Promise((r) => setTimeout(r, 1000));
  expect(local.requests).toHaveLength(2);
  expect((await th.api('GET', `/v1/deliveries?subscriptionId=${cli.relayId}`, undefined, globex)).body['data']).toEqual([]);
});

it('two listen clients of one tenant each get only their own relay\'s deliveries', async () => {
  const th = await hub();
  const key = await th.keyForTenant('acme');
  const austinLocal = await receiver();
  const berlinLocal = await receiver();
  const austin = await listen(th.hub.url, key, austinLocal.url, '--filter', '[{"field": "data.address.city", "operator": "equals", "value": "Austin"}]');
  const berlin = await listen(th.hub.url, key, berlinLocal.url, '--filter', 'data.address.city = "Berlin"');
  expect(austin.relayId).not.toBe(berlin.relayId);

  const address = { street: '1 Main St', state: 'TX', zip: '78701', coordinates: { lat: 1, lng: 2 } };
  await publish(th, key, { address: { ...address, city: 'Austin' } });
  await publish(th, key, { address: { ...address, city: 'Berlin' } });
  const [toAustin] = await austinLocal.waitFor(1);
  const [toBerlin] = await berlinLocal.waitFor(1);
  await new Promise((r) => setTimeout(r, 1000));
  expect(austinLocal.requests).toHaveLength(1);
  expect(berlinLocal.requests).toHaveLength(1);
  expect(verified(toAustin, austin.secret)).toMatchObject({ data: { address: { city: 'Austin' } }, webhook: { subscription_id: austin.relayId } });
  expect(verified(toBerlin, berlin.secret)).toMatchObject({ data: { address: { city: 'Berlin' } }, webhook: { subscription_id: berlin.relayId } });
  expect(() => verifyWebhook(toBerlin?.body ?? '', toBerlin?.headers ?? {}, austin.secret)).toThrow();
});

it('a client killed while its local app answers: the attempt fails as disconnected and the delivery is retried', async () => {
  const th = await hub();
  const key = await th.keyForTenant('acme');
  const local = await receiver(() => ({ status: 200, delayMs: 5000 }));
  const cli = await listen(th.hub.url, key, local.url);
  await publish(th, key);
  await local.waitFor(1);
  cli.child.kill('SIGKILL');

  let attempts: Array<Record<string, unknown>> = [];
  await waitUntil(async () => (attempts = await attemptsOf(th, 'acme', cli.relayId)).length >= 2, 30_000, () => JSON.stringify(attempts));
  const [second, first] = attempts;
  expect(first).toMatchObject({ attempt: 1, status: 'failed', httpStatus: null, error: 'The listen client disconnected before answering.' });
  expect(second).toMatchObject({ attempt: 2, httpStatus: null, error: expect.stringContaining(`No hookhub listen client is connected to relay ${cli.relayId}`) });
});

it('with the client gone, deliveries are retried and reach it once it reconnects (to another hub process), resuming its relay and secret', async () => {
  const port = String(await freePort());
  const first = await hub({ PORT: port });
  // A second process of the same hub that never holds the client: jobs it takes are deferred to the holder.
  const workerOnly = await hub({ HOOKHUB_ROLES: 'router,worker' }, first);
  const key = await first.keyForTenant('acme');
  const local = await receiver();
  const cli = await listen(first.hub.url, key, local.url, '--events', 'business.created');
  await publish(first, key);
  await publish(first, key);
  await local.waitFor(2);

  await first.stop();
  const envelope = { ...businessCreated(), id: `evt_${randomBytes(8).toString('hex')}`, version: '1.0', timestamp: new Date().toISOString() };
  await publishMany(first.prefix, [envelope]);
  let attempts: Array<Record<string, unknown>> = [];
  await waitUntil(async () => (attempts = await attemptsOf(workerOnly, 'acme', cli.relayId)).some((a) => String(a['error']).startsWith('No hookhub listen client')), 30_000, () => JSON.stringify(attempts));

  await hub({ PORT: port }, first);
  const requests = await local.waitFor(3, 60_000);
  const late = requests[2];
  const payload = verified(late, cli.secret) as unknown as { id: string; webhook: { subscription_id: string; delivery_attempt: number } };
  expect(payload.id).toBe(envelope.id);
  expect(payload.webhook.subscription_id).toBe(cli.relayId);
  expect(payload.webhook.delivery_attempt).toBeGreaterThanOrEqual(2);
  expect(cli.stderr()).toContain(`reconnected to relay ${cli.relayId}`);
});

it('relays turned off, or a key without relay:write: the CLI exits 2 saying why', async () => {
  const off = await startTestHub({ mode: 'embedded', env: { HOOKHUB_RELAYS: 'false' } });
  cleanups.push(() => off.destroy());
  const refused = startCli(off.hub.url, off.apiKey, 'http://127.0.0.1:9/x');
  expect(await refused.exited).toBe(2);
  expect(refused.stderr()).toContain('relays_disabled: Relays (hookhub listen) are turned off on this hub (HOOKHUB_RELAYS=false)');

  const on = await startTestHub({ mode: 'embedded' });
  cleanups.push(() => on.destroy());
  const readOnly = `hh_ro_${randomBytes(12).toString('hex')}`;
  await on.hub.store.upsertApiKey({ id: 'key_ro', hash: sha256Hex(readOnly), tenantId: 'acme', name: 'ro', scopes: ['subscriptions:read'], createdAt: new Date() });
  const unscoped = startCli(on.hub.url, readOnly, 'http://127.0.0.1:9/x');
  expect(await unscoped.exited).toBe(2);
  expect(unscoped.stderr()).toContain('insufficient_scope: This key lacks the scope relay:write');
});

it('in embedded mode: --subscription mirrors a subscription\'s events and payload shaping; a relay without its client is removed after --keep', async () => {
  const th = await startTestHub({ mode: 'embedded' });
  cleanups.push(() => th.destroy());
  const local = await receiver();
  const mirrored = await th.api('POST', '/v1/subscriptions', { endpointUrl: 'http://127.0.0.1:9/unused', events: ['business.created'], payload: { fields: ['data.name'] } });
  expect(mirrored.status).toBe(201);
  const cli = await listen(th.hub.url, th.apiKey, local.url, '--subscription', String(mirrored.body['id']), '--keep', '2s');
  const eventId = await publish(th, th.apiKey);
  const [request] = await local.waitFor(1);
  expect(verified(request, cli.secret)).toEqual({ id: eventId, type: 'business.created', created: expect.any(String), data: { name: 'Blue Door Bistro' }, webhook: { subscription_id: cli.relayId, delivery_attempt: 1 } });

  cli.child.kill('SIGKILL');
  const killedAt = Date.now();
  await waitUntil(async () => (await th.hub.store.loadSubscription(cli.relayId)) === null, 10_000);
  expect(Date.now() - killedAt).toBeGreaterThanOrEqual(1500);
  // A webhook subscription, unlike a relay, stays.
  expect(await th.hub.store.loadSubscription(String(mirrored.body['id']))).not.toBeNull();
});
