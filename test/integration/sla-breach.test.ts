import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sha256Hex } from '../../src/core/ids';
import { waitUntil } from '../support/receiver';
import { businessCreated, hubPerFile } from '../support/test-hub';
import type { TenantApi } from '../support/test-hub';

type Json = Record<string, unknown>;

const none = { subscriptions: null, connections: null, delivered_events_per_month: null, deliveries_per_second_per_subscription: null, attempt_retention_days: null, batch_size: null };
const everything = { transforms: true, jsonata_filters: true, payload_encryption: true, mutual_tls: true, ordering: true, batches: true, connectors: '*' };
const plansFile = path.join(mkdtempSync(path.join(tmpdir(), 'hookhub-sla-')), 'plans.yaml');
writeFileSync(plansFile, JSON.stringify({
  plans: {
    open: { limits: none, features: everything },
    // A target that one failed delivery among a few misses, and a handful of successes meets again.
    strict: { limits: none, features: everything, sla: { delivery_success_percent: 75, p99_first_attempt_seconds: 60 } },
  },
}));

const hub = hubPerFile({
  env: {
    HOOKHUB_PLANS_FILE: plansFile,
    HOOKHUB_DEFAULT_PLAN: 'open',
    HOOKHUB_PLAN_CACHE_MS: '0',
    HOOKHUB_SLA_CHECK_INTERVAL_MS: '200',
    HOOKHUB_SLA_CHECK_WINDOW_MS: '600000',
    HOOKHUB_SLA_CHECK_MIN_DELIVERIES: '1',
  },
});

async function tenantOnPlan(plan: string): Promise<{ id: string; api: TenantApi }> {
  const id = `sla-${randomBytes(3).toString('hex')}`;
  const key = await hub.th.keyForTenant(id);
  const op = `hh_op_${randomBytes(12).toString('hex')}`;
  await hub.th.hub.store.upsertApiKey({ hash: sha256Hex(op), tenantId: 'ops', name: 'operator', scopes: ['operator'], createdAt: new Date() });
  expect((await hub.th.api('PUT', `/v1/tenants/${id}/plan`, { plan }, op)).status).toBe(200);
  return { id, api: (method, p, body) => hub.th.api<Json>(method, p, body, key) };
}

it('sends webhook.sla_breach once when a tenant misses its plan\'s target, and again only after it met the targets in between', async () => {
  const { id: tenantId, api } = await tenantOnPlan('strict');
  const alerts = await hub.receiver();
  expect((await api('POST', '/v1/subscriptions', { endpointUrl: `${alerts.url}/alerts`, events: ['webhook.sla_breach'] })).status).toBe(201);
  let failing = true;
  const endpoint = await hub.receiver(() => ({ status: failing ? 500 : 200 }));
  const created = await api('POST', '/v1/subscriptions', { endpointUrl: `${endpoint.url}/hook`, events: ['business.created'], retryConfig: { maxRetries: 0 } });
  expect(created.status).toBe(201);
  const breaches = (): Json[] => alerts.requests.filter((r) => r.json['type'] === 'webhook.sla_breach').map((r) => r.json['data'] as Json);
  const inBreach = async (): Promise<boolean> => (await hub.th.hub.store.findUsageNotices('sla_breach')).some((n) => n.tenantId === tenantId);

  // One delivery dead-lettered after its (no) retries: 0 % delivered against 75 %.
  expect((await api('POST', '/v1/events', businessCreated())).status).toBe(202);
  await waitUntil(() => breaches().length >= 1, 30_000, () => `alerts: ${alerts.requests.length}`);
  const first = breaches()[0] as Json;
  expect(first).toMatchObject({
    plan: 'strict',
    missed: ['delivery_success_percent'],
    attainment: { delivery_success_percent: 0, settled: 1, succeeded: 0 },
    targets: { delivery_success_percent: 75, p99_first_attempt_seconds: 60 },
  });
  expect(typeof (first['attainment'] as Json)['p99_first_attempt_seconds']).toBe('number');
  expect(Date.parse(String(first['window_end'])) - Date.parse(String(first['window_start']))).toBeGreaterThanOrEqual(600_000);

  // Later checks while the breach lasts send nothing more.
  expect(await hub.th.hub.slaMonitor.tick()).toBe(true);
  expect(await hub.th.hub.slaMonitor.tick()).toBe(true);
  expect(await inBreach()).toBe(true);

  // The endpoint recovers: enough successes bring the window back above the target, which ends the breach.
  failing = false;
  for (let i = 0; i < 4; i++) expect((await api('POST', '/v1/events', businessCreated())).status).toBe(202);
  await waitUntil(async () => !(await inBreach()), 30_000, () => 'the breach did not end');
  expect(breaches()).toHaveLength(1);

  // It fails again: a new breach, announced once more, with the window's figures.
  failing = true;
  for (let i = 0; i < 4; i++) expect((await api('POST', '/v1/events', businessCreated())).status).toBe(202);
  await waitUntil(() => breaches().length >= 2, 30_000, () => `breaches: ${breaches().length}`);
  const second = breaches()[1] as Json;
  expect(second['missed']).toEqual(['delivery_success_percent']);
  const attained = second['attainment'] as Json;
  expect(Number(attained['delivery_success_percent'])).toBeLessThan(75);
  expect(Number(attained['settled'])).toBeGreaterThan(5);
  expect(breaches()).toHaveLength(2);
}, 90_000);

it('sends nothing for a tenant whose deliveries meet its targets', async () => {
  const { id: tenantId, api } = await tenantOnPlan('open');
  const alerts = await hub.receiver();
  expect((await api('POST', '/v1/subscriptions', { endpointUrl: `${alerts.url}/alerts`, events: ['webhook.sla_breach', 'business.created'] })).status).toBe(201);
  for (let i = 0; i < 3; i++) expect((await api('POST', '/v1/events', businessCreated())).status).toBe(202);
  await alerts.waitFor(3);
  // Its deliveries are in the stats the checks read; checks after that find nothing to announce.
  await waitUntil(async () => (await hub.th.hub.store.listDeliveryStatsTenants({ resolution: 'minute', from: new Date(Date.now() - 600_000), to: new Date(Date.now() + 60_000) })).includes(tenantId));
  expect(await hub.th.hub.slaMonitor.tick()).toBe(true);
  expect(await hub.th.hub.slaMonitor.tick()).toBe(true);
  expect(alerts.requests.map((r) => r.json['type'])).toEqual(['business.created', 'business.created', 'business.created']);
  expect((await hub.th.hub.store.findUsageNotices('sla_breach')).some((n) => n.tenantId === tenantId)).toBe(false);
});
