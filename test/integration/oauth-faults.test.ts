import { randomBytes } from 'node:crypto';
import type { PipedriveEmulator } from '../support/emulators/pipedrive';
import { startPipedriveHub } from '../support/pipedrive-hub';
import type { PipedriveHub } from '../support/pipedrive-hub';
import type { OAuthServer } from '../support/oauth/oauth-server';
import { startReceiver, waitUntil } from '../support/receiver';
import type { Receiver } from '../support/receiver';
import { businessCreated, tenantApi, waitForAttempts } from '../support/test-hub';
import type { TenantApi, TestHub } from '../support/test-hub';

/**
 * Account links under faults and attack, against the local OAuth server over real HTTP: the token
 * endpoint failing (an outage, refused app credentials) through the real pipeline, and the linking
 * pages probed as a link scanner, a provider refusal or an attacker would.
 */
type Json = Record<string, unknown>;

let hub: PipedriveHub;
let oauth: OAuthServer;
let pipedrive: PipedriveEmulator;
let receiver: Receiver;
let th: TestHub;

beforeAll(async () => {
  [hub, receiver] = await Promise.all([startPipedriveHub({ env: { HOOKHUB_OAUTH_REDIRECT_ORIGINS: 'https://app.example.com' } }), startReceiver()]);
  ({ oauth, pipedrive, th } = hub);
});

afterAll(async () => {
  await oauth?.setTokenFault(null);
  await Promise.all([hub?.stop(), receiver?.close()]);
});

/** The browser opens the link Hookhub gave: it gets the flow's cookie and the provider's URL. */
async function open(api: TenantApi, body: Json = {}): Promise<{ authorizationUrl: string; cookie: string; providerUrl: string; start: Response }> {
  const authorize = await api('POST', '/v1/connections/authorize', { connector: 'pipedrive', ...body });
  expect(authorize.status).toBe(201);
  const authorizationUrl = String(authorize.body['authorizationUrl']);
  const start = await fetch(authorizationUrl, { redirect: 'manual' });
  expect(start.status).toBe(302);
  return { authorizationUrl, cookie: (start.headers.get('set-cookie') ?? '').split(';')[0] ?? '', providerUrl: start.headers.get('location') ?? '', start };
}

/** The whole linking flow, as a person in a browser goes through it. */
async function link(api: TenantApi): Promise<string> {
  const { cookie, providerUrl } = await open(api);
  const { redirectedTo } = await oauth.authorize(providerUrl);
  const done = await fetch(redirectedTo, { headers: { cookie, accept: 'application/json' } });
  const body = (await done.json()) as Json;
  expect(body).toMatchObject({ status: 'linked' });
  return String(body['connection']);
}

/** A linked Pipedrive account whose access token has expired (in the hub's view), with an integration retrying every second or two. */
async function expiredLink(api: TenantApi): Promise<{ conId: string; intId: string }> {
  const conId = await link(api);
  const created = await api('POST', '/v1/integrations', {
    connection: conId,
    events: ['business.created'],
    retryConfig: { maxRetries: 8, initialDelaySeconds: 1, backoffMultiplier: 2, maxBackoffSeconds: 2 },
  });
  expect(created.status).toBe(201);
  const loaded = (await th.hub.connections.reload(conId))!;
  await th.hub.vault.save(loaded.record, { ...loaded.context.credentials, expires_at: new Date(Date.now() - 60_000).toISOString() });
  return { conId, intId: String(created.body['id']) };
}

const bizIds = (n: number): string[] => Array.from({ length: n }, () => `biz_${randomBytes(4).toString('hex')}`);
const delivered = (ids: string[]): boolean => ids.every((id) => pipedrive.leads.some((l) => l.title.includes(id)));

