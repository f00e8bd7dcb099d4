import WebSocket from 'ws';
import { routeRules } from '../../src/api/scopes';
import type { ApiScope, RouteScope } from '../../src/api/scopes';
import { startReceiver, waitUntil } from '../support/receiver';
import type { Receiver } from '../support/receiver';
import { businessCreated, startTestHub } from '../support/test-hub';
import type { ApiResponse, TestHub } from '../support/test-hub';

type Json = Record<string, unknown>;

/**
 * Tenant isolation over every authenticated route: another tenant's ids answer
 * 404 (or, for a create that names one, a 400 about it), a key without the
 * route's scope answers 403, and no answer carries the owner's data.
 */

let th: TestHub;
let receiver: Receiver;
let gone: Receiver;

beforeAll(async () => {
  [th, receiver, gone] = await Promise.all([startTestHub(), startReceiver(), startReceiver(() => ({ status: 410 }))]);
});

afterAll(async () => {
  await Promise.all([receiver.close(), gone.close()]);
  await th.destroy();
});

/** Routes whose data is not a tenant's own, or which only ever act on the caller's tenant. */
const NOT_TENANT_DATA: Record<string, string> = {
  'GET /v1/event-types': 'the public event catalog',
  'GET /v1/connectors': 'the installed connectors, the same for everyone',
  'GET /v1/connectors/:name': 'the installed connectors, the same for everyone',
  'GET /v1/meta/egress-ips': 'facts about the hub',
  'POST /v1/events': "publishes in the caller's tenant only (pipeline tests prove delivery stays there)",
  'POST /v1/events/batch': "publishes in the caller's tenant only, as POST /v1/events",
  'GET /v1/plans': "the plans offered, the same for everyone, and the caller's own",
  'POST /v1/api-keys': "creates a key in the caller's tenant",
  'POST /v1/subscriptions': "creates in the caller's tenant",
  'POST /v1/connections': "creates in the caller's tenant",
  'PUT /v1/settings': "sets the caller's tenant's settings (the owner's are checked unchanged below)",
  'GET /v1/zapier/me': "the caller's own key and tenant",
  'POST /v1/zapier/subscriptions': "creates in the caller's tenant",
  'POST /v1/webhooks/verify': 'checks the headers, body and secret given, nothing stored',
  'POST /v1/endpoints/validate': 'checks the URL given, nothing stored',
};

/** A `hookhub tunnel` client of `key`'s tenant, connected as the CLI connects: its tunnel id, and the socket. */
async function openTunnel(hubUrl: string, key: string): Promise<{ tunnelId: string; socket: WebSocket }> {
  const socket = new WebSocket(`${hubUrl.replace(/^http/, 'ws')}/v1/tunnel`, { headers: { authorization: `Bearer ${key}` } });
  const ready = await new Promise<Json>((resolve, reject) => {
    socket.on('open', () => socket.send(JSON.stringify({ type: 'hello', target: 'http://localhost:4000' })));
    socket.on('message', (data: WebSocket.RawData) => resolve(JSON.parse(String(data)) as Json));
    socket.on('error', reject);
  });
  return { tunnelId: String(ready['tunnelId']), socket };
}

