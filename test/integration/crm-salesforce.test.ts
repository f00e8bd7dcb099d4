import { randomBytes } from 'node:crypto';
import { waitUntil } from '../support/receiver';
import { DEFAULT_COUNTRIES } from '../support/emulators/salesforce-rules';
import { SalesforceEmulator } from '../support/emulators/salesforce';
import { startOAuthServer } from '../support/oauth/oauth-server';
import type { OAuthServer } from '../support/oauth/oauth-server';
import { businessCreated, startTestHub, tenantApi, waitForAttempts } from '../support/test-hub';
import type { ApiResponse, TestHub } from '../support/test-hub';
import { freePort } from '../support/local-server';

/**
 * The Salesforce connector against orgs as a new customer has them: State and Country/Territory
 * picklists on (the default in new orgs), only the external id field the README tells them to
 * create, field lengths and duplicate external ids enforced, and an authorization server that
 * answers as Salesforce's does (no expires_in, no refresh token rotation). Each behaviour is in
 * docs/connectors/salesforce-conformance.md with the Salesforce page it follows.
 */
type Json = Record<string, unknown>;
type Api = (method: string, path: string, body?: unknown) => Promise<ApiResponse<Json>>;

const EXTERNAL_ID = 'Directory_Business_Id__c';
let oauth: OAuthServer;
/** A new org: picklists on with the default integration values. */
let org: SalesforceEmulator;
/** An org whose admin set the United States' integration value to "USA" (as the picklist docs suggest for older integrations). */
let usaOrg: SalesforceEmulator;
/** An org whose admin replaced the Lead Status and Case Status values with the team's own. */
let ownStatusOrg: SalesforceEmulator;
let th: TestHub;

beforeAll(async () => {
  const port = await freePort();
  const hubUrl = `http://127.0.0.1:${port}`;
  oauth = await startOAuthServer({
    accessTokenTtlSeconds: 3600,
    clients: [
      {
        client_id: 'sf-app',
        client_secret: 'sf-secret',
        redirect_uris: [`${hubUrl}/oauth/callback/salesforce`],
        token_endpoint_auth_method: 'client_secret_post',
        // Salesforce's token answers: no expires_in, and the refresh token is not rotated (nor returned on refresh).
        omit_expires_in: true,
        rotate_refresh_tokens: false,
      },
    ],
  });
  const options = { acceptClientIds: ['sf-app'], introspectionCacheMs: 0, externalIdFields: { Lead: [EXTERNAL_ID] } };
  const ownStatuses = {
    Lead: { Status: { values: ['New Lead', 'Contacted', 'Qualified', 'Unqualified'], default: 'New Lead' } },
    Case: { Status: { values: ['Open', 'In Progress', 'Resolved'], default: 'Open' } },
  };
  [org, usaOrg, ownStatusOrg] = await Promise.all([
    SalesforceEmulator.start(oauth.resourceServer, options),
    SalesforceEmulator.start(oauth.resourceServer, { ...options, picklists: { countries: { ...DEFAULT_COUNTRIES, US: 'USA' } } }),
    SalesforceEmulator.start(oauth.resourceServer, { ...options, picklistFields: ownStatuses }),
  ]);
  th = await startTestHub({
    env: {
      PORT: String(port),
      HOOKHUB_PUBLIC_URL: hubUrl,
      HOOKHUB_SALESFORCE_CLIENT_ID: 'sf-app',
      HOOKHUB_SALESFORCE_CLIENT_SECRET: 'sf-secret',
      HOOKHUB_SALESFORCE_AUTHORIZATION_URL: oauth.authorizationUrl,
      HOOKHUB_SALESFORCE_TOKEN_URL: oauth.tokenUrl,
    },
  });
});

afterAll(async () => {
  await th?.destroy();
  await Promise.all([org?.close(), usaOrg?.close(), ownStatusOrg?.close()]);
  await oauth?.stop();
});