describe('the token endpoint fails', () => {
  it('an outage (503) costs a few token requests, not one per event: each delivery records a failed attempt and is retried on its schedule until the endpoint is back', async () => {
    const api = await tenantApi(th);
    const { conId, intId } = await expiredLink(api);
    await oauth.setTokenFault({ status: 503, body: 'Service Unavailable', headers: { 'content-type': 'text/plain' } });
    const before = await oauth.tokenRequests();
    const ids = bizIds(30);
    const startedAt = Date.now();
    await Promise.all(ids.map((id) => api('POST', '/v1/events', businessCreated({}, { id, name: `Outage ${id}` }))));
    // Each of the 30 deliveries has its first attempt recorded as a retryable failure.
    let firsts: Json[] = [];
    await waitUntil(async () => {
      firsts = (await waitForAttempts(api, intId, 30)).filter((a) => a['attempt'] === 1);
      return firsts.length >= 30;
    });
    for (const attempt of firsts) expect(attempt).toMatchObject({ status: 'failed', next: 'retry', error: expect.stringContaining('could not be refreshed (http_503') });
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, startedAt + 10_000 - Date.now())));
    // Ten seconds of outage with 30 events and their retries: backing off from 2 s, at most a handful of refreshes.
    const during = (await oauth.tokenRequests()) - before;
    expect(during).toBeGreaterThanOrEqual(1);
    expect(during).toBeLessThanOrEqual(5);
    expect((await api('GET', `/v1/dead-letters?subscriptionId=${intId}`)).body['data']).toEqual([]);
    expect((await api('GET', `/v1/connections/${conId}`)).body['status']).toBe('active');

    await oauth.setTokenFault(null);
    await waitUntil(() => delivered(ids), 60_000, () => `delivered ${ids.filter((id) => pipedrive.leads.some((l) => l.title.includes(id))).length} of 30`);
  }, 90_000);

  it('linking again after an outage starts afresh: the refresh backoff of the old grant is forgotten', async () => {
    const api = await tenantApi(th);
    const { conId, intId } = await expiredLink(api);
    await oauth.setTokenFault({ status: 503, body: 'Service Unavailable', headers: { 'content-type': 'text/plain' } });
    try {
      await api('POST', '/v1/events', businessCreated({}, { id: bizIds(1)[0] }));
      await waitForAttempts(api, intId, 1);
      expect((await th.hub.connections.reload(conId))?.record.refreshBackoff).toMatchObject({ failures: 1 });
    } finally {
      await oauth.setTokenFault(null);
    }
    const started = await open(api, { connectionId: conId });
    const { redirectedTo } = await oauth.authorize(started.providerUrl);
    expect(await (await fetch(redirectedTo, { headers: { cookie: started.cookie, accept: 'application/json' } })).json()).toMatchObject({ status: 'linked' });
    expect((await th.hub.connections.reload(conId))?.record.refreshBackoff).toBeUndefined();
  });

  it('refused app credentials (invalid_client) alert operators and keep the link: /readyz says what to fix, the tenant hears nothing is asked of it, and deliveries resume once the credentials work', async () => {
    const api = await tenantApi(th);
    const { conId, intId } = await expiredLink(api);
    const alerts = await api('POST', '/v1/subscriptions', { endpointUrl: `${receiver.url}/app-credentials/${conId}`, events: ['connection.app_credentials_failed', 'connection.needs_reauth'] });
    expect(alerts.status).toBe(201);
    await oauth.setTokenFault({ status: 401, body: { error: 'invalid_client', error_description: 'client authentication failed' } });
    const [id] = bizIds(1) as [string];
    await api('POST', '/v1/events', businessCreated({}, { id, name: `Secret ${id}` }));

    const [attempt] = await waitForAttempts(api, intId, 1);
    expect(String(attempt?.['error'])).toContain('invalid_client');
    const ready = await fetch(`${th.hub.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'ready',
      oauthApps: [{ connector: 'pipedrive', reason: expect.stringContaining('invalid_client'), since: expect.any(String), fix: expect.stringContaining('HOOKHUB_PIPEDRIVE_CLIENT_SECRET') }],
    });
    await waitUntil(() => receiver.requests.some((r) => r.path === `/app-credentials/${conId}`));
    const told = receiver.requests.filter((r) => r.path === `/app-credentials/${conId}`);
    expect(told.map((r) => (r.json as Json)['type'])).toEqual(['connection.app_credentials_failed']);
    expect((told[0]?.json as Json)['data']).toMatchObject({ connection_id: conId, connector: 'pipedrive', reason: expect.stringContaining('invalid_client') });
    // The link is not the tenant's problem: it stays active and nothing is parked.
    expect((await api('GET', `/v1/connections/${conId}`)).body).toMatchObject({ status: 'active' });
    expect((await api('GET', `/v1/dead-letters?subscriptionId=${intId}`)).body['data']).toEqual([]);

    // The operator fixes the secret: the next retry refreshes, delivers, and /readyz is clear again.
    await oauth.setTokenFault(null);
    await waitUntil(() => delivered([id]), 30_000);
    expect(await (await fetch(`${th.hub.url}/readyz`)).json()).not.toHaveProperty('oauthApps');
    expect(receiver.requests.filter((r) => r.path === `/app-credentials/${conId}`)).toHaveLength(1);
  }, 60_000);
});

describe('the linking pages', () => {
  const securityHeaders = {
    'content-security-policy': expect.stringContaining("frame-ancestors 'none'"),
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  };
  const headersOf = (answer: Response): Record<string, string> => Object.fromEntries(answer.headers.entries());

  it('a HEAD of the link (a link scanner, a chat preview) does not use it up: only the GET of the person claims it', async () => {
    const api = await tenantApi(th);
    const authorize = await api('POST', '/v1/connections/authorize', { connector: 'pipedrive' });
    const url = String(authorize.body['authorizationUrl']);
    const head = await fetch(url, { method: 'HEAD', redirect: 'manual' });
    expect(head.status).toBe(200);
    expect(head.headers.get('set-cookie')).toBeNull();
    const get = await fetch(url, { redirect: 'manual' });
    expect(get.status).toBe(302);
    expect(headersOf(get)).toMatchObject(securityHeaders);
    expect((await fetch(url, { method: 'HEAD', redirect: 'manual' })).status).toBe(410);
  });

  it('a callback without a code (the person refused) shows what happened and keeps the flow, which can still finish', async () => {
    const api = await tenantApi(th);
    const started = await open(api);
    const { redirectedTo } = await oauth.authorize(started.providerUrl);
    const refused = new URL(redirectedTo);
    refused.searchParams.delete('code');
    refused.searchParams.set('error', 'access_denied');
    refused.searchParams.set('error_description', 'The user denied <b>access</b>');
    const page = await fetch(refused, { headers: { cookie: started.cookie, accept: 'text/html' } });
    expect(page.status).toBe(400);
    expect(headersOf(page)).toMatchObject(securityHeaders);
    const html = await page.text();
    expect(html).toContain('Linking failed');
    expect(html).toContain('access_denied');
    expect(html).not.toContain('<b>');
    refused.searchParams.delete('error');
    refused.searchParams.delete('error_description');
    const bare = await fetch(refused, { headers: { cookie: started.cookie, accept: 'application/json' } });
    expect(bare.status).toBe(400);
    expect(await bare.json()).toMatchObject({ error: { code: 'oauth_code_missing', message: expect.stringContaining('without an authorization code') } });
    // The state was not used up: the real answer of the provider still links the account.
    const done = await fetch(redirectedTo, { headers: { cookie: started.cookie, accept: 'application/json' } });
    expect(headersOf(done)).toMatchObject(securityHeaders);
    expect(await done.json()).toMatchObject({ status: 'linked', connector: 'pipedrive' });
  });

  it('redirectAfter goes only to the allowed origins and is at most 2,048 characters', async () => {
    const api = await tenantApi(th);
    const foreign = await api('POST', '/v1/connections/authorize', { connector: 'pipedrive', redirectAfter: 'https://evil.example.net/steal' });
    expect(foreign.status).toBe(400);
    expect(foreign.body).toMatchObject({ error: { message: expect.stringContaining('https://app.example.com') } });
    const long = await api('POST', '/v1/connections/authorize', { connector: 'pipedrive', redirectAfter: `https://app.example.com/?x=${'a'.repeat(100_000)}` });
    expect(long.status).toBe(400);
    expect(long.body).toMatchObject({ error: { message: expect.stringContaining('at most 2048') } });
    const started = await open(api, { redirectAfter: 'https://app.example.com/integrations?tab=crm' });
    const { redirectedTo } = await oauth.authorize(started.providerUrl);
    const back = await fetch(redirectedTo, { headers: { cookie: started.cookie }, redirect: 'manual' });
    expect(back.status).toBe(302);
    expect(new URL(back.headers.get('location') ?? '').origin).toBe('https://app.example.com');
  });

  it('shows the linked provider account on the connection, and audits the link and the relink with it under the key that started them', async () => {
    const api = await tenantApi(th);
    // The token response names the account (as Salesforce's identity URL does) and its API's domain.
    await oauth.setExtraTokenFields('pd-app', { api_domain: pipedrive.url, id: 'https://login.example.com/id/00Dorg1/005user1' });
    try {
      const conId = await link(api);
      const account = { id: '00Dorg1/005user1', name: new URL(pipedrive.url).host };
      expect((await api('GET', `/v1/connections/${conId}`)).body).toMatchObject({ metadata: { provider_account: account } });
      const started = await open(api, { connectionId: conId });
      const { redirectedTo } = await oauth.authorize(started.providerUrl);
      expect(await (await fetch(redirectedTo, { headers: { cookie: started.cookie, accept: 'application/json' } })).json()).toMatchObject({ status: 'linked' });
      let entries: Json[] = [];
      await waitUntil(async () => {
        entries = (await api('GET', `/v1/audit-log?resourceId=${conId}`)).body['data'] as Json[];
        return entries.some((e) => e['action'] === 'connection.relink');
      });
      const details = { providerAccountId: account.id, providerAccountName: account.name };
      expect(entries.find((e) => e['action'] === 'connection.link')).toMatchObject({ resourceType: 'connection', resourceId: conId, details, apiKey: { id: expect.stringMatching(/^key_/) } });
      expect(entries.find((e) => e['action'] === 'connection.relink')).toMatchObject({ resourceId: conId, details });
    } finally {
      await oauth.setExtraTokenFields('pd-app', { api_domain: pipedrive.url });
    }
  });
});
