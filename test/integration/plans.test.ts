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
const nothing = { transforms: false, jsonata_filters: false, payload_encryption: false, mutual_tls: false, ordering: false, batches: false, connectors: ['slack', 'webhook-custom'] };
const everything = { transforms: true, jsonata_filters: true, payload_encryption: true, mutual_tls: true, ordering: true, batches: true, connectors: '*' };
/** Small numbers, so that every limit is reached in a test (JSON is YAML). */
const plansFile = path.join(mkdtempSync(path.join(tmpdir(), 'hookhub-plans-')), 'plans.yaml');
writeFileSync(plansFile, JSON.stringify({
  directory_tiers: { free: 'tiny', pro: 'big' },
  plans: {
    tiny: { limits: { ...none, subscriptions: 1, connections: 1, deliveries_per_second_per_subscription: 5, batch_size: 0 }, features: nothing, api: { management_per_minute: 1000, ingest_per_second: 5 } },
    metered: { listed: false, limits: { ...none, delivered_events_per_month: 20 }, features: nothing, api: { ingest_per_second: 1000 } },
    paused: { listed: false, limits: { ...none, delivered_events_per_month: 3 }, features: nothing, over_quota: 'pause' },
    publisher: { listed: false, limits: none, features: nothing, api: { management_per_minute: 30, ingest_per_second: 2000 } },
    big: { limits: none, features: everything, sla: { delivery_success_percent: 99.9, p99_first_attempt_seconds: 2 }, api: { management_per_minute: 10000, ingest_per_second: 2000 } },
  },
}));

const hub = hubPerFile({ env: { HOOKHUB_PLANS_FILE: plansFile, HOOKHUB_DEFAULT_PLAN: 'big', HOOKHUB_USAGE_FLUSH_MS: '100', HOOKHUB_PLAN_CACHE_MS: '200' } });

/** A tenant of its own, by id (plans are set per tenant id). */
async function tenant(prefix: string): Promise<{ id: string; api: TenantApi }> {
  const id = `${prefix}-${randomBytes(3).toString('hex')}`;
  const key = await hub.th.keyForTenant(id);
  return { id, api: (method, p, body) => hub.th.api<Json>(method, p, body, key) };
}

/** The hub operator's key: `operator` scope only. */
async function operator(): Promise<TenantApi> {
  const key = `hh_op_${randomBytes(12).toString('hex')}`;
  await hub.th.hub.store.upsertApiKey({ hash: sha256Hex(key), tenantId: 'ops', name: 'operator', scopes: ['operator'], createdAt: new Date() });
  return (method, p, body) => hub.th.api<Json>(method, p, body, key);
}

async function onPlan(plan: string, prefix = plan): Promise<{ id: string; api: TenantApi }> {
  const t = await tenant(prefix);
  const set = await (await operator())('PUT', `/v1/tenants/${t.id}/plan`, { plan });
  expect([set.status, set.body]).toEqual([200, expect.objectContaining({ tenantId: t.id, name: plan, source: 'operator' })]);
  return t;
}

it('lets only an operator key set a tenant\'s plan, and refuses a plan the file lacks', async () => {
  const t = await tenant('admin');
  const own = await t.api('PUT', `/v1/tenants/${t.id}/plan`, { plan: 'big' });
  expect([own.status, (own.body['error'] as Json)['code'], (own.body['error'] as Json)['details']]).toEqual([403, 'insufficient_scope', { required: 'operator' }]);
  const op = await operator();
  expect((await op('GET', `/v1/tenants/${t.id}/plan`)).body).toMatchObject({ tenantId: t.id, name: 'big', source: 'default', changedAt: null });
  const unknown = await op('PUT', `/v1/tenants/${t.id}/plan`, { plan: 'gold' });
  expect([unknown.status, (unknown.body['error'] as Json)['code']]).toEqual([400, 'unknown_plan']);
  // An operator key is for plans only: it reads no tenant's data.
  expect((await op('GET', '/v1/subscriptions')).status).toBe(403);
});