/** Links Salesforce to `target` (the token answer names its instance_url) through the browser flow; returns the connection id. */
async function link(api: Api, target: SalesforceEmulator, config: Json = {}): Promise<string> {
  await oauth.setExtraTokenFields('sf-app', { instance_url: target.url });
  const authorize = await api('POST', '/v1/connections/authorize', { connector: 'salesforce', config });
  expect(authorize.status).toBe(201);
  const start = await fetch(String(authorize.body['authorizationUrl']), { redirect: 'manual' });
  const cookie = (start.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const { redirectedTo } = await oauth.authorize(start.headers.get('location') ?? '');
  const done = await fetch(redirectedTo, { headers: { cookie, accept: 'application/json' }, redirect: 'manual' });
  const body = (await done.json()) as Json;
  expect(body).toMatchObject({ status: 'linked', connector: 'salesforce' });
  return String(body['connection']);
}

async function integration(api: Api, connection: string, events: string[]): Promise<string> {
  const created = await api('POST', '/v1/integrations', { connection, events });
  expect(created.status).toBe(201);
  return String(created.body['id']);
}

const newId = (): string => `biz_${randomBytes(4).toString('hex')}`;
const leadOf = (target: SalesforceEmulator, id: string): SalesforceEmulator['records'][number] | undefined => target.leads.find((l) => l.fields[EXTERNAL_ID] === id);

describe('Salesforce as a new org has it', () => {
  it('sends a two-letter state as the picklists take it: the full name with its country, which Salesforce syncs to the codes', async () => {
    const api = await tenantApi(th);
    const conId = await link(api, org);
    const intId = await integration(api, conId, ['business.created', 'business.updated']);
    const id = newId();
    await api('POST', '/v1/events', businessCreated({}, { id, name: 'Blue Door Bistro' }));
    await waitUntil(() => leadOf(org, id) !== undefined);
    expect(leadOf(org, id)!.fields).toMatchObject({ State: 'Texas', StateCode: 'TX', Country: 'United States', CountryCode: 'US', City: 'Austin' });

    await api('POST', '/v1/events', { type: 'business.updated', data: { id, changes: { 'address.state': { old_value: 'TX', new_value: 'OR' } }, updated_at: '2026-11-02T10:00:00Z' } });
    await waitForAttempts(api, intId, 2);
    expect(leadOf(org, id)!.fields).toMatchObject({ State: 'Oregon', StateCode: 'OR' });
  });

  it('refuses a state the org does not take with a reason that names the setting to change, and the codes setting fixes it', async () => {
    const api = await tenantApi(th);
    const byName = await link(api, usaOrg);
    const intId = await integration(api, byName, ['business.created']);
    const id = newId();
    await api('POST', '/v1/events', businessCreated({}, { id }));
    const [attempt] = await waitForAttempts(api, intId, 1);
    expect(attempt).toMatchObject({ status: 'failed', error: expect.stringContaining("Salesforce refused the state or country: There's a problem with this country") });
    expect(String(attempt?.['error'])).toContain("Set the link's state_country_values to codes");
    expect(leadOf(usaOrg, id)).toBeUndefined();

    const byCode = await link(api, usaOrg, { state_country_values: 'codes' });
    await integration(api, byCode, ['business.created']);
    await api('POST', '/v1/events', businessCreated({}, { id }));
    await waitUntil(() => leadOf(usaOrg, id) !== undefined);
    expect(leadOf(usaOrg, id)!.fields).toMatchObject({ StateCode: 'TX', CountryCode: 'US', Country: 'USA', State: 'Texas' });
  });

  it('a change to a business that has no Lead creates none and says why, once, without retries', async () => {
    const api = await tenantApi(th);
    const conId = await link(api, org);
    const intId = await integration(api, conId, ['business.updated']);
    const id = newId();
    await api('POST', '/v1/events', { type: 'business.updated', data: { id, changes: { name: { old_value: 'A', new_value: 'B' }, 'contact.phone': { old_value: '1', new_value: '2' } }, updated_at: '2026-11-02T10:00:00Z' } });
    const [attempt] = await waitForAttempts(api, intId, 1);
    expect(attempt).toMatchObject({ status: 'failed', error: expect.stringContaining('No Lead has this business id, so the change was not applied') });
    expect(leadOf(org, id)).toBeUndefined();
    const path = `/services/data/v61.0/sobjects/Lead/${EXTERNAL_ID}/${id}`;
    await new Promise((r) => setTimeout(r, 1500));
    expect(org.requests.filter((r) => r.path === path).map((r) => [r.method, r.query.get('updateOnly'), r.status])).toEqual([['PATCH', 'true', 404]]);
  });

  it('cuts values longer than the Lead fields take, and the attempt lists the fields cut', async () => {
    const api = await tenantApi(th);
    const conId = await link(api, org);
    const intId = await integration(api, conId, ['business.created']);
    const id = newId();
    const name = `The ${'Very '.repeat(20)}Long Bakery`;
    const city = 'Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch';
    await api('POST', '/v1/events', businessCreated({}, { id, name, address: { street: '1 Main St', city, state: 'WA', zip: '98101' } }));
    const [attempt] = await waitForAttempts(api, intId, 1);
    expect(attempt).toMatchObject({ status: 'succeeded', steps: [expect.objectContaining({ action: 'upsert_lead', truncated: [`LastName (${name.length} → 80)`, `City (${city.length} → 40)`] })] });
    expect(leadOf(org, id)!.fields).toMatchObject({ Company: name, LastName: name.slice(0, 80), City: city.slice(0, 40), State: 'Washington' });
  });

  it('an external id that matches two Leads fails for good, naming both, and changes neither', async () => {
    const api = await tenantApi(th);
    const conId = await link(api, org);
    const intId = await integration(api, conId, ['business.created']);
    const id = newId();
    // Two Leads with one value: possible when the field is External ID but not Unique.
    const [a, b] = [org.seed('Lead', { [EXTERNAL_ID]: id, LastName: 'One', Company: 'One' }), org.seed('Lead', { [EXTERNAL_ID]: id, LastName: 'Two', Company: 'Two' })];
    await api('POST', '/v1/events', businessCreated({}, { id }));
    const [attempt] = await waitForAttempts(api, intId, 1);
    expect(attempt).toMatchObject({ status: 'failed', httpStatus: 300, error: expect.stringContaining(`matches more than one Lead (${a.id}, ${b.id})`) });
    expect(String(attempt?.['error'])).toContain('make the external id field Unique');
    expect([a.fields['LastName'], b.fields['LastName'], a.updates, b.updates]).toEqual(['One', 'Two', [], []]);
  });
});

describe("Salesforce's picklists: Lead Status, Lead Source, Case Status and Origin", () => {
  const review = (businessId: string): Json => ({ type: 'review.created', data: { id: `rev_${randomBytes(4).toString('hex')}`, business_id: businessId, business_name: 'Blue Door Bistro', rating: 2, title: 'Cold soup', content: 'It was cold.', author: { name: 'Ann', verified: true }, created_at: '2026-11-01T10:00:00Z' } });

  it("a new Lead and Case take the org's default statuses, not a value of the connector's, and the source values are stored as sent", async () => {
    for (const target of [org, ownStatusOrg]) {
      const api = await tenantApi(th);
      const conId = await link(api, target);
      const intId = await integration(api, conId, ['business.created', 'review.created']);
      const id = newId();
      await api('POST', '/v1/events', businessCreated({}, { id, name: 'Blue Door Bistro' }));
      await waitUntil(() => leadOf(target, id) !== undefined);
      await api('POST', '/v1/events', review(id));
      const attempts = await waitForAttempts(api, intId, 2);
      expect(attempts.map((a) => a['status'])).toEqual(['succeeded', 'succeeded']);
      const sent = target.requests.filter((r) => r.method !== 'GET').map((r) => JSON.parse(r.body) as Json);
      for (const body of sent) expect(Object.keys(body)).not.toContain('Status');
      const made = target.cases.find((c) => String(c.fields['Description']).includes(id));
      // Lead Source and Case Origin are standard picklists, which are not restricted: "Directory API" is kept though a new org's lists lack it.
      if (target === org) {
        expect(leadOf(target, id)!.fields).toMatchObject({ Status: 'Open - Not Contacted', LeadSource: 'Directory API' });
        expect(made?.fields).toMatchObject({ Status: 'New', Origin: 'Directory API', Priority: 'High' });
      } else {
        expect(leadOf(target, id)!.fields).toMatchObject({ Status: 'New Lead', LeadSource: 'Directory API' });
        expect(made?.fields).toMatchObject({ Status: 'Open', Origin: 'Directory API' });
      }
    }
  });

  it("a restricted picklist refuses a value it lacks, naming the field, and the delivery says so", async () => {
    const restricted = await SalesforceEmulator.start(oauth.resourceServer, { acceptClientIds: ['sf-app'], introspectionCacheMs: 0, externalIdFields: { Lead: [EXTERNAL_ID] }, picklistFields: { Lead: { LeadSource: { restricted: true } } } });
    try {
      const api = await tenantApi(th);
      const conId = await link(api, restricted);
      const intId = await integration(api, conId, ['business.created']);
      const id = newId();
      await api('POST', '/v1/events', businessCreated({}, { id }));
      const [attempt] = await waitForAttempts(api, intId, 1);
      expect(attempt).toMatchObject({ status: 'failed', httpStatus: 400, error: expect.stringContaining('Lead Source: bad value for restricted picklist field: Directory API') });
      expect(leadOf(restricted, id)).toBeUndefined();

      // A value of the list, set on the link, goes through.
      const byValue = await link(api, restricted, { lead_source: 'Web' });
      await integration(api, byValue, ['business.created']);
      await api('POST', '/v1/events', businessCreated({}, { id }));
      await waitUntil(() => leadOf(restricted, id) !== undefined);
      expect(leadOf(restricted, id)!.fields).toMatchObject({ LeadSource: 'Web', Status: 'Open - Not Contacted' });
    } finally {
      await restricted.close();
    }
  });
});

describe("Salesforce's tokens: no expires_in, no rotation", () => {
  it('uses a token without a lifetime until Salesforce refuses it, then refreshes once and keeps the refresh token it has', async () => {
    const api = await tenantApi(th);
    const conId = await link(api, org);
    const view = (await api('GET', `/v1/connections/${conId}`)).body;
    expect(view).toMatchObject({ status: 'active', tokenExpiresAt: null });
    const linked = (await th.hub.connections.reload(conId))!.context.credentials;
    expect(typeof linked['refresh_token']).toBe('string');

    // Without a lifetime the token is never stale by the clock: the jobs role leaves it alone.
    await th.hub.connectionJobs.refreshExpiring();
    expect((await th.hub.connections.reload(conId))!.context.credentials['access_token']).toBe(linked['access_token']);

    // The org's session timeout ends the session: Salesforce answers 401 INVALID_SESSION_ID to the token the hub holds.
    const expire = async (): Promise<void> => {
      const loaded = (await th.hub.connections.reload(conId))!;
      await th.hub.vault.save(loaded.record, { ...loaded.context.credentials, access_token: `ended-${randomBytes(4).toString('hex')}` });
    };
    await expire();
    const intId = await integration(api, conId, ['business.created']);
    const id = newId();
    await api('POST', '/v1/events', businessCreated({}, { id }));
    await waitUntil(
      () => leadOf(org, id) !== undefined,
      20_000,
      () => JSON.stringify(org.requests.slice(-3).map((r) => [r.method, r.path, r.status])),
    );
    const [attempt] = await waitForAttempts(api, intId, 1);
    expect(attempt).toMatchObject({ status: 'succeeded' });
    const after = (await th.hub.connections.reload(conId))!.context.credentials;
    expect(after['access_token']).not.toBe(linked['access_token']);
    expect((await oauth.introspect(String(after['access_token']))).active).toBe(true);
    expect(after['refresh_token']).toBe(linked['refresh_token']);
    expect((await oauth.introspect(String(after['refresh_token']))).active).toBe(true);
    const path = `/services/data/v61.0/sobjects/Lead/${EXTERNAL_ID}/${id}`;
    expect(org.requests.filter((r) => r.path === path).map((r) => r.status)).toEqual([401, 201]);

    // The kept refresh token keeps working: a second expiry refreshes again with it.
    await expire();
    const second = newId();
    await api('POST', '/v1/events', businessCreated({}, { id: second }));
    await waitUntil(() => leadOf(org, second) !== undefined);
    expect((await th.hub.connections.reload(conId))!.context.credentials['refresh_token']).toBe(linked['refresh_token']);
    expect((await api('GET', `/v1/connections/${conId}`)).body['status']).toBe('active');

    // What the hub got: Salesforce's refresh answer, with neither expires_in nor a refresh token.
    const form = { grant_type: 'refresh_token', refresh_token: String(linked['refresh_token']), client_id: 'sf-app', client_secret: 'sf-secret' };
    const answer = (await (await fetch(oauth.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) })).json()) as Json;
    expect(answer).toMatchObject({ access_token: expect.any(String), instance_url: org.url });
    expect(Object.keys(answer)).not.toContain('expires_in');
    expect(Object.keys(answer)).not.toContain('refresh_token');
  });
});
