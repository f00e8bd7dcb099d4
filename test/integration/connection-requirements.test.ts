import { HubSpotEmulator } from '../support/emulators/hubspot';
import { PipedriveEmulator } from '../support/emulators/pipedrive';
import { SalesforceEmulator } from '../support/emulators/salesforce';
import { startOAuthServer } from '../support/oauth/oauth-server';
import type { OAuthServer } from '../support/oauth/oauth-server';
import { startTestHub, tenantApi } from '../support/test-hub';
import type { TestHub, TenantApi } from '../support/test-hub';
import { freePort } from '../support/local-server';

/**
 * A linked account checked against what its connector declares it needs (the manifest's
 * `requirements`), before the first delivery fails: a HubSpot portal as a new customer has it
 * (no unique property) and a grant without the contacts scopes notes need. The connection names
 * both, with what to do; once the customer creates the property and links again granting the
 * scopes, nothing is missing. A Salesforce org is checked for the Lead external id field the
 * same way.
 */
type Json = Record<string, unknown>;

let oauth: OAuthServer;
let hubspot: HubSpotEmulator;
let th: TestHub;
/** Salesforce orgs: a new one (no field), one with the field but not as an External ID, one set up as the README says. */
let bareOrg: SalesforceEmulator;
let plainFieldOrg: SalesforceEmulator;
let readyOrg: SalesforceEmulator;
const EXTERNAL_ID = 'Directory_Business_Id__c';
let pipedrive: PipedriveEmulator;

beforeAll(async () => {
  const port = await freePort();
  const hubUrl = `http://127.0.0.1:${port}`;
  oauth = await startOAuthServer({
    clients: [
      { client_id: 'hs-app', client_secret: 'hs-secret', redirect_uris: [`${hubUrl}/oauth/callback/hubspot`], token_endpoint_auth_method: 'client_secret_post' },
      // Pipedrive's scopes are the app registration's, not asked for when linking.
      { client_id: 'pd-app', client_secret: 'pd-secret', redirect_uris: [`${hubUrl}/oauth/callback/pipedrive`], token_endpoint_auth_method: 'client_secret_basic', default_scope: 'base contacts:full leads:full' },
      { client_id: 'sf-app', client_secret: 'sf-secret', redirect_uris: [`${hubUrl}/oauth/callback/salesforce`], token_endpoint_auth_method: 'client_secret_post', omit_expires_in: true, rotate_refresh_tokens: false },
    ],
  });
  pipedrive = await PipedriveEmulator.start(oauth.resourceServer, { acceptClientIds: ['pd-app'], introspectionCacheMs: 0 });
  await oauth.setExtraTokenFields('pd-app', { api_domain: pipedrive.url });
  const sf = { acceptClientIds: ['sf-app'], introspectionCacheMs: 0 };
  [bareOrg, plainFieldOrg, readyOrg] = await Promise.all([
    SalesforceEmulator.start(oauth.resourceServer, { ...sf, externalIdFields: { Lead: [] } }),
    SalesforceEmulator.start(oauth.resourceServer, { ...sf, externalIdFields: { Lead: [] }, customFields: { Lead: [EXTERNAL_ID] } }),
    SalesforceEmulator.start(oauth.resourceServer, { ...sf, externalIdFields: { Lead: [EXTERNAL_ID] } }),
  ]);
  // A new portal: the default company properties and nothing the customer creates.
  hubspot = await HubSpotEmulator.start(oauth.resourceServer, { acceptClientIds: ['hs-app'], introspectionCacheMs: 0, uniqueProperties: [] });
  th = await startTestHub({
    env: {
      PORT: String(port),
      HOOKHUB_PUBLIC_URL: hubUrl,
      HOOKHUB_HUBSPOT_CLIENT_ID: 'hs-app',
      HOOKHUB_HUBSPOT_CLIENT_SECRET: 'hs-secret',
      HOOKHUB_HUBSPOT_AUTHORIZATION_URL: oauth.authorizationUrl,
      HOOKHUB_HUBSPOT_TOKEN_URL: `${hubspot.url}/oauth/2026-03/token`,
      HOOKHUB_HUBSPOT_BASE_URL: hubspot.url,
      HOOKHUB_PIPEDRIVE_CLIENT_ID: 'pd-app',
      HOOKHUB_PIPEDRIVE_CLIENT_SECRET: 'pd-secret',
      HOOKHUB_PIPEDRIVE_AUTHORIZATION_URL: oauth.authorizationUrl,
      HOOKHUB_PIPEDRIVE_TOKEN_URL: oauth.tokenUrl,
      HOOKHUB_SALESFORCE_CLIENT_ID: 'sf-app',
      HOOKHUB_SALESFORCE_CLIENT_SECRET: 'sf-secret',
      HOOKHUB_SALESFORCE_AUTHORIZATION_URL: oauth.authorizationUrl,
      HOOKHUB_SALESFORCE_TOKEN_URL: oauth.tokenUrl,
    },
  });
});

