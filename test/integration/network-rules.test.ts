import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { randomBytes } from 'node:crypto';
import { makeTestPki } from '../support/certificates';
import type { TestPki } from '../support/certificates';
import { startReceiver, waitUntil } from '../support/receiver';
import type { Receiver } from '../support/receiver';
import { businessCreated, startTestHub, tenantApi } from '../support/test-hub';
import type { ApiResponse, TestHub, TenantApi } from '../support/test-hub';

type Json = Record<string, unknown>;
type Api = (method: string, path: string, body?: unknown) => Promise<ApiResponse<Json>>;

let th: TestHub;
let second: TestHub;
let receiver: Receiver;
let pki: TestPki;
let mtls: { url: string; seen: Array<{ cn: string | null; path: string }>; close(): Promise<void> };

beforeAll(async () => {
  pki = makeTestPki();
  th = await startTestHub({ env: { HOOKHUB_EGRESS_IPS: '203.0.113.7, 2001:db8::/64' } });
  // A second worker process's view: same queues and database, its own consumers and connections.
  second = await startTestHub({ reuse: { prefix: th.prefix, database: th.database, encryptionKey: th.env['HOOKHUB_ENCRYPTION_KEY'] as string }, env: { HOOKHUB_ROLES: 'worker' } });
  receiver = await startReceiver();
  const seen: Array<{ cn: string | null; path: string }> = [];
  const server = https.createServer({ cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    const peer = (req.socket as TLSSocket).getPeerCertificate();
    seen.push({ cn: typeof peer.subject?.CN === 'string' ? peer.subject.CN : null, path: req.url ?? '' });
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  mtls = { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
});

afterAll(async () => {
  await second?.stop();
  await th?.destroy();
  await Promise.all([receiver?.close(), mtls?.close()]);
});

const tenant = (): Promise<TenantApi> => tenantApi(th);

async function deadLetters(api: Api, subscriptionId: string): Promise<Json[]> {
  let dead: Json[] = [];
  await waitUntil(async () => {
    dead = (await api('GET', `/v1/dead-letters?subscriptionId=${subscriptionId}`)).body['data'] as Json[];
    return dead.length > 0;
  });
  return dead;
}

describe('allowedIps', () => {
  it('delivers only to addresses inside the ranges, checked when connecting', async () => {
    const api = await tenant();
    const inside = await api('POST', '/v1/subscriptions', { endpointUrl: `${receiver.url}/inside`, events: ['business.created'], allowedIps: ['127.0.0.0/8'] });
    const outside = await api('POST', '/v1/subscriptions', { endpointUrl: `${receiver.url.replace('127.0.0.1', 'localhost')}/outside`, events: ['business.created'], allowedIps: ['203.0.113.0/24', '2001:db8::/32'] });
    expect([inside.status, outside.status]).toEqual([201, 201]);
    expect(outside.body['allowedIps']).toEqual(['203.0.113.0/24', '2001:db8::/32']);
    await api('POST', '/v1/events', businessCreated());
    await waitUntil(() => receiver.requests.some((r) => r.path === '/inside'));
    const [dead] = await deadLetters(api, String(outside.body['id']));
    expect(dead).toMatchObject({ reason: 'permanent_failure', attempts: 1, lastStatus: null, lastError: expect.stringContaining("outside the subscription's allowedIps") });
    expect(receiver.requests.some((r) => r.path === '/outside')).toBe(false);
  });

  it('refuses ranges that are not IP addresses or CIDRs', async () => {
    const api = await tenant();
    const bad = await api('POST', '/v1/subscriptions', { endpointUrl: `${receiver.url}/x`, events: ['*'], allowedIps: ['10.0.0.0/33', 'example.com'] });
    expect(bad.status).toBe(400);
    expect((bad.body['error'] as { details: Array<{ path: string }> }).details.map((d) => d.path)).toEqual(['/allowedIps/0', '/allowedIps/1']);
  });
});

describe('mutual TLS', () => {
  it('presents the subscription client certificate, verifies the server against the given CA, and never shows the key', async () => {
    const api = await tenant();
    const created = await api('POST', '/v1/subscriptions', {
      endpointUrl: `${mtls.url}/mtls`,
      events: ['business.created'],
      tls: { clientCertificate: pki.clientCert, clientKey: pki.clientKey, ca: pki.caCert },
    });
    expect(created.status).toBe(201);
    expect(JSON.stringify(created.body)).not.toContain('PRIVATE KEY');
    expect(created.body['tls']).toEqual({ clientCertificate: 'configured' });
    const without = await api('POST', '/v1/subscriptions', { endpointUrl: `${mtls.url}/no-cert`, events: ['business.created'], retryConfig: { maxRetries: 0 } });
    await api('POST', '/v1/events', businessCreated());
    await waitUntil(() => mtls.seen.some((s) => s.path === '/mtls'));
    expect(mtls.seen.find((s) => s.path === '/mtls')?.cn).toBe('hookhub-delivery');
    // Without the CA the server's certificate is not trusted; without a client certificate the server refuses: no delivery.
    const [dead] = await deadLetters(api, String(without.body['id']));
    expect(dead).toMatchObject({ lastStatus: null });
    expect(mtls.seen.some((s) => s.path === '/no-cert')).toBe(false);
    const view = await api('GET', `/v1/subscriptions/${String(created.body['id'])}`);
    expect(JSON.stringify(view.body)).not.toContain('PRIVATE KEY');
  });

  it('refuses a key that does not belong to the certificate', async () => {
    const api = await tenant();
    const bad = await api('POST', '/v1/subscriptions', { endpointUrl: `${mtls.url}/x`, events: ['*'], tls: { clientCertificate: pki.clientCert, clientKey: pki.strangerKey } });
    expect(bad.body).toMatchObject({ error: { details: [{ path: '/tls/clientKey', message: 'does not belong to the client certificate' }] } });
  });
});

describe('rate limits per subscription', () => {
  it('keeps deliveries to an endpoint within its rate across two worker processes, queueing the excess', async () => {
    const api = await tenant();
    const path = `/rated-${randomBytes(3).toString('hex')}`;
    const created = await api('POST', '/v1/subscriptions', { endpointUrl: `${receiver.url}${path}`, events: ['business.created'], rateLimit: { requestsPerSecond: 2 } });
    expect(created.body['rateLimit']).toEqual({ requestsPerSecond: 2 });
    for (let i = 0; i < 10; i++) await api('POST', '/v1/events', businessCreated());
    await waitUntil(() => receiver.requests.filter((r) => r.path === path).length === 10, 30_000);
    const times = receiver.requests.filter((r) => r.path === path).map((r) => r.at).sort((a, b) => a - b);
    // About 2 a second: never more than 5 in any 2 seconds (the rate, plus one for delivery jitter).
    for (let i = 0; i + 5 < times.length; i++) expect((times[i + 5] as number) - (times[i] as number)).toBeGreaterThanOrEqual(2000);
    expect((times[9] as number) - (times[0] as number)).toBeGreaterThanOrEqual(3900);
    // Every delivery went out once, nothing failed or was dropped.
    await waitUntil(async () => ((await api('GET', `/v1/deliveries?subscriptionId=${String(created.body['id'])}&limit=50`)).body['data'] as Json[]).length >= 10);
    const attempts = (await api('GET', `/v1/deliveries?subscriptionId=${String(created.body['id'])}&limit=50`)).body['data'] as Json[];
    expect(attempts.map((a) => a['status'])).toEqual(Array(10).fill('succeeded'));
  });
});

describe('egress addresses', () => {
  it('lists the addresses deliveries come from', async () => {
    const api = await tenant();
    const answer = await api('GET', '/v1/meta/egress-ips');
    expect(answer.body).toMatchObject({ data: ['203.0.113.7', '2001:db8::/64'], note: expect.stringContaining('firewall') });
  });
});
