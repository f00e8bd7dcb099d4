import { ManualClock } from '../../src/core/clock';
import { authorizationUrl, createPkce, linkAccount, tokenRequest } from '../support/oauth/client';
import { startOAuthServer, type OAuthClientConfig, type OAuthServer } from '../support/oauth/oauth-server';
import { HubSpotEmulator } from '../support/emulators/hubspot';
import type { IntrospectionConfig } from '../support/emulators/oauth-api';
import { PipedriveEmulator } from '../support/emulators/pipedrive';
import { SalesforceEmulator } from '../support/emulators/salesforce';

/**
 * The test support for OAuth account linking works: a real authorization server
 * (oidc-provider in a child process) and three CRM emulators that check tokens
 * through its introspection endpoint. All on 127.0.0.1, no mocks.
 */
const REDIRECT = 'http://127.0.0.1:9/oauth/callback'; // never fetched
const salesforceClient: OAuthClientConfig = { client_id: 'sf-app', client_secret: 'sf-secret', redirect_uris: [REDIRECT] };
const hubspotClient: OAuthClientConfig = { client_id: 'hs-app', client_secret: 'hs-secret', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'client_secret_post' };
const pipedriveClient: OAuthClientConfig = { client_id: 'pd-app', client_secret: 'pd-secret', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'client_secret_basic', default_scope: 'base contacts:full leads:full' };
const clients = [salesforceClient, hubspotClient, pipedriveClient];

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function call(url: string, method: string, token: string | undefined, body?: unknown): Promise<{ status: number; headers: Headers; body: unknown }> {
  const headers: Record<string, string> = {};
  if (token) headers['authorization'] = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text)) : undefined };
}

interface Stack {
  oauth: OAuthServer;
  salesforce: SalesforceEmulator;
  hubspot: HubSpotEmulator;
  pipedrive: PipedriveEmulator;
}

/** The time HubSpot's rolling rate window is counted in: the test moves it on instead of waiting. */
const hubspotClock = new ManualClock();

async function startStack(accessTokenTtlSeconds: number, hubspotMax = 100): Promise<Stack> {
  const oauth = await startOAuthServer({ clients, accessTokenTtlSeconds });
  const rs: IntrospectionConfig = oauth.resourceServer;
  const salesforce = await SalesforceEmulator.start(rs, { acceptClientIds: ['sf-app'] });
  const hubspot = await HubSpotEmulator.start(rs, { acceptClientIds: ['hs-app'], maxPerInterval: hubspotMax, intervalMs: 4000, clock: hubspotClock });
  const pipedrive = await PipedriveEmulator.start(rs, { acceptClientIds: ['pd-app'], introspectionCacheMs: 0 });
  await oauth.setExtraTokenFields('sf-app', { instance_url: salesforce.url, id: `${oauth.issuer}/id/00D/005`, signature: 'sig' });
  await oauth.setExtraTokenFields('pd-app', { api_domain: pipedrive.url });
  return { oauth, salesforce, hubspot, pipedrive };
}

async function stopStack(stack: Stack | undefined): Promise<void> {
  if (!stack) return;
  await Promise.all([stack.salesforce.close(), stack.hubspot.close(), stack.pipedrive.close()]);
  await stack.oauth.stop();
}

