import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { parse } from 'yaml';
import { waitUntil } from '../support/receiver';
import { HubSpotEmulator, TOKEN_PATH } from '../support/emulators/hubspot';
import { startOAuthServer } from '../support/oauth/oauth-server';
import type { OAuthServer } from '../support/oauth/oauth-server';
import { businessCreated, startTestHub, tenantApi, waitForAttempts } from '../support/test-hub';
import type { TestHub, TenantApi } from '../support/test-hub';
import { freePort } from '../support/local-server';

/**
 * The HubSpot connector against an emulator that holds it to what HubSpot documents
 * (docs/connectors/hubspot-conformance.md): scopes checked per endpoint, only properties a new
 * account has (plus the unique property the README tells the customer to create), the current
 * OAuth token endpoint (v1 gone) with PKCE, and 30-minute access tokens.
 */
type Json = Record<string, unknown>;

const manifest = parse(fs.readFileSync(path.resolve(__dirname, '../../connectors/hubspot/connector.yaml'), 'utf8')) as { auth: { token_url: string; scopes: string[] } };

let oauth: OAuthServer;
let hubspot: HubSpotEmulator;
let th: TestHub;

beforeAll(async () => {
  const port = await freePort();
  const hubUrl = `http://127.0.0.1:${port}`;
  oauth = await startOAuthServer({
    accessTokenTtlSeconds: 3600,
    clients: [
      // HubSpot's access tokens last 30 minutes.
      { client_id: 'hs-app', client_secret: 'hs-secret', redirect_uris: [`${hubUrl}/oauth/callback/hubspot`], token_endpoint_auth_method: 'client_secret_post', accessTokenTtlSeconds: 1800 },
    ],
  });
  // A new customer's account: the default company properties and the one unique property the
  // README's setup table tells them to create; nothing else.
  hubspot = await HubSpotEmulator.start(oauth.resourceServer, { acceptClientIds: ['hs-app'], introspectionCacheMs: 0, uniqueProperties: ['directory_business_id'] });
  th = await startTestHub({
    env: {
      PORT: String(port),
      HOOKHUB_PUBLIC_URL: hubUrl,
      HOOKHUB_HUBSPOT_CLIENT_ID: 'hs-app',
      HOOKHUB_HUBSPOT_CLIENT_SECRET: 'hs-secret',
      HOOKHUB_HUBSPOT_AUTHORIZATION_URL: oauth.authorizationUrl,
      // The manifest's own token path, on the emulator: a path HubSpot no longer serves fails the link.
      HOOKHUB_HUBSPOT_TOKEN_URL: `${hubspot.url}${new URL(manifest.auth.token_url).pathname}`,
      HOOKHUB_HUBSPOT_BASE_URL: hubspot.url,
    },
  });
});

afterAll(async () => {
  await th?.destroy();
  await hubspot?.close();
  await oauth?.stop();
});