it("answers another tenant's ids with 404 on every route, lists nothing of theirs, and 403 without the scope", async () => {
  const ownerKey = await th.keyForTenant('iso-owner');
  const owner = (method: string, path: string, body?: unknown): Promise<ApiResponse<Json>> => th.api<Json>(method, path, body, ownerKey);

  // The owner's world: a subscription with a delivery, a dead letter, a connection, an integration, a key, audit entries.
  const sub = await owner('POST', '/v1/subscriptions', { endpointUrl: `${receiver.url}/owner`, events: ['business.created'], headers: { 'X-Owner-Token': 'owner-SECRET-1' } });
  const subId = String(sub.body['id']);
  const ownerSecret = String(sub.body['secret']);
  const doomed = await owner('POST', '/v1/subscriptions', { endpointUrl: `${gone.url}/gone`, events: ['business.created'] });
  const doomedId = String(doomed.body['id']);
  const published = await owner('POST', '/v1/events', businessCreated({}, { name: 'Owner Only Bistro' }));
  const eventId = String(published.body['id']);
  await receiver.waitFor(1);
  let deadLetterId = '';
  await waitUntil(async () => {
    const dead = (await owner('GET', `/v1/dead-letters?subscriptionId=${doomedId}`)).body['data'] as Json[];
    deadLetterId = String(dead[0]?.['id'] ?? '');
    return deadLetterId !== '';
  });
  const connection = await owner('POST', '/v1/connections', { connector: 'webhook-custom', config: { url: 'https://owner-crm.example.com/x', auth: { type: 'bearer', token: 'owner-SECRET-2' } } });
  expect(connection.status).toBe(201);
  const connectionId = String(connection.body['id']);
  const integration = await owner('POST', '/v1/integrations', { connection: connectionId, events: ['business.created'] });
  expect(integration.status).toBe(201);
  const integrationId = String(integration.body['id']);
  const ownerApiKey = await owner('POST', '/v1/api-keys', { name: 'owner-ci', scopes: ['subscriptions:read'] });
  const ownerApiKeyId = String(ownerApiKey.body['id']);
  const { tunnelId, socket: tunnelSocket } = await openTunnel(th.hub.url, ownerKey);
  const zap = await owner('POST', '/v1/zapier/subscriptions', { target_url: `${receiver.url}/owner-zap`, event: 'business.created' });
  expect(zap.status).toBe(201);
  const zapId = String(zap.body['id']);
  expect((await owner('PUT', '/v1/settings', { oauth: { redirectOrigins: ['https://owner-app.example.com'] } })).status).toBe(200);
  const attempts = (await owner('GET', `/v1/deliveries?subscriptionId=${subId}`)).body['data'] as Json[];
  const attemptId = String(attempts[0]?.['id']);
  await waitUntil(async () => ((await owner('GET', '/v1/audit-log')).body['data'] as Json[]).length >= 5);

  // What must never show up in an intruder's answer.
  const ownerData = ['owner-SECRET-1', 'owner-SECRET-2', ownerSecret, 'Owner Only Bistro', `${receiver.url}/owner`, 'owner-crm.example.com', 'owner-ci', 'iso-owner', 'owner-app.example.com'];

  const byId: Array<{ route: string; method: string; path: string; body?: unknown; status?: number[] }> = [
    { route: 'GET /v1/events/:id', method: 'GET', path: `/v1/events/${eventId}` },
    { route: 'GET /v1/subscriptions/:id', method: 'GET', path: `/v1/subscriptions/${subId}` },
    { route: 'PATCH /v1/subscriptions/:id', method: 'PATCH', path: `/v1/subscriptions/${subId}`, body: { active: false } },
    { route: 'DELETE /v1/subscriptions/:id', method: 'DELETE', path: `/v1/subscriptions/${subId}` },
    { route: 'GET /v1/subscriptions/:id/secret', method: 'GET', path: `/v1/subscriptions/${subId}/secret` },
    { route: 'POST /v1/subscriptions/:id/rotate-secret', method: 'POST', path: `/v1/subscriptions/${subId}/rotate-secret`, body: {} },
    { route: 'POST /v1/subscriptions/:id/test', method: 'POST', path: `/v1/subscriptions/${subId}/test`, body: { type: 'business.created' } },
    { route: 'POST /v1/subscriptions/:id/replay', method: 'POST', path: `/v1/subscriptions/${doomedId}/replay`, body: { since: '2020-01-01T00:00:00Z' } },
    { route: 'GET /v1/dead-letters/:id', method: 'GET', path: `/v1/dead-letters/${deadLetterId}` },
    { route: 'POST /v1/dead-letters/:id/replay', method: 'POST', path: `/v1/dead-letters/${deadLetterId}/replay` },
    { route: 'GET /v1/connections/:id', method: 'GET', path: `/v1/connections/${connectionId}` },
    { route: 'PATCH /v1/connections/:id', method: 'PATCH', path: `/v1/connections/${connectionId}`, body: { description: 'mine now' } },
    { route: 'DELETE /v1/connections/:id', method: 'DELETE', path: `/v1/connections/${connectionId}` },
    { route: 'POST /v1/connections/:id/check', method: 'POST', path: `/v1/connections/${connectionId}/check` },
    { route: 'GET /v1/connections/:id/stats', method: 'GET', path: `/v1/connections/${connectionId}/stats` },
    { route: 'POST /v1/connections/authorize', method: 'POST', path: '/v1/connections/authorize', body: { connector: 'webhook-custom', connectionId }, status: [400, 404] },
    { route: 'GET /v1/integrations/:id', method: 'GET', path: `/v1/integrations/${integrationId}` },
    { route: 'PATCH /v1/integrations/:id', method: 'PATCH', path: `/v1/integrations/${integrationId}`, body: { active: false } },
    { route: 'DELETE /v1/tunnels/:id', method: 'DELETE', path: `/v1/tunnels/${tunnelId}` },
    { route: 'DELETE /v1/integrations/:id', method: 'DELETE', path: `/v1/integrations/${integrationId}` },
    { route: 'POST /v1/integrations/:id/replay', method: 'POST', path: `/v1/integrations/${integrationId}/replay`, body: { since: '2020-01-01T00:00:00Z' } },
    { route: 'POST /v1/integrations', method: 'POST', path: '/v1/integrations', body: { connection: connectionId, events: ['business.created'] }, status: [400, 404] },
    { route: 'DELETE /v1/api-keys/:id', method: 'DELETE', path: `/v1/api-keys/${ownerApiKeyId}` },
    { route: 'GET /v1/deliveries/:id', method: 'GET', path: `/v1/deliveries/${attemptId}` },
    { route: 'POST /v1/attempts/:id/resend', method: 'POST', path: `/v1/attempts/${attemptId}/resend` },
    { route: 'POST /v1/subscriptions/:id/loadtest', method: 'POST', path: `/v1/subscriptions/${subId}/loadtest`, body: { rate: 1, seconds: 1 } },
    { route: 'GET /v1/subscriptions/:id/loadtests', method: 'GET', path: `/v1/subscriptions/${subId}/loadtests` },
    { route: 'GET /v1/connections/:id/pipeline', method: 'GET', path: `/v1/connections/${connectionId}/pipeline` },
    { route: 'POST /v1/connections/:id/export', method: 'POST', path: `/v1/connections/${connectionId}/export`, body: { type: 'business.created', since: '2020-01-01T00:00:00Z' } },
    { route: 'GET /v1/connections/:id/exports', method: 'GET', path: `/v1/connections/${connectionId}/exports` },
    { route: 'GET /v1/connections/:id/exports/:exportId', method: 'GET', path: `/v1/connections/${connectionId}/exports/exp_01JD8Z6Q4W0X5R2T7Y9V3B1N8M` },
    { route: 'DELETE /v1/zapier/subscriptions/:id', method: 'DELETE', path: `/v1/zapier/subscriptions/${zapId}` },
    // Another tenant's plan is for the hub's operator only: a tenant's admin key is refused.
    { route: 'GET /v1/tenants/:tenantId/plan', method: 'GET', path: '/v1/tenants/iso-owner/plan', status: [403] },
    { route: 'PUT /v1/tenants/:tenantId/plan', method: 'PUT', path: '/v1/tenants/iso-owner/plan', body: { plan: 'free' }, status: [403] },
  ];
  const lists: Array<{ route: string; path: string }> = [
    { route: 'GET /v1/subscriptions', path: '/v1/subscriptions' },
    { route: 'GET /v1/deliveries', path: `/v1/deliveries?subscriptionId=${subId}` },
    { route: 'GET /v1/deliveries', path: `/v1/deliveries?eventId=${eventId}` },
    { route: 'GET /v1/dead-letters', path: `/v1/dead-letters?subscriptionId=${doomedId}` },
    { route: 'GET /v1/connections', path: '/v1/connections' },
    { route: 'GET /v1/integrations', path: '/v1/integrations' },
    { route: 'GET /v1/api-keys', path: '/v1/api-keys' },
    { route: 'GET /v1/audit-log', path: '/v1/audit-log' },
    { route: 'GET /v1/audit-log', path: `/v1/audit-log?resourceId=${subId}` },
    { route: 'GET /v1/settings', path: '/v1/settings' },
    { route: 'GET /v1/tunnels', path: '/v1/tunnels' },
    { route: 'GET /v1/zapier/samples/:type', path: '/v1/zapier/samples/business.created' },
    { route: 'GET /v1/analytics/deliveries', path: `/v1/analytics/deliveries?subscriptionId=${subId}` },
    { route: 'GET /v1/analytics/deliveries', path: '/v1/analytics/deliveries?interval=day' },
    { route: 'GET /v1/analytics/sla', path: '/v1/analytics/sla' },
    { route: 'GET /v1/analytics/queues', path: '/v1/analytics/queues' },
    { route: 'GET /v1/usage', path: '/v1/usage' },
  ];

  // The table covers every route the API has (a new route fails here until it is added).
  // Dry runs over the caller's own subscriptions: an intruder's lists none of the owner's.
  const dryRuns: Array<{ route: string; path: string; body: unknown }> = [{ route: 'POST /v1/events/inspect', path: '/v1/events/inspect', body: businessCreated({}, { name: 'Owner Only Bistro' }) }];
  const covered = new Set([...byId.map((c) => c.route), ...lists.map((c) => c.route), ...dryRuns.map((c) => c.route), ...Object.keys(NOT_TENANT_DATA)]);
  const rules = routeRules(th.hub.app);
  expect(rules.length).toBeGreaterThan(30);
  expect(rules.map((r) => `${r.method} ${r.path}`).filter((r) => !covered.has(r))).toEqual([]);

  // An admin of another tenant: 404 (or the 400 of a create naming a foreign id), never data.
  const intruderKey = await th.keyForTenant('iso-intruder');
  for (const c of byId) {
    const response = await th.api<{ error?: { code: string } }>(c.method, c.path, c.body, intruderKey);
    expect([c.route, (c.status ?? [404]).includes(response.status) ? 'refused' : response.status]).toEqual([c.route, 'refused']);
    if (response.status === 404) expect([c.route, response.body.error?.code]).toEqual([c.route, expect.stringMatching(/_not_found$/)]);
    const text = JSON.stringify(response.body);
    for (const value of ownerData) expect([c.route, text.includes(value)]).toEqual([c.route, false]);
  }
  for (const c of dryRuns) {
    const response = await th.api<{ subscriptions: unknown[] }>('POST', c.path, c.body, intruderKey);
    expect([c.route, response.status, response.body.subscriptions]).toEqual([c.route, 200, []]);
    const text = JSON.stringify(response.body);
    for (const value of [ownerSecret, subId, doomedId, integrationId, `${receiver.url}/owner`, 'owner-SECRET-1']) expect([c.route, text.includes(value)]).toEqual([c.route, false]);
  }
  for (const c of lists) {
    const response = await th.api<{ data: unknown[] }>('GET', c.path, undefined, intruderKey);
    expect([c.path, response.status]).toEqual([c.path, 200]);
    // The intruder's own key (and its own audit rows) may be listed; nothing of the owner's.
    const text = JSON.stringify(response.body);
    for (const value of [...ownerData, subId, doomedId, connectionId, integrationId, ownerApiKeyId, deadLetterId, zapId, eventId, tunnelId]) expect([c.path, text.includes(value)]).toEqual([c.path, false]);
  }

  // Analytics count only the caller's own deliveries: the owner's are there for the owner, none for the intruder.
  const counted = async (key: string, path: string): Promise<number> => (((await th.api<Json>('GET', path, undefined, key)).body['totals'] as Json)['attempts'] as number);
  await waitUntil(async () => (await counted(ownerKey, `/v1/analytics/deliveries?subscriptionId=${subId}`)) > 0);
  expect(await counted(intruderKey, `/v1/analytics/deliveries?subscriptionId=${subId}`)).toBe(0);
  expect(await counted(intruderKey, '/v1/analytics/deliveries?interval=day')).toBe(0);
  expect((await th.api<Json>('GET', '/v1/analytics/sla', undefined, intruderKey)).body).toMatchObject({ tenant: { settled: 0 }, data: [] });
  // Backlogs too: the owner's dead letter is the owner's; the intruder's admin key sees no broker depths.
  expect((await owner('GET', '/v1/analytics/queues')).body).toMatchObject({ tenant: { deadLetters: { total: 1 } } });
  expect((await th.api<Json>('GET', '/v1/analytics/queues', undefined, intruderKey)).body).toEqual({ tenant: { waitingForRetry: 0, pausedByQuota: 0, deadLetters: { total: 0, byReason: {} } } });

  // Keys of the other tenant without the route's scope: 403 before anything is looked up.
  const scoped = new Map<ApiScope, string>();
  for (const scope of ['subscriptions:read', 'subscriptions:write', 'events:publish', 'deliveries:read', 'connections:write'] as const) {
    const made = await th.api('POST', '/v1/api-keys', { name: scope, scopes: [scope] }, intruderKey);
    scoped.set(scope, String(made.body['key']));
  }
  const without = (scope: RouteScope): string => [...scoped.entries()].find(([s]) => s !== scope)![1];
  for (const c of [...byId.map((b) => ({ ...b })), ...lists.map((l) => ({ route: l.route, method: 'GET', path: l.path, body: undefined }))]) {
    const rule = rules.find((r) => `${r.method} ${r.path}` === c.route)!;
    const response = await th.api<{ error?: { code: string; details: unknown } }>(c.method, c.path, c.body, without(rule.scope));
    expect([c.route, response.status, response.body.error?.code, response.body.error?.details]).toEqual([c.route, 403, 'insufficient_scope', { required: rule.scope }]);
  }

  // No tenant makes itself an operator.
  const operatorKey = await th.api<{ error?: { code: string } }>('POST', '/v1/api-keys', { name: 'op', scopes: ['operator'] }, intruderKey);
  expect([operatorKey.status, operatorKey.body.error?.code]).toEqual([400, 'validation_failed']);

  // The owner still has everything.
  expect((await owner('GET', `/v1/subscriptions/${subId}`)).body).toMatchObject({ id: subId, active: true });
  expect((await owner('GET', `/v1/subscriptions/${zapId}`)).status).toBe(200);
  expect((await owner('GET', '/v1/settings')).body).toMatchObject({ oauth: { redirectOrigins: ['https://owner-app.example.com'] } });
  expect((await owner('GET', `/v1/connections/${connectionId}`)).status).toBe(200);
  expect((await owner('GET', `/v1/integrations/${integrationId}`)).body).toMatchObject({ active: true });
  expect(((await owner('GET', '/v1/api-keys')).body['data'] as Json[]).find((k) => k['id'] === ownerApiKeyId)).toMatchObject({ revokedAt: null });
  expect((await owner('GET', '/v1/tunnels')).body['data']).toEqual([expect.objectContaining({ id: tunnelId, connected: true })]);
  tunnelSocket.close();
});