describe('OAuth authorization server and CRM emulators', () => {
  let s: Stack;
  let short: Stack;

  beforeAll(async () => {
    [s, short] = await Promise.all([startStack(3600, 3), startStack(3)]);
  });
  afterAll(async () => {
    await Promise.all([stopStack(s), stopStack(short)]);
  });

  it('runs the authorization code flow with PKCE and client_secret_basic; the token response carries instance_url', async () => {
    const pkce = createPkce();
    const url = authorizationUrl(s.oauth, { client_id: 'sf-app', redirect_uri: REDIRECT, scope: 'api refresh_token', state: 'xyz', pkce });
    const { redirectedTo } = await s.oauth.authorize(url);
    const redirect = new URL(redirectedTo);
    expect(`${redirect.origin}${redirect.pathname}`).toBe(REDIRECT);
    expect(redirect.searchParams.get('state')).toBe('xyz');
    expect(redirect.searchParams.get('iss')).toBe(s.oauth.issuer);
    const code = redirect.searchParams.get('code') ?? '';

    const token = await tokenRequest(s.oauth, salesforceClient, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: pkce.verifier });
    expect(token.status).toBe(200);
    expect(token.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'api refresh_token', instance_url: s.salesforce.url });
    expect(typeof token.body['access_token']).toBe('string');
    expect(typeof token.body['refresh_token']).toBe('string');
    expect(await s.oauth.introspect(String(token.body['access_token']))).toMatchObject({ active: true, client_id: 'sf-app', sub: 'alice', scope: 'api refresh_token' });

    const again = await tokenRequest(s.oauth, salesforceClient, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: pkce.verifier });
    expect(again).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('supports client_secret_post, non-OIDC scopes and api_domain; a client must use its registered auth method', async () => {
    const hs = await linkAccount(s.oauth, hubspotClient, { scope: 'crm.objects.companies.write crm.objects.companies.read', user: 'bob' });
    expect(hs).toMatchObject({ token_type: 'Bearer', scope: 'crm.objects.companies.write crm.objects.companies.read' });
    expect(await s.oauth.introspect(hs.access_token)).toMatchObject({ active: true, client_id: 'hs-app', sub: 'bob' });

    const pd = await linkAccount(s.oauth, pipedriveClient);
    expect(pd['api_domain']).toBe(s.pipedrive.url);

    const wrongMethod = await tokenRequest(s.oauth, { ...hubspotClient, token_endpoint_auth_method: 'client_secret_basic' }, { grant_type: 'refresh_token', refresh_token: hs.refresh_token });
    expect(wrongMethod).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    const wrongMethod2 = await tokenRequest(s.oauth, { ...pipedriveClient, token_endpoint_auth_method: 'client_secret_post' }, { grant_type: 'refresh_token', refresh_token: pd.refresh_token });
    expect(wrongMethod2).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
  });

  it('rotates refresh tokens: the new one works, the old one then fails with invalid_grant', async () => {
    const first = await linkAccount(s.oauth, salesforceClient, { scope: 'api refresh_token' });
    const refreshed = await tokenRequest(s.oauth, salesforceClient, { grant_type: 'refresh_token', refresh_token: first.refresh_token });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body['refresh_token']).not.toBe(first.refresh_token);
    expect(refreshed.body['instance_url']).toBe(s.salesforce.url);
    expect(refreshed.body['access_token']).not.toBe(first.access_token);

    const reused = await tokenRequest(s.oauth, salesforceClient, { grant_type: 'refresh_token', refresh_token: first.refresh_token });
    expect(reused).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('revocation (RFC 7009) makes the refresh grant fail with invalid_grant', async () => {
    const tokens = await linkAccount(s.oauth, pipedriveClient);
    const basic = Buffer.from('pd-app:pd-secret').toString('base64');
    const res = await fetch(s.oauth.revocationUrl, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: tokens.refresh_token, token_type_hint: 'refresh_token' }).toString(),
    });
    expect(res.status).toBe(200);
    const refresh = await tokenRequest(s.oauth, pipedriveClient, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
    expect(refresh).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    // Revoking the refresh token revokes its grant: the access token dies with it.
    expect(await s.oauth.introspect(tokens.access_token)).toEqual({ active: false });
  });

  it('rejects a wrong or missing PKCE verifier with invalid_grant', async () => {
    for (const verifier of [createPkce().verifier, undefined]) {
      const pkce = createPkce();
      const { redirectedTo } = await s.oauth.authorize(authorizationUrl(s.oauth, { client_id: 'sf-app', redirect_uri: REDIRECT, scope: 'api', pkce }));
      const code = new URL(redirectedTo).searchParams.get('code') ?? '';
      const params: Record<string, string> = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT };
      if (verifier) params['code_verifier'] = verifier;
      expect(await tokenRequest(s.oauth, salesforceClient, params)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    }
  });

  it('ends with error=access_denied when the user denies', async () => {
    const { redirectedTo } = await s.oauth.authorize(authorizationUrl(s.oauth, { client_id: 'hs-app', redirect_uri: REDIRECT, state: 's1' }), { deny: true });
    const redirect = new URL(redirectedTo);
    expect(redirect.searchParams.get('error')).toBe('access_denied');
    expect(redirect.searchParams.get('state')).toBe('s1');
    expect(redirect.searchParams.has('code')).toBe(false);
  });

  it('Salesforce accepts a valid token, creates and upserts Leads and Cases, and answers with its documented errors', async () => {
    const { access_token: token, instance_url: base } = await linkAccount(s.oauth, salesforceClient, { scope: 'api refresh_token' });
    const api = `${String(base)}/services/data/v59.0`;
    const limits = await call(`${api}/limits`, 'GET', token);
    expect(limits.status).toBe(200);
    expect(limits.headers.get('sforce-limit-info')).toMatch(/^api-usage=\d+\/15000$/);

    const lead = await call(`${api}/sobjects/Lead`, 'POST', token, { LastName: 'Lovelace', Company: 'Analytical Engines', Email: 'ada@example.test' });
    expect(lead).toMatchObject({ status: 201, body: { success: true, errors: [] } });
    expect((lead.body as { id: string }).id).toMatch(/^00Q\w{15}$/);
    expect(await call(`${api}/sobjects/Lead`, 'POST', token, { Company: 'X' })).toMatchObject({
      status: 400, body: [{ message: 'Required fields are missing: [LastName]', errorCode: 'REQUIRED_FIELD_MISSING', fields: ['LastName'] }],
    });
    expect(await call(`${api}/sobjects/Lead`, 'POST', token, { LastName: 'A', Company: 'B', Nope__c: 1 })).toMatchObject({ status: 400, body: [{ errorCode: 'INVALID_FIELD' }] });

    const created = await call(`${api}/sobjects/Lead/Hookhub_Id__c/ext-1`, 'PATCH', token, { LastName: 'Hopper', Company: 'Navy' });
    expect(created).toMatchObject({ status: 201, body: { success: true, errors: [], created: true } });
    const updated = await call(`${api}/sobjects/Lead/Hookhub_Id__c/ext-1`, 'PATCH', token, { Title: 'Rear Admiral' });
    expect({ status: updated.status, body: updated.body }).toEqual({ status: 200, body: { id: (created.body as { id: string }).id, success: true, errors: [], created: false } });
    expect((await call(`${api}/sobjects/Lead/${(lead.body as { id: string }).id}`, 'PATCH', token, { Status: 'Working' })).status).toBe(204);
    expect(await call(`${api}/sobjects/Case`, 'POST', token, { Subject: 'Webhook failed', Priority: 'High', Origin: 'Web' })).toMatchObject({ status: 201, body: { success: true } });

    expect(s.salesforce.leads.map((l) => l.fields['LastName'])).toEqual(['Lovelace', 'Hopper']);
    expect(s.salesforce.leads[1]?.fields).toMatchObject({ Hookhub_Id__c: 'ext-1', Title: 'Rear Admiral', Company: 'Navy' });
    expect(s.salesforce.cases[0]).toMatchObject({ createdBy: 'alice', fields: { Subject: 'Webhook failed', Status: 'New' } });
    expect(s.salesforce.count('/services/data/v59.0/sobjects/Lead', 'POST')).toBe(3);

    expect(await call(`${api}/limits`, 'GET', undefined)).toMatchObject({ status: 401, body: [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }] });
    const other = await linkAccount(s.oauth, pipedriveClient); // a token of another app
    expect((await call(`${api}/limits`, 'GET', other.access_token)).status).toBe(401);
    s.salesforce.failNext(1, 503);
    expect(await call(`${api}/limits`, 'GET', token)).toMatchObject({ status: 503, body: [{ errorCode: 'SERVER_UNAVAILABLE' }] });
  });

  it('HubSpot upserts companies, refuses a note to a companies-only token (403 MISSING_SCOPES), sends rate-limit headers and answers 429 past the limit', async () => {
    const { access_token: token } = await linkAccount(s.oauth, hubspotClient, { scope: 'crm.objects.companies.write' });
    const crm = `${s.hubspot.url}/crm/v3/objects`;
    const input = { idProperty: 'hookhub_id', id: 'org-1', properties: { name: 'Acme', domain: 'acme.test' } };
    const first = await call(`${crm}/companies/batch/upsert`, 'POST', token, { inputs: [input] });
    expect(first).toMatchObject({ status: 200, body: { status: 'COMPLETE', results: [{ new: true, properties: { name: 'Acme', hookhub_id: 'org-1' } }] } });
    expect(first.headers.get('x-hubspot-ratelimit-max')).toBe('3');
    expect(first.headers.get('x-hubspot-ratelimit-interval-milliseconds')).toBe('4000');
    expect(first.headers.get('x-hubspot-ratelimit-remaining')).toBe('2');
    expect(first.headers.get('x-hubspot-ratelimit-daily')).toBe('250000');
    const id = (first.body as { results: Array<{ id: string }> }).results[0]?.id ?? '';
    const second = await call(`${crm}/companies/batch/upsert`, 'POST', token, { inputs: [{ ...input, properties: { name: 'Acme Inc' } }] });
    expect(second).toMatchObject({ status: 200, body: { results: [{ id, new: false, properties: { name: 'Acme Inc' } }] } });
    // Notes need crm.objects.contacts.write, which this companies-only token lacks.
    const note = await call(`${crm}/notes`, 'POST', token, {
      properties: { hs_note_body: 'Linked by Hookhub', hs_timestamp: new Date().toISOString() },
      associations: [{ to: { id }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 190 }] }],
    });
    expect(note).toMatchObject({ status: 403, body: { status: 'error', category: 'MISSING_SCOPES', errors: [{ context: { requiredGranularScopes: ['crm.objects.contacts.write'] } }] } });
    expect(note.headers.get('x-hubspot-ratelimit-remaining')).toBe('0');

    const limited = await call(`${crm}/companies/${id}`, 'PATCH', token, { properties: { city: 'Berlin' } });
    expect(limited).toMatchObject({
      status: 429,
      body: { status: 'error', message: 'You have reached your ten_secondly_rolling limit.', errorType: 'RATE_LIMIT', policyName: 'TEN_SECONDLY_ROLLING', category: 'RATE_LIMITS' },
    });
    hubspotClock.advance(4100);
    expect(await call(`${crm}/companies/${id}`, 'PATCH', token, { properties: { city: 'Berlin' } })).toMatchObject({ status: 200, body: { id, properties: { city: 'Berlin' } } });
    expect(await call(`${crm}/companies/batch/upsert`, 'POST', token, { inputs: [{ ...input, idProperty: 'domain' }] })).toMatchObject({ status: 400, body: { category: 'VALIDATION_ERROR' } });
    expect(await call(`${crm}/companies?limit=1`, 'GET', undefined)).toMatchObject({ status: 401, body: { status: 'error', category: 'INVALID_AUTHENTICATION' } });

    expect(s.hubspot.companies).toHaveLength(1);
    expect(s.hubspot.companies[0]).toMatchObject({ createdBy: 'alice', properties: { name: 'Acme Inc', city: 'Berlin', domain: 'acme.test' } });
    expect(s.hubspot.notes).toHaveLength(0);
    expect(s.hubspot.requestsByPath['POST /crm/v3/objects/companies/batch/upsert']).toBe(3);
  });

  it('Pipedrive creates organizations and leads at the api_domain and answers with its documented errors', async () => {
    const { access_token: token, api_domain: domain } = await linkAccount(s.oauth, pipedriveClient, { user: 'carol' });
    const api = `${String(domain)}/api/v1`;
    const me = await call(`${api}/users/me`, 'GET', token);
    expect(me).toMatchObject({ status: 200, body: { success: true, data: { name: 'carol' } } });
    expect(me.headers.get('x-ratelimit-limit')).toBe('80');
    expect(me.headers.get('x-ratelimit-remaining')).toMatch(/^\d+$/);
    expect(me.headers.get('x-ratelimit-reset')).toMatch(/^\d+$/);

    const v2 = `${String(domain)}/api/v2`;
    const org = await call(`${v2}/organizations`, 'POST', token, { name: 'Globex', address: { value: '1 Main St' } });
    expect(org).toMatchObject({ status: 200, body: { success: true, data: { id: 1, name: 'Globex', address: { value: '1 Main St' } } } });
    expect(await call(`${v2}/organizations/1`, 'PATCH', token, { name: 'Globex Corp' })).toMatchObject({ status: 200, body: { success: true, data: { id: 1, name: 'Globex Corp' } } });
    const lead = await call(`${api}/leads`, 'POST', token, { title: 'Globex deal', organization_id: 1 });
    expect(lead).toMatchObject({ status: 201, body: { success: true, data: { title: 'Globex deal', organization_id: 1 } } });
    expect((lead.body as { data: { id: string } }).data.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await call(`${api}/leads`, 'POST', token, { title: 'Orphan' })).toMatchObject({ status: 400, body: { success: false, error: expect.any(String), error_info: expect.any(String) } });

    expect(s.pipedrive.organizations[0]).toMatchObject({ name: 'Globex Corp', createdBy: 'carol', address: { value: '1 Main St' } });
    expect(s.pipedrive.leads).toHaveLength(1);
    expect(await call(`${api}/users/me`, 'GET', 'not-a-token')).toMatchObject({ status: 401, body: { success: false, error: 'unauthorized access', errorCode: 401 } });

    await s.oauth.revoke(token);
    expect((await call(`${api}/users/me`, 'GET', token)).status).toBe(401); // no introspection cache on this one
  });

  it('each emulator rejects an expired access token (3 s TTL) with its documented 401', async () => {
    // Each token is used right after it is issued (so the emulator has seen it valid), then left to expire.
    const sf = await linkAccount(short.oauth, salesforceClient, { scope: 'api' });
    const sfUrl = `${String(sf['instance_url'])}/services/data/v59.0/limits`;
    expect((await call(sfUrl, 'GET', sf.access_token)).status).toBe(200);
    const hs = await linkAccount(short.oauth, hubspotClient, { scope: 'crm.objects.companies.read' });
    const hsUrl = `${short.hubspot.url}/crm/v3/objects/companies?limit=1`;
    expect((await call(hsUrl, 'GET', hs.access_token)).status).toBe(200);
    const pd = await linkAccount(short.oauth, pipedriveClient);
    const pdUrl = `${String(pd['api_domain'])}/api/v1/users/me`;
    expect((await call(pdUrl, 'GET', pd.access_token)).status).toBe(200);
    expect(sf['expires_in']).toBe(3);
    await sleep(4100);

    expect(await call(sfUrl, 'GET', sf.access_token)).toMatchObject({ status: 401, body: [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }] });
    expect(await call(hsUrl, 'GET', hs.access_token)).toMatchObject({ status: 401, body: { status: 'error', category: 'EXPIRED_AUTHENTICATION' } });
    expect(await call(pdUrl, 'GET', pd.access_token)).toMatchObject({ status: 401, body: { success: false, error: 'unauthorized access', errorCode: 401 } });

    // The refresh token outlives the access token: a refreshed token works again.
    const refreshed = await tokenRequest(short.oauth, hubspotClient, { grant_type: 'refresh_token', refresh_token: hs.refresh_token });
    expect(refreshed.status).toBe(200);
    expect((await call(hsUrl, 'GET', String(refreshed.body['access_token']))).status).toBe(200);
  });
});
