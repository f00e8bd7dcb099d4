import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { sha256Hex } from '../../src/core/ids';
import { startReceiver, waitUntil } from '../support/receiver';
import type { Receiver } from '../support/receiver';
import { HubSpotEmulator } from '../support/emulators/hubspot';
import { PipedriveEmulator } from '../support/emulators/pipedrive';
import { SalesforceEmulator } from '../support/emulators/salesforce';
import { startOAuthServer } from '../support/oauth/oauth-server';
import type { OAuthServer } from '../support/oauth/oauth-server';
import { businessCreated, startTestHub, tenantApi, waitForAttempts } from '../support/test-hub';
import type { ApiResponse, TestHub, TenantApi } from '../support/test-hub';
import { freePort } from '../support/local-server';

type Json = Record<string, unknown>;
type Api = (method: string, path: string, body?: unknown) => Promise<ApiResponse<Json>>;

/** A worker process for the refresh race (test/support/refresh-worker.ts): ready once it has loaded the connection, then started at a given time. */
function racer(conId: string, env: NodeJS.ProcessEnv): { ready: Promise<void>; start(at: number): void; token: Promise<string> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/refresh-worker.ts', conId], { cwd: ROOT, env: { ...env, PATH: process.env['PATH'] ?? '' }, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const ready = new Promise<void>((resolve, reject) => {
    lines.once('line', (line) => (line === 'ready' ? resolve() : reject(new Error(`worker said ${line}`))));
    child.once('exit', (code) => reject(new Error(`worker exited with ${code} before it was ready`)));
  });
  const token = ready.then(
    () =>
      new Promise<string>((resolve, reject) => {
        lines.once('line', resolve);
        child.once('exit', (code) => reject(new Error(`worker exited with ${code} without a token`)));
      }),
  );
  return { ready, start: (at) => child.stdin.end(`${at}\n`), token };
}
const ROOT = path.resolve(__dirname, '../..');
let oauth: OAuthServer;
let salesforce: SalesforceEmulator;
let hubspot: HubSpotEmulator;
let pipedrive: PipedriveEmulator;
let th: TestHub;
let receiver: Receiver;
let tokenProxy: { url: string; refreshes: number; close(): Promise<void> };