it('answers 403 plan_limit past a limit and for a feature the plan lacks, naming the limit and the plan that has it', async () => {
  const { api } = await onPlan('tiny');
  const receiver = await hub.receiver();
  expect((await api('POST', '/v1/subscriptions', { endpointUrl: `${receiver.url}/a`, events: ['business.created'] })).status).toBe(201);
  const second = await api('POST', '/v1/subscriptions', { endpointUrl: `${receiver.url}/b`, events: ['business.created'] });
  expect([second.status, second.body['error']]).toEqual([403, {
    code: 'plan_limit',
    message: 'The tiny plan allows 1 subscriptions and this tenant has 1. The big plan allows any number; or delete one you no longer need.',
    details: { limit: 'subscriptions', plan: 'tiny', allowed: 1, used: 1, availableOn: 'big' },
  }]);
  const [sub] = (await api('GET', '/v1/subscriptions')).body['data'] as Json[];
  const filter = await api('PATCH', `/v1/subscriptions/${String(sub?.['id'])}`, { filter: "data.category = 'restaurant'" });
  expect([filter.status, (filter.body['error'] as Json)['code'], (filter.body['error'] as Json)['details']]).toEqual([403, 'plan_limit', { feature: 'jsonataFilters', field: 'filter', plan: 'tiny', availableOn: 'big' }]);
  const fast = await api('PATCH', `/v1/subscriptions/${String(sub?.['id'])}`, { rateLimit: { requestsPerSecond: 50 } });
  expect((fast.body['error'] as Json)['details']).toMatchObject({ limit: 'deliveriesPerSecondPerSubscription', allowed: 5, requested: 50, availableOn: 'big' });
  const connector = await api('POST', '/v1/connections', { connector: 'teams', config: { webhook_url: 'https://example.webhook.office.com/x' } });
  expect([connector.status, (connector.body['error'] as Json)['details']]).toEqual([403, { feature: 'connectors', connector: 'teams', plan: 'tiny', availableOn: 'big' }]);
  // Nothing was changed by the refused requests.
  expect((await api('GET', `/v1/subscriptions/${String(sub?.['id'])}`)).body).toMatchObject({ filter: null });
});

it('takes the plan of the directory tier from user.subscription_changed within seconds', async () => {
  const { id, api } = await onPlan('tiny', 'usr');
  const receiver = await hub.receiver();
  expect((await api('POST', '/v1/subscriptions', { endpointUrl: `${receiver.url}/a`, events: ['business.created'] })).status).toBe(201);
  expect((await api('POST', '/v1/subscriptions', { endpointUrl: `${receiver.url}/b`, events: ['business.created'] })).status).toBe(403);
  // As the directory publishes it: to the events exchange, for everyone (no tenant scope).
  const now = new Date().toISOString();
  await hub.th.hub.broker.publishEvent({ id: `evt_${randomBytes(6).toString('hex')}`, type: 'user.subscription_changed', version: '1.0', timestamp: now, data: { id, old_plan: 'free', new_plan: 'pro', changed_at: now } }, null);
  await waitUntil(async () => ((await api('GET', '/v1/usage')).body['plan'] as Json)['name'] === 'big', 10_000);
  expect((await api('GET', '/v1/usage')).body['plan']).toMatchObject({ name: 'big', source: 'directory' });
  expect((await api('POST', '/v1/subscriptions', { endpointUrl: `${receiver.url}/b`, events: ['business.created'], filter: "data.category = 'restaurant'" })).status).toBe(201);
  // The SLA report holds the tenant to its new plan's targets.
  expect((await api('GET', '/v1/analytics/sla')).body['targets']).toEqual({ successRate: 0.999, averageTimeToDeliveryMs: 5000, p99TimeToFirstAttemptMs: 2000 });
});

