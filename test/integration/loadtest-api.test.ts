import { verifyWebhook } from '../../src/verify';
import { listenLocal } from '../support/local-server';
import { waitUntil } from '../support/receiver';
import type { LocalServer } from '../support/local-server';
import { hubPerFile } from '../support/test-hub';

// POST /v1/subscriptions/:id/loadtest through the hub's own sender. Asserts what the endpoint
// received and what the hub reports and keeps, never how fast the hub itself is.

const shared = hubPerFile();
const { tenant } = shared;
const servers: LocalServer[] = [];

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function endpoint(secret: () => string): Promise<{ url: string; verified: () => number; headers: () => Array<Record<string, unknown>> }> {
  let verified = 0;
  const seen: Array<Record<string, unknown>> = [];
  const server = await listenLocal((req, body, res) => {
    try {
      verifyWebhook(body, req.headers as Record<string, string>, secret());
      verified += 1;
      seen.push(req.headers);
      res.writeHead(204).end();
    } catch {
      res.writeHead(401).end();
    }
  });
  servers.push(server);
  return { url: `${server.url}/hook`, verified: () => verified, headers: () => seen };
}

describe('POST /v1/subscriptions/:id/loadtest', () => {
  it('sends signed sample events at the rate to the tenant\'s own endpoint, keeps the result and lists it; audited', async () => {
    const api = await tenant();
    let secret = '';
    const ep = await endpoint(() => secret);
    const sub = await api('POST', '/v1/subscriptions', { endpointUrl: ep.url, events: ['business.created'], headers: { 'X-Team': 'directory' } });
    secret = String(sub.body['secret']);
    const id = String(sub.body['id']);

    const ran = await api('POST', `/v1/subscriptions/${id}/loadtest`, { rate: 20, seconds: 2 });
    expect(ran.status).toBe(201);
    const result = ran.body['result'] as { total: { sent: number; statuses: Record<string, number>; errors: Record<string, number> }; recommendation: { requestsPerSecond: number } };
    expect(ran.body).toMatchObject({ id: expect.stringMatching(/^lt_/), subscriptionId: id, rate: 20, seconds: 2 });
    expect(result.total).toMatchObject({ sent: 40, statuses: { '204': 40 }, errors: {} });
    expect(ep.verified()).toBe(40);
    expect(ep.headers()[0]).toMatchObject({ 'x-team': 'directory' });
    expect(result.recommendation.requestsPerSecond).toBe(16);

    const listed = await api('GET', `/v1/subscriptions/${id}/loadtests`);
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual({ data: [ran.body], nextCursor: null });

    // The audit trail is written beside the answer, not before it: wait for the entry, then count it.
    let entries: Array<Record<string, unknown>> = [];
    await waitUntil(async () => (entries = (await api('GET', '/v1/audit-log?action=subscription.loadtest')).body['data'] as Array<Record<string, unknown>>).length > 0);
    expect(entries).toHaveLength(1);
  });

  it('refuses rates over HOOKHUB_LOADTEST_MAX_RATE, over 60 s, others\' subscriptions and read-only keys', async () => {
    const api = await tenant();
    const ep = await endpoint(() => 'whsec_AAAA');
    const id = String((await api('POST', '/v1/subscriptions', { endpointUrl: ep.url, events: ['business.created'] })).body['id']);

    const tooFast = await api('POST', `/v1/subscriptions/${id}/loadtest`, { rate: 201, seconds: 1 });
    expect(tooFast.status).toBe(400);
    expect(tooFast.body['error']).toMatchObject({ code: 'validation_failed', details: [{ path: '/rate', message: 'must be a whole number from 1 to 200' }] });
    const tooLong = await api('POST', `/v1/subscriptions/${id}/loadtest`, { rate: 1, seconds: 61 });
    expect((tooLong.body['error'] as { details: unknown }).details).toEqual([{ path: '/seconds', message: 'must be a whole number from 1 to 60' }]);

    const other = await tenant();
    expect((await other('POST', `/v1/subscriptions/${id}/loadtest`, { rate: 1, seconds: 1 })).status).toBe(404);
    expect((await other('GET', `/v1/subscriptions/${id}/loadtests`)).status).toBe(404);

    const readOnly = String((await api('POST', '/v1/api-keys', { name: 'read only', scopes: ['subscriptions:read'] })).body['key']);
    const refused = await shared.th.api('POST', `/v1/subscriptions/${id}/loadtest`, { rate: 1, seconds: 1 }, readOnly);
    expect(refused.status).toBe(403);
    expect((await shared.th.api('GET', `/v1/subscriptions/${id}/loadtests`, undefined, readOnly)).status).toBe(200);
    expect(ep.verified()).toBe(0);
  });

  it('goes through the hub\'s network guard: an endpoint outside the subscription\'s allowedIps gets nothing', async () => {
    const api = await tenant();
    const ep = await endpoint(() => 'whsec_AAAA');
    const sub = await api('POST', '/v1/subscriptions', { endpointUrl: ep.url, events: ['business.created'], allowedIps: ['203.0.113.0/24'] });
    const ran = await api('POST', `/v1/subscriptions/${String(sub.body['id'])}/loadtest`, { rate: 5, seconds: 1 });
    expect(ran.status).toBe(201);
    const total = (ran.body['result'] as { total: { statuses: Record<string, number>; errors: Record<string, number> } }).total;
    expect(total.statuses).toEqual({});
    expect(Object.values(total.errors).reduce((a, b) => a + b, 0)).toBe(5);
    expect(ep.verified()).toBe(0);
  });
});