/** Forwards token requests to the authorization server and counts refresh grants. */
async function startTokenProxy(target: string): Promise<typeof tokenProxy> {
  const state = { refreshes: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      if (new URLSearchParams(body).get('grant_type') === 'refresh_token') state.refreshes++;
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host' && k !== 'content-length') headers[k] = v;
      void fetch(target, { method: 'POST', headers, body }).then(async (answer) => {
        res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
        res.end(await answer.text());
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`,
    get refreshes() {
      return state.refreshes;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

beforeAll(async () => {
  const port = await freePort();
  const hubUrl = `http://127.0.0.1:${port}`;
  const redirect = (name: string): string[] => [`${hubUrl}/oauth/callback/${name}`];
  oauth = await startOAuthServer({
    accessTokenTtlSeconds: 3600,
    clients: [
      { client_id: 'sf-app', client_secret: 'sf-secret', redirect_uris: redirect('salesforce'), token_endpoint_auth_method: 'client_secret_post' },
      { client_id: 'hs-app', client_secret: 'hs-secret', redirect_uris: redirect('hubspot'), token_endpoint_auth_method: 'client_secret_post' },
      { client_id: 'pd-app', client_secret: 'pd-secret', redirect_uris: redirect('pipedrive'), token_endpoint_auth_method: 'client_secret_basic', default_scope: 'base contacts:full leads:full' },
    ],
  });
  const rs = oauth.resourceServer;
  [salesforce, hubspot, pipedrive, receiver, tokenProxy] = await Promise.all([
    SalesforceEmulator.start(rs, { acceptClientIds: ['sf-app'], introspectionCacheMs: 0, externalIdFields: { Lead: ['Directory_Business_Id__c'] } }),
    HubSpotEmulator.start(rs, { acceptClientIds: ['hs-app'], introspectionCacheMs: 0, uniqueProperties: ['directory_business_id'] }),
    PipedriveEmulator.start(rs, { acceptClientIds: ['pd-app'], introspectionCacheMs: 0 }),
    startReceiver(),
    startTokenProxy(oauth.tokenUrl),
  ]);
  await oauth.setExtraTokenFields('sf-app', { instance_url: salesforce.url });
  await oauth.setExtraTokenFields('pd-app', { api_domain: pipedrive.url });
  const app = (name: string, id: string, secret: string): Record<string, string> => ({
    [`HOOKHUB_${name}_CLIENT_ID`]: id,
    [`HOOKHUB_${name}_CLIENT_SECRET`]: secret,
    [`HOOKHUB_${name}_AUTHORIZATION_URL`]: oauth.authorizationUrl,
    [`HOOKHUB_${name}_TOKEN_URL`]: tokenProxy.url,
  });
  th = await startTestHub({
    env: {
      PORT: String(port),
      HOOKHUB_PUBLIC_URL: hubUrl,
      ...app('SALESFORCE', 'sf-app', 'sf-secret'),
      ...app('HUBSPOT', 'hs-app', 'hs-secret'),
      ...app('PIPEDRIVE', 'pd-app', 'pd-secret'),
      HOOKHUB_HUBSPOT_BASE_URL: hubspot.url,
    },
  });
});

afterAll(async () => {
  await th?.destroy();
  await Promise.all([salesforce?.close(), hubspot?.close(), pipedrive?.close(), receiver?.close(), tokenProxy?.close()]);
  await oauth?.stop();
});

const tenant = (): Promise<TenantApi> => tenantApi(th);

interface Started {
  state: string;
  cookie: string;
  providerUrl: string;
}

/** The end user's browser opens the link Hookhub gave: it gets the flow's cookie and goes to the provider. */
async function open(api: Api, body: Json): Promise<Started> {
  const authorize = await api('POST', '/v1/connections/authorize', body);
  expect(authorize.status).toBe(201);
  const start = await fetch(String(authorize.body['authorizationUrl']), { redirect: 'manual' });
  expect(start.status).toBe(302);
  return {
    state: String(authorize.body['state']),
    cookie: (start.headers.get('set-cookie') ?? '').split(';')[0] ?? '',
    providerUrl: start.headers.get('location') ?? '',
  };
}

async function finish(callbackUrl: string, cookie: string): Promise<{ status: number; body: Json }> {
  const answer = await fetch(callbackUrl, { headers: { cookie, accept: 'application/json' }, redirect: 'manual' });
  const text = await answer.text();
  return { status: answer.status, body: text.startsWith('{') ? (JSON.parse(text) as Json) : { text } };
}

/** The whole linking flow, as a person in a browser would go through it. */
async function link(api: Api, connector: string, extra: Json = {}): Promise<string> {
  const started = await open(api, { connector, ...extra });
  const { redirectedTo } = await oauth.authorize(started.providerUrl);
  const done = await finish(redirectedTo, started.cookie);
  expect(done).toMatchObject({ status: 200, body: { status: 'linked', connector } });
  return String(done.body['connection']);
}


function reviewCreated(data: Json): Json {
  return { type: 'review.created', data: { id: `rev_${randomBytes(4).toString('hex')}`, rating: 2, title: 'Cold soup', content: 'It was cold.', author: { name: 'Ann', verified: true }, created_at: '2026-11-01T10:00:00Z', ...data } };
}

describe('linking an account', () => {
  it('links Salesforce with PKCE, keeps instance_url, and never shows the tokens', async () => {
    const api = await tenant();
    const started = await open(api, { connector: 'salesforce', config: { lead_source: 'Lawless Directory' } });
    const provider = new URL(started.providerUrl);
    expect(provider.searchParams.get('code_challenge_method')).toBe('S256');
    expect(provider.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(provider.searchParams.get('state')).toBe(started.state);
    const { redirectedTo } = await oauth.authorize(started.providerUrl);
    const done = await finish(redirectedTo, started.cookie);
    expect(done.status).toBe(200);
    const view = await api('GET', `/v1/connections/${String(done.body['connection'])}`);
    expect(view.body).toMatchObject({ connector: 'salesforce', status: 'active', metadata: { instance_url: salesforce.url }, config: { lead_source: 'Lawless Directory' }, tokenExpiresAt: expect.any(String) });
    const loaded = await th.hub.connections.reload(String(done.body['connection']));
    const tokens = loaded!.context.credentials;
    expect(typeof tokens['access_token']).toBe('string');
    expect(JSON.stringify(view.body)).not.toContain(String(tokens['access_token']));
    expect(JSON.stringify(view.body)).not.toContain(String(tokens['refresh_token']));
    // The state was single use.
    expect((await finish(redirectedTo, started.cookie)).status).toBe(403);
  });

  it('goes back to the app after linking when asked', async () => {
    const api = await tenant();
    const started = await open(api, { connector: 'pipedrive', redirectAfter: 'https://app.example.com/integrations?tab=crm' });
    const { redirectedTo } = await oauth.authorize(started.providerUrl);
    const answer = await fetch(redirectedTo, { headers: { cookie: started.cookie }, redirect: 'manual' });
    expect(answer.status).toBe(302);
    const back = new URL(answer.headers.get('location') ?? '');
    expect(`${back.origin}${back.pathname}`).toBe('https://app.example.com/integrations');
    expect(back.searchParams.get('status')).toBe('linked');
    expect(back.searchParams.get('connection')).toMatch(/^con_/);
  });

  it('refuses unknown, reused, other-browser and other-tenant states, and shows a provider refusal with its message', async () => {
    const alice = await tenant();
    const bob = await tenant();
    const a = await open(alice, { connector: 'hubspot' });
    const b = await open(bob, { connector: 'hubspot' });
    const { redirectedTo } = await oauth.authorize(a.providerUrl);
    // Bob's browser (with Bob's flow cookie) cannot finish Alice's authorization.
    const crossed = await finish(redirectedTo, b.cookie);
    expect(crossed).toMatchObject({ status: 403, body: { error: { code: 'oauth_state_invalid', message: expect.stringContaining('another browser or by another tenant') } } });
    expect((await finish(redirectedTo, '')).status).toBe(403);
    const unknown = new URL(redirectedTo);
    unknown.searchParams.set('state', 'made-up');
    expect(await finish(unknown.toString(), a.cookie)).toMatchObject({ status: 403, body: { error: { code: 'oauth_state_invalid' } } });
    expect((await finish(redirectedTo, a.cookie)).status).toBe(200);
    expect((await finish(redirectedTo, a.cookie)).status).toBe(403);
    // The link can be opened by one browser only.
    const opened = await alice('POST', '/v1/connections/authorize', { connector: 'hubspot' });
    await fetch(String(opened.body['authorizationUrl']), { redirect: 'manual' });
    expect((await fetch(String(opened.body['authorizationUrl']), { redirect: 'manual' })).status).toBe(409);

    const denied = await open(alice, { connector: 'hubspot' });
    const refusal = await oauth.authorize(denied.providerUrl, { deny: true });
    const shown = await finish(refusal.redirectedTo, denied.cookie);
    expect(shown).toMatchObject({ status: 400, body: { error: { code: 'oauth_provider_error', message: expect.stringContaining('access_denied') } } });
    const page = await fetch(refusal.redirectedTo, { headers: { cookie: denied.cookie, accept: 'text/html' } });
    expect(await page.text()).toContain('Linking failed');
  });

  it('refuses a state that expired before the browser came back', async () => {
    const api = await tenant();
    const started = await open(api, { connector: 'pipedrive' });
    const { redirectedTo } = await oauth.authorize(started.providerUrl);
    const state = (await th.hub.store.getOAuthState(started.state))!;
    // The same flow, opened in this browser, ten minutes later.
    const late = { ...state, id: `${state.id}late`, browserNonceHash: '', expiresAt: new Date(Date.now() - 1000) };
    await th.hub.store.insertOAuthState(late);
    await th.hub.store.claimOAuthState(late.id, sha256Hex('browser-nonce'));
    const callback = new URL(redirectedTo);
    callback.searchParams.set('state', late.id);
    expect(await finish(callback.toString(), `hh_oauth_${late.id.slice(0, 16)}=browser-nonce`)).toMatchObject({ status: 403, body: { error: { code: 'oauth_state_expired' } } });
    // The flow it was copied from is still good.
    expect((await finish(redirectedTo, started.cookie)).status).toBe(200);
  });

  it('explains what is missing before a flow starts', async () => {
    const api = await tenant();
    expect((await api('POST', '/v1/connections/authorize', { connector: 'slack' })).body).toMatchObject({ error: { code: 'validation_failed' } });
    expect((await api('POST', '/v1/connections', { connector: 'salesforce' })).body).toMatchObject({ error: { code: 'oauth_link_required' } });
    const badConfig = await api('POST', '/v1/connections/authorize', { connector: 'salesforce', config: { external_id_field: 'No spaces allowed' } });
    expect(badConfig.body).toMatchObject({ error: { details: [expect.objectContaining({ path: '/config/external_id_field' })] } });
    expect((await api('POST', '/v1/connections/authorize', { connector: 'hubspot', redirectAfter: 'javascript:alert(1)' })).status).toBe(400);
  });
});

describe('events into the CRMs', () => {
  it('Salesforce: upserts a Lead (a redelivery updates, never duplicates), updates it, and opens Cases by rating', async () => {
    const api = await tenant();
    const conId = await link(api, 'salesforce');
    const bizId = `biz_${randomBytes(4).toString('hex')}`;
    const intId = String((await api('POST', '/v1/integrations', { connection: conId, events: ['business.created', 'business.updated', 'review.created'] })).body['id']);
    await api('POST', '/v1/events', businessCreated({}, { id: bizId, name: 'Blue Door Bistro' }));
    await waitUntil(() => salesforce.leads.some((l) => l.fields['Directory_Business_Id__c'] === bizId));
    const lead = salesforce.leads.find((l) => l.fields['Directory_Business_Id__c'] === bizId)!;
    expect(lead.fields).toMatchObject({ Company: 'Blue Door Bistro', LastName: 'Blue Door Bistro', City: 'Austin', State: 'Texas', Country: 'United States', PostalCode: '78701', Website: 'https://bluedoor.example', Phone: '+1-512-555-0100', LeadSource: 'Directory API', Status: 'Open - Not Contacted' });

    await api('POST', '/v1/events', businessCreated({}, { id: bizId, name: 'Blue Door Bistro' }));
    // Events are not ordered unless a subscription asks for it: the update goes once the redelivery landed.
    await waitUntil(() => lead.updates.length >= 1);
    await api('POST', '/v1/events', { type: 'business.updated', data: { id: bizId, changes: { name: { old_value: 'Blue Door Bistro', new_value: 'Blue Door Brasserie' } }, updated_at: '2026-11-02T10:00:00Z' } });
    await waitUntil(() => lead.updates.length >= 2);
    expect(salesforce.leads.filter((l) => l.fields['Directory_Business_Id__c'] === bizId)).toHaveLength(1);
    expect(lead.updates.at(-1)).toEqual(expect.objectContaining({ Company: 'Blue Door Brasserie' }));

    await api('POST', '/v1/events', reviewCreated({ business_id: bizId, rating: 1, business_name: 'Blue Door Brasserie' }));
    await api('POST', '/v1/events', reviewCreated({ business_id: bizId, rating: 5 }));
    await waitUntil(() => salesforce.cases.filter((c) => String(c.fields['Description']).includes(bizId)).length === 2);
    const priorities = salesforce.cases.filter((c) => String(c.fields['Description']).includes(bizId)).map((c) => [c.fields['Subject'], c.fields['Priority'], c.fields['Origin']]);
    expect(priorities).toEqual(expect.arrayContaining([['New Review: Blue Door Brasserie', 'High', 'Directory API'], [`New Review: ${bizId}`, 'Low', 'Directory API']]));

    const attempts = await waitForAttempts(api, intId, 5);
    expect(attempts.find((a) => a['eventType'] === 'business.created')).toMatchObject({ status: 'succeeded', externalId: lead.id, steps: [expect.objectContaining({ action: 'upsert_lead', objectType: 'Lead' })] });
    await waitUntil(async () => {
      const stats = (await api('GET', `/v1/connections/${conId}/stats`)).body;
      return JSON.stringify(stats['totals']) === JSON.stringify({ Case: { created: 2, updated: 0, failed: 0 }, Lead: { created: 1, updated: 2, failed: 0 } });
    });
  });

  it('HubSpot: upserts the company and adds a review as a note associated with it', async () => {
    const api = await tenant();
    const conId = await link(api, 'hubspot');
    const bizId = `biz_${randomBytes(4).toString('hex')}`;
    await api('POST', '/v1/integrations', { connection: conId, events: ['business.created', 'review.created'] });
    await api('POST', '/v1/events', businessCreated({}, { id: bizId, name: 'Green Leaf Cafe' }));
    await waitUntil(() => hubspot.companies.some((c) => c.properties['directory_business_id'] === bizId));
    const company = hubspot.companies.find((c) => c.properties['directory_business_id'] === bizId)!;
    expect(company.properties).toMatchObject({ name: 'Green Leaf Cafe', domain: 'bluedoor.example', city: 'Austin' });
    await api('POST', '/v1/events', reviewCreated({ business_id: bizId, rating: 4, title: 'Nice <tea>' }));
    await waitUntil(() => hubspot.notes.some((n) => n.associations.some((a) => a.toObjectId === company.id)));
    const note = hubspot.notes.find((n) => n.associations.some((a) => a.toObjectId === company.id))!;
    expect(note.properties['hs_note_body']).toContain('★★★★☆ Nice &lt;tea&gt;');
    expect(note.associations).toEqual([{ toObjectId: company.id, associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 190 }]);
    expect(hubspot.companies.filter((c) => c.properties['directory_business_id'] === bizId)).toHaveLength(1);
  });

  it("HubSpot: keeps within HubSpot's own rate-limit headers, pausing instead of being refused", async () => {
    // The account's limit holds from the start: linking's own requests (the requirements' property read) see it too.
    hubspot.setRateLimit(3, 1500);
    try {
      const api = await tenant();
      const conId = await link(api, 'hubspot');
      await api('POST', '/v1/integrations', { connection: conId, events: ['business.created'] });
      // The events start in a window of their own: linking's requests spent part of the one they fell in.
      await new Promise((resolve) => setTimeout(resolve, 1600));
      const ids = Array.from({ length: 7 }, () => `biz_${randomBytes(4).toString('hex')}`);
      const from = hubspot.requests.length;
      // The first answer tells the hub the budget; the rest arrive together.
      await api('POST', '/v1/events', businessCreated({}, { id: ids[0] }));
      await waitUntil(() => hubspot.companies.some((c) => c.properties['directory_business_id'] === ids[0]));
      for (const id of ids.slice(1)) await api('POST', '/v1/events', businessCreated({}, { id }));
      await waitUntil(() => ids.every((id) => hubspot.companies.some((c) => c.properties['directory_business_id'] === id)), 30_000);
      expect(hubspot.requests.slice(from).map((r) => r.status)).toEqual(hubspot.requests.slice(from).map(() => 200));
    } finally {
      hubspot.setRateLimit(100, 10_000);
    }
  });

  it('Pipedrive: creates an organization and a lead on it, then updates the organization', async () => {
    const api = await tenant();
    const conId = await link(api, 'pipedrive');
    const view = await api('GET', `/v1/connections/${conId}`);
    // The token response names no account: the company comes from Pipedrive's GET /v1/users/me, for the tenant to check.
    expect(view.body['metadata']).toEqual({ api_domain: pipedrive.url, provider_account: { id: '5001', name: 'Hookhub Test Co' } });
    const bizId = `biz_${randomBytes(4).toString('hex')}`;
    await api('POST', '/v1/integrations', { connection: conId, events: ['business.created', 'business.updated'] });
    await api('POST', '/v1/events', businessCreated({}, { id: bizId, name: `Acme ${bizId}` }));
    await waitUntil(() => pipedrive.leads.some((l) => l.title === `Directory: Acme ${bizId}`));
    const org = pipedrive.organizations.find((o) => o.name === `Acme ${bizId}`)!;
    expect(pipedrive.leads.find((l) => l.title === `Directory: Acme ${bizId}`)?.organization_id).toBe(org.id);
    await api('POST', '/v1/events', { type: 'business.updated', data: { id: bizId, changes: { name: { old_value: 'x', new_value: `Acme Two ${bizId}` } }, updated_at: '2026-11-02T10:00:00Z' } });
    await waitUntil(() => org.updates.length === 1);
    expect(org.updates[0]).toEqual({ name: `Acme Two ${bizId}` });
    expect((await api('POST', `/v1/connections/${conId}/check`)).body).toMatchObject({ ok: true, status: 200 });
  });

  it('qualifies leads and routes them: restaurants to Salesforce, the rest to HubSpot, with the result in the delivery record', async () => {
    const api = await tenant();
    const [sfId, hsId] = [await link(api, 'salesforce'), await link(api, 'hubspot')];
    const created = await api('POST', '/v1/integrations', {
      connection: hsId,
      events: ['business.created'],
      qualification: {
        score: "(data.category = 'restaurant' ? 60 : 20) + (data.status = 'active' ? 20 : 0)",
        qualify: '$score >= 30',
        routes: [{ when: '$score >= 70', connection: sfId, label: 'salesforce-queue-a' }],
      },
    });
    expect(created.status).toBe(201);
    const intId = String(created.body['id']);
    const [restaurant, bakery, closed] = [0, 1, 2].map(() => `biz_${randomBytes(4).toString('hex')}`);
    await api('POST', '/v1/events', businessCreated({}, { id: restaurant, category: 'restaurant' }));
    await api('POST', '/v1/events', businessCreated({}, { id: bakery, category: 'bakery' }));
    await api('POST', '/v1/events', businessCreated({}, { id: closed, category: 'bakery', status: 'inactive' }));
    const attempts = await waitForAttempts(api, intId, 3);
    expect(salesforce.leads.some((l) => l.fields['Directory_Business_Id__c'] === restaurant)).toBe(true);
    expect(hubspot.companies.some((c) => c.properties['directory_business_id'] === bakery)).toBe(true);
    expect(hubspot.companies.some((c) => c.properties['directory_business_id'] === closed)).toBe(false);
    const routings = attempts.map((a) => a['routing'] as Json);
    expect(routings).toEqual(
      expect.arrayContaining([
        { score: 80, qualified: true, route: 'salesforce-queue-a', connectionId: sfId },
        { score: 40, qualified: true, route: null, connectionId: hsId },
        { score: 20, qualified: false, route: null, connectionId: hsId },
      ]),
    );
  });
});

describe('token lifecycle', () => {
  it('refreshes once on a 401, stores the rotated refresh token, and keeps delivering', async () => {
    const api = await tenant();
    const conId = await link(api, 'pipedrive');
    await api('POST', '/v1/integrations', { connection: conId, events: ['business.created'] });
    const loaded = (await th.hub.connections.reload(conId))!;
    // The provider stops accepting the access token before its stated expiry (it was rotated out on its side).
    await th.hub.vault.save(loaded.record, { ...loaded.context.credentials, access_token: 'no-longer-valid' });
    const before = (await th.hub.connections.reload(conId))!.context.credentials;
    const refreshesBefore = tokenProxy.refreshes;
    const bizId = `biz_${randomBytes(4).toString('hex')}`;
    await api('POST', '/v1/events', businessCreated({}, { id: bizId, name: `Refresh ${bizId}` }));
    await waitUntil(
      () => pipedrive.leads.some((l) => l.title.includes(bizId)),
      20_000,
      () => JSON.stringify(pipedrive.requests.slice(-4).map((r) => [r.method, r.path, r.status])),
    );
    expect(tokenProxy.refreshes - refreshesBefore).toBe(1);
    const after = (await th.hub.connections.reload(conId))!.context.credentials;
    expect(after['access_token']).not.toBe('no-longer-valid');
    expect(after['refresh_token']).not.toBe(before['refresh_token']);
    expect(after['refresh_token']).not.toBe(loaded.context.credentials['refresh_token']);
    expect((await oauth.introspect(String(after['access_token']))).active).toBe(true);
    const unauthorized = pipedrive.requests.filter((r) => r.status === 401).length;
    expect(unauthorized).toBeGreaterThanOrEqual(1);
  });

  it('two worker processes racing to refresh one connection refresh it once', async () => {
    const api = await tenant();
    const conId = await link(api, 'hubspot');
    const before = (await th.hub.connections.reload(conId))!.context.credentials;
    const refreshesBefore = tokenProxy.refreshes;
    // Two processes of their own, and this one too, all at the same moment once both have loaded the connection.
    const workers = [racer(conId, th.env), racer(conId, th.env)];
    await Promise.all(workers.map((w) => w.ready));
    const startAt = Date.now() + 300;
    for (const w of workers) w.start(startAt);
    const [a, b, c] = await Promise.all([
      ...workers.map((w) => w.token),
      new Promise((r) => setTimeout(r, startAt - Date.now())).then(async () => (await th.hub.tokens.fresh((await th.hub.connections.reload(conId))!, { force: true }))['access_token']),
    ]);
    expect(tokenProxy.refreshes - refreshesBefore).toBe(1);
    expect(new Set([a, b, c])).toEqual(new Set([a]));
    expect(a).not.toBe(before['access_token']);
    expect((await api('GET', `/v1/connections/${conId}`)).body['status']).toBe('active');
  });

  it('a revoked grant marks the connection needs_reauth, parks its deliveries, alerts, and resumes them on relink', async () => {
    const api = await tenant();
    const conId = await link(api, 'salesforce');
    const intId = String((await api('POST', '/v1/integrations', { connection: conId, events: ['business.created'] })).body['id']);
    const alerts = await api('POST', '/v1/subscriptions', { endpointUrl: `${receiver.url}/alerts/${conId}`, events: ['connection.needs_reauth'] });
    expect(alerts.status).toBe(201);
    const tokens = (await th.hub.connections.reload(conId))!.context.credentials;
    await oauth.revoke(String(tokens['refresh_token']), 'refresh_token');
    const bizId = `biz_${randomBytes(4).toString('hex')}`;
    await api('POST', '/v1/events', businessCreated({}, { id: bizId }));

    let dead: Json[] = [];
    await waitUntil(async () => {
      dead = (await api('GET', `/v1/dead-letters?subscriptionId=${intId}`)).body['data'] as Json[];
      return dead.length === 1;
    });
    expect(dead[0]).toMatchObject({ reason: 'connection_needs_reauth' });
    const view = (await api('GET', `/v1/connections/${conId}`)).body;
    expect(view).toMatchObject({ status: 'needs_reauth', lastError: expect.stringContaining('invalid_grant') });
    const [alert] = await waitForPath(`/alerts/${conId}`);
    expect(alert?.json).toMatchObject({ type: 'connection.needs_reauth', data: { connection_id: conId, connector: 'salesforce', reason: expect.stringContaining('invalid_grant') } });
    expect(salesforce.leads.some((l) => l.fields['Directory_Business_Id__c'] === bizId)).toBe(false);

    await link(api, 'salesforce', { connectionId: conId });
    expect((await api('GET', `/v1/connections/${conId}`)).body).toMatchObject({ status: 'active', lastError: null });
    await waitUntil(() => salesforce.leads.some((l) => l.fields['Directory_Business_Id__c'] === bizId));
  });

  it('the jobs role refreshes tokens that expire soon and runs health checks', async () => {
    const api = await tenant();
    const conId = await link(api, 'salesforce');
    const loaded = (await th.hub.connections.reload(conId))!;
    // Pretend the token expires in a minute.
    await th.hub.vault.save(loaded.record, { ...loaded.context.credentials, expires_at: new Date(Date.now() + 60_000).toISOString() });
    await th.hub.connectionJobs.refreshExpiring();
    const after = (await th.hub.connections.reload(conId))!;
    expect(after.context.credentials['access_token']).not.toBe(loaded.context.credentials['access_token']);
    expect(after.record.tokenExpiresAt!.getTime()).toBeGreaterThan(Date.now() + 30 * 60_000);
    await th.hub.connectionJobs.checkHealth();
    expect((await api('GET', `/v1/connections/${conId}`)).body).toMatchObject({ lastCheckOk: true, lastCheckAt: expect.any(String) });
  });
});


async function waitForPath(path: string): Promise<Receiver['requests']> {
  await waitUntil(() => receiver.requests.some((r) => r.path === path));
  return receiver.requests.filter((r) => r.path === path);
}
