import { randomBytes } from 'node:crypto';
import { sha256Hex } from '../../src/core/ids';
import { waitUntil } from '../support/receiver';
import { businessCreated, hubPerFile, waitForAttempts } from '../support/test-hub';
import type { TenantApi } from '../support/test-hub';

type Json = Record<string, unknown>;

const shared = hubPerFile();
const { receiver } = shared;

async function keyFor(tenantId: string, scopes: string[]): Promise<TenantApi> {
  const key = `hh_${tenantId}_${randomBytes(12).toString('hex')}`;
  await shared.th.hub.store.upsertApiKey({ hash: sha256Hex(key), tenantId, name: 'test', scopes, createdAt: new Date() });
  return (method, path, body) => shared.th.api<Json>(method, path, body, key);
}

const newTenant = (): string => `qd${randomBytes(4).toString('hex')}`;
const roleReady = (body: Json, role: string): number => (((body['broker'] as Json)['roles'] as Json[]).find((r) => r['role'] === role)?.['ready'] as number | undefined) ?? -1;

describe('GET /v1/analytics/queues', () => {
  it("gives each tenant its own backlog, never another tenant's, and no broker depths without the operator scope", async () => {
    const busy = newTenant();
    const api = await keyFor(busy, ['admin']);
    const quiet = await keyFor(newTenant(), ['deliveries:read']);
    const failing = await receiver(() => ({ status: 500 }));
    const refusing = await receiver(() => ({ status: 400 }));
    // One delivery waiting a minute for its retry, and one dead at once.
    const retrying = await api('POST', '/v1/subscriptions', { endpointUrl: failing.url, events: ['business.created'], retryConfig: { maxRetries: 3, initialDelaySeconds: 60 } });
    await api('POST', '/v1/subscriptions', { endpointUrl: refusing.url, events: ['business.created'], retryConfig: { maxRetries: 0 } });
    await api('POST', '/v1/events', businessCreated());
    await waitForAttempts(api, String(retrying.body['id']), 1);
    await waitUntil(async () => ((await api('GET', '/v1/dead-letters')).body['data'] as Json[]).length === 1);

    const own = await api('GET', '/v1/analytics/queues');
    expect(own.status).toBe(200);
    expect(own.body).toEqual({ tenant: { waitingForRetry: 1, pausedByQuota: 0, deadLetters: { total: 1, byReason: { retries_exhausted: 1 } } } });
    const other = await quiet('GET', '/v1/analytics/queues');
    expect(other.body).toEqual({ tenant: { waitingForRetry: 0, pausedByQuota: 0, deadLetters: { total: 0, byReason: {} } } });
    // The operator scope alone does not read a tenant's analytics.
    const operatorOnly = await keyFor(newTenant(), ['operator']);
    expect((await operatorOnly('GET', '/v1/analytics/queues')).status).toBe(403);
  });

  it("shows an operator the depth of the broker's queues, moving as messages are queued, and exports them to /metrics", async () => {
    const operator = await keyFor(newTenant(), ['operator', 'deliveries:read']);
    const api = await keyFor(newTenant(), ['admin']);
    const prefix = shared.th.prefix;
    const before = (await operator('GET', '/v1/analytics/queues')).body;
    const broker = before['broker'] as Json;
    const queues = broker['queues'] as Json[];
    expect(queues.map((q) => q['queue'])).toEqual(expect.arrayContaining([`${prefix}.router`, `${prefix}.deliveries`, `${prefix}.retry.1s`, `${prefix}.retry.32s`, `${prefix}.events.invalid`, `${prefix}.deliveries.poison`, `${prefix}.dead-letters`]));
    expect(queues.find((q) => q['queue'] === `${prefix}.retry.32s`)).toMatchObject({ role: 'retry', tierSeconds: 32, unacknowledged: null });
    // The hub's own consumers are attached to its work queues.
    expect(((broker['roles'] as Json[]).find((r) => r['role'] === 'deliveries')!['consumers'] as number)).toBeGreaterThanOrEqual(1);
    const retriesBefore = roleReady(before, 'retry');
    const tierReady = (body: Json): number => ((body['broker'] as Json)['queues'] as Json[]).find((q) => q['queue'] === `${prefix}.retry.64s`)!['ready'] as number;
    const deadBefore = roleReady(before, 'dead_letters');

    const failing = await receiver(() => ({ status: 503 }));
    const refusing = await receiver(() => ({ status: 400 }));
    await api('POST', '/v1/subscriptions', { endpointUrl: failing.url, events: ['business.created'], retryConfig: { maxRetries: 3, initialDelaySeconds: 120 } });
    await api('POST', '/v1/subscriptions', { endpointUrl: refusing.url, events: ['business.created'], retryConfig: { maxRetries: 0 } });
    await api('POST', '/v1/events', businessCreated());
    await api('POST', '/v1/events', businessCreated());

    let after: Json = {};
    await waitUntil(
      async () => {
        after = (await operator('GET', '/v1/analytics/queues')).body;
        return roleReady(after, 'retry') === retriesBefore + 2 && roleReady(after, 'dead_letters') === deadBefore + 2;
      },
      20_000,
      () => JSON.stringify(after['broker'] ?? after),
    );
    // The ladder's total is the sum of its tiers, each shown apart.
    const tiers = ((after['broker'] as Json)['queues'] as Json[]).filter((q) => q['role'] === 'retry');
    expect(tiers).toHaveLength(17);
    expect(tiers.reduce((sum, q) => sum + (q['ready'] as number), 0)).toBe(roleReady(after, 'retry'));
    // The operator's key sees its own tenant's backlog too.
    expect(after['tenant']).toMatchObject({ waitingForRetry: 0 });

    const metrics = await (await fetch(`${shared.th.hub.url}/metrics`)).text();
    expect(metrics).toContain(`hookhub_queue_messages_ready{queue="${prefix}.retry.64s"} ${tierReady(after)}`);
    expect(metrics).toMatch(new RegExp(`hookhub_queue_consumers\\{queue="${prefix.replace(/[.]/g, '\\.')}\\.deliveries"\\} [1-9]`));
  });
});