afterAll(async () => {
  await th?.destroy();
  await Promise.all([hubspot?.close(), pipedrive?.close(), bareOrg?.close(), plainFieldOrg?.close(), readyOrg?.close()]);
  await oauth?.stop();
});

/**
 * The linking flow as a person in a browser goes through it; `grant` keeps only the scopes the
 * person grants (a provider's consent screen lets them untick some). Relinks when `connectionId` is given.
 */
async function link(api: TenantApi, grant: (scope: string) => boolean, connectionId?: string): Promise<string> {
  const authorize = await api('POST', '/v1/connections/authorize', { connector: 'hubspot', ...(connectionId ? { connectionId } : {}) });
  expect(authorize.status).toBe(201);
  const start = await fetch(String(authorize.body['authorizationUrl']), { redirect: 'manual' });
  const cookie = (start.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const providerUrl = new URL(start.headers.get('location') ?? '');
  providerUrl.searchParams.set('scope', (providerUrl.searchParams.get('scope') ?? '').split(' ').filter(grant).join(' '));
  const { redirectedTo } = await oauth.authorize(providerUrl.toString());
  const done = await fetch(redirectedTo, { headers: { cookie, accept: 'application/json' }, redirect: 'manual' });
  const body = (await done.json()) as Json;
  expect(body).toMatchObject({ status: 'linked', connector: 'hubspot' });
  return String(body['connection']);
}

describe('what a linked account lacks of what its connector needs', () => {
  it('names the scopes not granted and the property not created, and nothing once both are fixed', async () => {
    const api = await tenantApi(th);
    const connectionId = await link(api, (s) => !s.startsWith('crm.objects.contacts.'));

    // Right after linking, before any delivery: the connection says what is missing and what to do.
    const linked = await api('GET', `/v1/connections/${connectionId}`);
    expect(linked.status).toBe(200);
    expect(linked.body['requirements']).toEqual({
      checkedAt: expect.any(String),
      missing: [
        { name: 'scopes', message: expect.stringMatching(/did not grant crm\.objects\.contacts\.read, crm\.objects\.contacts\.write\. Link the account again/) },
        { name: 'unique_property', message: expect.stringContaining('HubSpot has no company property directory_business_id: every company upsert is refused without it. Create it in Settings > Properties') },
      ],
      unchecked: [],
    });
    // The connector says what it checks.
    expect((await api('GET', '/v1/connectors/hubspot')).body['requirements']).toEqual({ scopes: expect.arrayContaining(['crm.objects.contacts.write']), checks: ['unique_property', 'industry_category_property', 'directory_status_property'] });

    // A property created without "Has unique values" is named as such.
    hubspot.createProperty('directory_business_id');
    const notUnique = await api('POST', `/v1/connections/${connectionId}/check`);
    expect(notUnique.status).toBe(200);
    expect((notUnique.body['requirements'] as Json)['missing']).toEqual([
      expect.objectContaining({ name: 'scopes' }),
      { name: 'unique_property', message: expect.stringContaining('The company property directory_business_id exists but does not have unique values') },
    ]);

    // The customer creates the property as told and links again, granting every scope: nothing is missing.
    hubspot.createProperty('directory_business_id', true);
    expect(await link(api, () => true, connectionId)).toBe(connectionId);
    const fixed = await api('GET', `/v1/connections/${connectionId}`);
    expect(fixed.body['requirements']).toEqual({ checkedAt: expect.any(String), missing: [], unchecked: [] });
    expect(Date.parse(String((fixed.body['requirements'] as Json)['checkedAt']))).toBeGreaterThan(Date.parse(String((linked.body['requirements'] as Json)['checkedAt'])));

    // The on-demand check agrees, and is what the periodic health check records too.
    const check = await api('POST', `/v1/connections/${connectionId}/check`);
    expect(check.body).toMatchObject({ ok: true, requirements: { missing: [], unchecked: [] } });
  });

  it('a grant without a companies read scope says the property could not be read, not that it is missing', async () => {
    const api = await tenantApi(th);
    const connectionId = await link(api, (s) => s !== 'crm.objects.companies.read');
    const linked = await api('GET', `/v1/connections/${connectionId}`);
    expect((linked.body['requirements'] as Json)['missing']).toEqual([
      { name: 'scopes', message: expect.stringContaining('did not grant crm.objects.companies.read.') },
      {
        name: 'unique_property',
        message: expect.stringContaining('could not be read (HubSpot wants crm.objects.companies.read or crm.schemas.companies.read, which the link did not grant): every company upsert is refused without it. Link the account again'),
      },
    ]);
    expect(hubspot.requests.filter((r) => r.path.startsWith('/crm/v3/properties/companies/')).map((r) => r.status)).toContain(403);
  });

  it('checks the custom properties only on links that send them', async () => {
    const api = await tenantApi(th);
    const connectionId = await link(api, () => true);
    expect((await api('GET', `/v1/connections/${connectionId}`)).body['requirements']).toMatchObject({ missing: [] });
    // Turning custom_properties on changes what the account needs: checked on the change.
    const updated = await api('PATCH', `/v1/connections/${connectionId}`, { config: { custom_properties: true } });
    expect(updated.status).toBe(200);
    expect((updated.body['requirements'] as Json)['missing']).toEqual([
      { name: 'industry_category_property', message: expect.stringContaining('HubSpot has no company property industry_category') },
      { name: 'directory_status_property', message: expect.stringContaining('HubSpot has no company property directory_status') },
    ]);
  });
});

/** Links Salesforce to `org` (the token answer names its instance_url) through the browser flow. */
async function linkSalesforce(api: TenantApi, org: SalesforceEmulator): Promise<string> {
  await oauth.setExtraTokenFields('sf-app', { instance_url: org.url });
  const authorize = await api('POST', '/v1/connections/authorize', { connector: 'salesforce' });
  expect(authorize.status).toBe(201);
  const start = await fetch(String(authorize.body['authorizationUrl']), { redirect: 'manual' });
  const cookie = (start.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const { redirectedTo } = await oauth.authorize(start.headers.get('location') ?? '');
  const done = await fetch(redirectedTo, { headers: { cookie, accept: 'application/json' }, redirect: 'manual' });
  const body = (await done.json()) as Json;
  expect(body).toMatchObject({ status: 'linked', connector: 'salesforce' });
  return String(body['connection']);
}

describe('Salesforce: the Lead external id field', () => {
  it('names a missing external id field, tells a plain field from an External ID, and finds nothing missing in an org set up as told', async () => {
    const api = await tenantApi(th);
    const requirementsOf = async (org: SalesforceEmulator): Promise<Json> => (await api('GET', `/v1/connections/${await linkSalesforce(api, org)}`)).body['requirements'] as Json;
    expect((await requirementsOf(bareOrg))['missing']).toEqual([
      { name: 'external_id_field', message: expect.stringContaining(`Salesforce has no Lead field ${EXTERNAL_ID}: every Lead upsert is refused without it. In Setup > Object Manager > Lead`) },
    ]);
    expect((await requirementsOf(plainFieldOrg))['missing']).toEqual([{ name: 'external_id_field', message: expect.stringContaining(`The Lead field ${EXTERNAL_ID} is not an External ID`) }]);
    // The grant's scopes (api, refresh_token) are as the connector asks: nothing is missing.
    expect(await requirementsOf(readyOrg)).toEqual({ checkedAt: expect.any(String), missing: [], unchecked: [] });
  });
});

describe('Pipedrive: scopes from the app registration, the company from /users/me', () => {
  it('names the scope an app registered without leads:full lacks, and the linked company', async () => {
    const api = await tenantApi(th);
    const linkPipedrive = async (scope: string): Promise<Json> => {
      const authorize = await api('POST', '/v1/connections/authorize', { connector: 'pipedrive' });
      const start = await fetch(String(authorize.body['authorizationUrl']), { redirect: 'manual' });
      const cookie = (start.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
      // What the app's registration grants (the hub asks for no scopes).
      const providerUrl = new URL(start.headers.get('location') ?? '');
      providerUrl.searchParams.set('scope', scope);
      const { redirectedTo } = await oauth.authorize(providerUrl.toString());
      const done = (await (await fetch(redirectedTo, { headers: { cookie, accept: 'application/json' }, redirect: 'manual' })).json()) as Json;
      return (await api('GET', `/v1/connections/${String(done['connection'])}`)).body;
    };
    const without = await linkPipedrive('base contacts:full');
    expect(without['requirements']).toMatchObject({ missing: [{ name: 'scopes', message: expect.stringContaining('did not grant leads:full') }] });
    // The token response names no account; Pipedrive's /users/me names the company.
    expect((without['metadata'] as Json)['provider_account']).toEqual({ id: '5001', name: 'Hookhub Test Co' });
    expect((await linkPipedrive('base contacts:full leads:full'))['requirements']).toMatchObject({ missing: [], unchecked: [] });
  });
});