it('warns at 80 % and 95 % of the monthly delivery quota once each, and keeps delivering past it (deliver_and_flag)', async () => {
  const { api } = await onPlan('metered');
  const receiver = await hub.receiver();
  const alerts = await hub.receiver();
  expect((await api('POST', '/v1/subscriptions', { endpointUrl: `${receiver.url}/hooks`, events: ['business.created'] })).status).toBe(201);
  expect((await api('POST', '/v1/subscriptions', { endpointUrl: `${alerts.url}/alerts`, events: ['api.quota_warning'] })).status).toBe(201);
  for (let i = 0; i < 24; i += 1) expect((await api('POST', '/v1/events', businessCreated())).status).toBe(202);
  await receiver.waitFor(24);
  await alerts.waitFor(3);
  await waitUntil(async () => ((await api('GET', '/v1/usage')).body['usage'] as Json)['deliveredEventsPerMonth'] !== undefined && (((await api('GET', '/v1/usage')).body['usage'] as Json)['deliveredEventsPerMonth'] as Json)['used'] === 24);
  const thresholds = alerts.requests.map((r) => (r.json['data'] as Json)['threshold_percent']).sort((a, b) => Number(a) - Number(b));
  expect(thresholds).toEqual([80, 95, 100]);
  expect((alerts.requests[0]?.json['data'] as Json)).toMatchObject({ quota_name: 'delivered_events_per_month', plan: 'metered', quota: 20 });
  const usage = (await api('GET', '/v1/usage')).body;
  expect(usage).toMatchObject({ plan: { name: 'metered' }, overQuota: true, overQuotaPolicy: 'deliver_and_flag', paused: false, usage: { deliveredEventsPerMonth: { used: 24, limit: 20, percent: 120 } } });
  // Nothing more is announced for the rest of the month.
  for (let i = 0; i < 3; i += 1) await api('POST', '/v1/events', businessCreated());
  await receiver.waitFor(27);
  expect(alerts.requests).toHaveLength(3);
});

it('parks deliveries past the quota of a plan that pauses, never dropping them, and sends them on an upgrade', async () => {
  const { id, api } = await onPlan('paused');
  const receiver = await hub.receiver();
  const sub = await api('POST', '/v1/subscriptions', { endpointUrl: `${receiver.url}/hooks`, events: ['business.created'] });
  const subId = String(sub.body['id']);
  for (let i = 0; i < 5; i += 1) expect((await api('POST', '/v1/events', businessCreated())).status).toBe(202);
  await receiver.waitFor(3);
  let parked: Json[] = [];
  await waitUntil(async () => {
    parked = (await api('GET', `/v1/dead-letters?subscriptionId=${subId}`)).body['data'] as Json[];
    return parked.length === 2;
  });
  expect(parked.map((d) => d['reason'])).toEqual(['quota_exceeded', 'quota_exceeded']);
  expect(receiver.requests).toHaveLength(3);
  // Delivery counts reach the store once a second (HOOKHUB_USAGE_FLUSH_MS): the usage report follows within that.
  let usage: Record<string, unknown> = {};
  await waitUntil(async () => (usage = (await api('GET', '/v1/usage')).body)['paused'] === true, 10_000, () => JSON.stringify(usage));
  expect(usage).toMatchObject({ paused: true, overQuota: true, usage: { deliveredEventsPerMonth: { used: 3, limit: 3 } } });
  const upgraded = await (await operator())('PUT', `/v1/tenants/${id}/plan`, { plan: 'big' });
  expect(upgraded.status).toBe(200);
  await receiver.waitFor(5);
  // The parked ones went out under their own webhook ids: each event once.
  expect(new Set(receiver.requests.map((r) => r.headers['webhook-id'])).size).toBe(5);
  expect(parked.map((d) => d['webhookId']).every((w) => receiver.requests.some((r) => r.headers['webhook-id'] === w))).toBe(true);
  expect((await api('GET', '/v1/usage')).body).toMatchObject({ paused: false, overQuota: false });
});

it('limits publishing by its own per-plan rate, not the management rate: 700 events with one key all accepted', async () => {
  const { api } = await onPlan('publisher');
  // The management rate of this plan is 30 requests a minute; publishing, 2,000 events a second.
  const answers: number[] = [];
  for (let i = 0; i < 700; i += 50) answers.push(...(await Promise.all(Array.from({ length: 50 }, () => api('POST', '/v1/events', businessCreated())))).map((r) => r.status));
  expect(answers.filter((s) => s === 202)).toHaveLength(700);
  const management: number[] = [];
  for (let i = 0; i < 31; i += 1) management.push((await api('GET', '/v1/subscriptions')).status);
  expect(management.slice(0, 30).every((s) => s === 200)).toBe(true);
  expect(management[30]).toBe(429);
  // And publishing still goes while management is refused.
  expect((await api('POST', '/v1/events', businessCreated())).status).toBe(202);

  const { api: slow } = await onPlan('tiny');
  const burst = await Promise.all(Array.from({ length: 12 }, () => slow('POST', '/v1/events', businessCreated())));
  const refused = burst.filter((r) => r.status === 429);
  // A bucket of one second's worth (5) refills as the requests arrive: most of the burst is refused.
  expect(refused.length).toBeGreaterThan(0);
  expect(refused[0]?.body['error']).toMatchObject({ code: 'ingest_rate_limited', details: { eventsPerSecond: 5 } });
  expect(refused[0]?.headers.get('retry-after')).toMatch(/^\d+$/);
});