/** The whole linking flow, as a person in a browser would go through it; returns the provider URL too. */
async function link(api: TenantApi, config: Json = {}): Promise<{ connectionId: string; providerUrl: URL }> {
  const authorize = await api('POST', '/v1/connections/authorize', { connector: 'hubspot', config });
  expect(authorize.status).toBe(201);
  const start = await fetch(String(authorize.body['authorizationUrl']), { redirect: 'manual' });
  const cookie = (start.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const providerUrl = new URL(start.headers.get('location') ?? '');
  const { redirectedTo } = await oauth.authorize(providerUrl.toString());
  const done = await fetch(redirectedTo, { headers: { cookie, accept: 'application/json' }, redirect: 'manual' });
  const body = (await done.json()) as Json;
  expect(body).toMatchObject({ status: 'linked', connector: 'hubspot' });
  return { connectionId: String(body['connection']), providerUrl };
}

async function linked(events: string[], config: Json = {}, retryConfig?: Json): Promise<{ api: TenantApi; connectionId: string; integrationId: string }> {
  const api = await tenantApi(th);
  const { connectionId } = await link(api, config);
  const integration = await api('POST', '/v1/integrations', { connection: connectionId, events, ...(retryConfig ? { retryConfig } : {}) });
  expect(integration.status).toBe(201);
  return { api, connectionId, integrationId: String(integration.body['id']) };
}

function reviewCreated(data: Json): Json {
  return { type: 'review.created', data: { id: `rev_${randomBytes(4).toString('hex')}`, rating: 4, title: 'Nice tea', author: { name: 'Ann' }, created_at: '2026-11-01T10:00:00Z', ...data } };
}

const companyOf = (bizId: string) => hubspot.companies.find((c) => c.properties['directory_business_id'] === bizId);

describe('HubSpot as a new customer has it', () => {
  it('links with PKCE at the current token endpoint, asks for the scopes notes need, and keeps a 30-minute token', async () => {
    const api = await tenantApi(th);
    const before = hubspot.count(TOKEN_PATH, 'POST');
    const { connectionId, providerUrl } = await link(api);
    expect(providerUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(providerUrl.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(providerUrl.searchParams.get('scope')?.split(' ')).toEqual(expect.arrayContaining(['crm.objects.contacts.write', 'crm.objects.contacts.read']));
    // The code was redeemed at /oauth/2026-03/token, parameters in the body.
    expect(hubspot.count(TOKEN_PATH, 'POST') - before).toBe(1);
    const exchange = hubspot.requests.filter((r) => r.path === TOKEN_PATH).at(-1)!;
    expect(exchange.status).toBe(200);
    expect([...exchange.query.keys()]).toEqual([]);
    expect(new URLSearchParams(exchange.body).get('code_verifier')).toMatch(/^[A-Za-z0-9_-]{43,128}$/);
    const view = (await api('GET', `/v1/connections/${connectionId}`)).body;
    const expiresIn = new Date(String(view['tokenExpiresAt'])).getTime() - Date.now();
    expect(expiresIn).toBeGreaterThan(25 * 60_000);
    expect(expiresIn).toBeLessThanOrEqual(30 * 60_000);
    const tokens = (await th.hub.connections.reload(connectionId))!.context.credentials;
    expect(String((await oauth.introspect(String(tokens['access_token']))).scope).split(' ')).toEqual(expect.arrayContaining(['crm.objects.contacts.write']));
  });

  it('keeps a company with only properties a new account has, and adds a review as a note on it', async () => {
    const { api, integrationId } = await linked(['business.created', 'review.created']);
    const bizId = `biz_${randomBytes(4).toString('hex')}`;
    await api('POST', '/v1/events', businessCreated({}, { id: bizId, name: 'Green Leaf Cafe' }));
    await waitUntil(() => companyOf(bizId) !== undefined);
    const company = companyOf(bizId)!;
    expect(company.properties).toMatchObject({ name: 'Green Leaf Cafe', domain: 'bluedoor.example', city: 'Austin' });
    expect(company.properties).not.toHaveProperty('industry_category');
    await api('POST', '/v1/events', reviewCreated({ business_id: bizId }));
    await waitUntil(() => hubspot.notes.some((n) => n.associations.some((a) => a.toObjectId === company.id)));
    const attempts = await waitForAttempts(api, integrationId, 2);
    expect(attempts.map((a) => a['status'])).toEqual(['succeeded', 'succeeded']);
    // Nothing was refused on the way: no missing scope, no unknown property.
    expect(hubspot.requests.filter((r) => r.status === 403 || r.status === 400)).toEqual([]);
  });

  it('with custom_properties on but the properties not created, fails saying which property and what to do', async () => {
    const { api, integrationId } = await linked(['business.created'], { custom_properties: true });
    await api('POST', '/v1/events', businessCreated({}, { id: `biz_${randomBytes(4).toString('hex')}` }));
    const [attempt] = await waitForAttempts(api, integrationId, 1);
    expect(attempt).toMatchObject({ status: 'failed', httpStatus: 400 });
    const text = JSON.stringify(attempt);
    expect(text).toContain('PROPERTY_DOESNT_EXIST');
    expect(text).toContain('industry_category');
    expect(text).toContain('Settings > Properties');
  });

  it('never creates a nameless company for a review: it waits for the business, then notes it', async () => {
    const { api, integrationId } = await linked(['business.created', 'review.created'], {}, { initialDelaySeconds: 1, backoffMultiplier: 1, maxRetries: 5 });
    const bizId = `biz_${randomBytes(4).toString('hex')}`;
    await api('POST', '/v1/events', reviewCreated({ business_id: bizId }));
    const [first] = await waitForAttempts(api, integrationId, 1);
    expect(first).toMatchObject({ status: 'failed', httpStatus: 404 });
    expect(JSON.stringify(first)).toContain('HubSpot has no company for this business yet');
    expect(companyOf(bizId)).toBeUndefined();
    // The business arrives; the review's retry finds it and adds the note to the named company.
    await api('POST', '/v1/events', businessCreated({}, { id: bizId, name: 'Late Listing' }));
    await waitUntil(() => companyOf(bizId) !== undefined && hubspot.notes.some((n) => n.associations.some((a) => a.toObjectId === companyOf(bizId)!.id)), 20_000);
    expect(hubspot.companies.filter((c) => c.properties['directory_business_id'] === bizId)).toHaveLength(1);
    expect(companyOf(bizId)!.properties['name']).toBe('Late Listing');
  });

  it('the emulator refuses what HubSpot refuses: the v1 token endpoint is gone, and token parameters belong in the body', async () => {
    const v1 = await fetch(`${hubspot.url}/oauth/v1/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=refresh_token' });
    expect(v1.status).toBe(404);
    const inQuery = await fetch(`${hubspot.url}${TOKEN_PATH}?grant_type=refresh_token&client_id=hs-app`, { method: 'POST' });
    expect(inQuery.status).toBe(400);
  });
});