it('publishes a batch with one answer per event: valid ones accepted, invalid ones refused with their reason, the rest beyond the rate 429', async () => {
  const { api } = await tenant('batch');
  const receiver = await hub.receiver();
  expect((await api('POST', '/v1/subscriptions', { endpointUrl: `${receiver.url}/hooks`, events: ['business.created'] })).status).toBe(201);
  const events = [businessCreated(), { type: 'business.created', data: { name: 'no id' } }, businessCreated(), { type: 'nope.unknown', data: {} }, businessCreated()];
  const batch = await api('POST', '/v1/events/batch', { events });
  expect(batch.status).toBe(200);
  expect(batch.body).toMatchObject({ accepted: 3, refused: 2 });
  const data = batch.body['data'] as Json[];
  expect(data.map((d) => [d['index'], d['status']])).toEqual([[0, 202], [1, 422], [2, 202], [3, 422], [4, 202]]);
  expect(data[1]?.['error']).toMatchObject({ code: 'invalid_event', details: { reason: 'invalid_data' } });
  expect(data[3]?.['error']).toMatchObject({ code: 'invalid_event', details: { reason: 'unknown_event_type' } });
  await receiver.waitFor(3);
  expect(receiver.requests.map((r) => r.json['id']).sort()).toEqual([data[0], data[2], data[4]].map((d) => d?.['id']).sort());

  expect((await api('POST', '/v1/events/batch', { events: Array.from({ length: 501 }, () => businessCreated()) })).status).toBe(400);
  expect((await api('POST', '/v1/events/batch', { events: [] })).status).toBe(400);

  const { api: slow } = await onPlan('tiny');
  const limited = await slow('POST', '/v1/events/batch', { events: Array.from({ length: 8 }, () => businessCreated()) });
  expect((limited.body['data'] as Json[]).map((d) => d['status'])).toEqual([202, 202, 202, 202, 202, 429, 429, 429]);
});

it('shows this month\'s usage against each limit of the plan', async () => {
  const { api } = await onPlan('tiny');
  const receiver = await hub.receiver();
  await api('POST', '/v1/subscriptions', { endpointUrl: `${receiver.url}/hooks`, events: ['business.created'] });
  await api('POST', '/v1/connections', { connector: 'webhook-custom', config: { url: 'https://crm.example.com/x', auth: { type: 'bearer', token: 't0k3n-value' } } });
  await api('POST', '/v1/events', businessCreated());
  await receiver.waitFor(1);
  await waitUntil(async () => ((((await api('GET', '/v1/usage')).body['usage'] as Json)['deliveredEventsPerMonth'] as Json)['used'] === 1));
  const usage = (await api('GET', '/v1/usage')).body;
  const month = new Date().toISOString().slice(0, 7);
  expect(usage).toMatchObject({
    plan: { name: 'tiny', source: 'operator' },
    period: { start: `${month}-01T00:00:00.000Z` },
    usage: { subscriptions: { used: 1, limit: 1, percent: 100 }, connections: { used: 1, limit: 1, percent: 100 }, deliveredEventsPerMonth: { used: 1, limit: null, percent: null } },
    limits: { deliveriesPerSecondPerSubscription: 5, batchSize: 0, managementRequestsPerMinute: 1000, ingestEventsPerSecond: 5 },
    features: { transforms: false, connectors: ['slack', 'webhook-custom'] },
    overQuota: false,
    sla: { deliverySuccessPercent: 98, p99FirstAttemptSeconds: null },
  });
  const plans = (await api('GET', '/v1/plans')).body;
  expect(plans['current']).toBe('tiny');
  expect((plans['data'] as Json[]).map((p) => p['name'])).toEqual(['tiny', 'big']);
});
