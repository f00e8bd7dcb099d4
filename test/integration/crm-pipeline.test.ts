import { randomBytes } from 'node:crypto';
import { freePort } from '../support/local-server';
import { startReceiver, waitUntil } from '../support/receiver';
import type { Receiver } from '../support/receiver';
import { HubSpotEmulator } from '../support/emulators/hubspot';
import { PipedriveEmulator } from '../support/emulators/pipedrive';
import { SalesforceEmulator } from '../support/emulators/salesforce';
import { linkThroughBrowser } from '../support/oauth-link';
import { startOAuthServer } from '../support/oauth/oauth-server';
import type { OAuthServer } from '../support/oauth/oauth-server';
import { businessCreated, startTestHub, tenantApi, waitForAttempts } from '../support/test-hub';
import type { TenantApi, TestHub } from '../support/test-hub';

/**
 * The pipeline funnel through the real pipeline: businesses delivered as Salesforce Leads, HubSpot
 * companies and Pipedrive organizations and leads; Leads and leads converted, deals created and won in the CRM (the emulators' test hooks, as a sales team does it),
 * the read-back job run directly, the funnel per connection and route, and crm.lead_converted and
 * crm.opportunity_won delivered once each to a subscribed endpoint.
 */
type Json = Record<string, unknown>;

const EXTERNAL_ID = 'Directory_Business_Id__c';
let oauth: OAuthServer;
let org: SalesforceEmulator;
let hubspot: HubSpotEmulator;
let pipedrive: PipedriveEmulator;
let receiver: Receiver;
let th: TestHub;

beforeAll(async () => {
  const port = await freePort();
  const hubUrl = `http://127.0.0.1:${port}`;
  oauth = await startOAuthServer({
    accessTokenTtlSeconds: 3600,
    clients: [
      { client_id: 'sf-app', client_secret: 'sf-secret', redirect_uris: [`${hubUrl}/oauth/callback/salesforce`], token_endpoint_auth_method: 'client_secret_post' },
      { client_id: 'hs-app', client_secret: 'hs-secret', redirect_uris: [`${hubUrl}/oauth/callback/hubspot`], token_endpoint_auth_method: 'client_secret_post' },
      // Pipedrive's scopes come from the app's registration: the funnel needs deals:read besides the delivery scopes.
      { client_id: 'pd-app', client_secret: 'pd-secret', redirect_uris: [`${hubUrl}/oauth/callback/pipedrive`], token_endpoint_auth_method: 'client_secret_basic', default_scope: 'base contacts:full leads:full deals:read' },
    ],
  });
  [org, hubspot, pipedrive, receiver] = await Promise.all([
    SalesforceEmulator.start(oauth.resourceServer, { acceptClientIds: ['sf-app'], introspectionCacheMs: 0, externalIdFields: { Lead: [EXTERNAL_ID] } }),
    HubSpotEmulator.start(oauth.resourceServer, { acceptClientIds: ['hs-app'], introspectionCacheMs: 0, uniqueProperties: ['directory_business_id'] }),
    PipedriveEmulator.start(oauth.resourceServer, { acceptClientIds: ['pd-app'], introspectionCacheMs: 0 }),
    startReceiver(),
  ]);
  await oauth.setExtraTokenFields('sf-app', { instance_url: org.url });
  await oauth.setExtraTokenFields('pd-app', { api_domain: pipedrive.url });
  th = await startTestHub({
    env: {
      PORT: String(port),
      HOOKHUB_PUBLIC_URL: hubUrl,
      HOOKHUB_SALESFORCE_CLIENT_ID: 'sf-app',
      HOOKHUB_SALESFORCE_CLIENT_SECRET: 'sf-secret',
      HOOKHUB_SALESFORCE_AUTHORIZATION_URL: oauth.authorizationUrl,
      HOOKHUB_SALESFORCE_TOKEN_URL: oauth.tokenUrl,
      HOOKHUB_HUBSPOT_CLIENT_ID: 'hs-app',
      HOOKHUB_HUBSPOT_CLIENT_SECRET: 'hs-secret',
      HOOKHUB_HUBSPOT_AUTHORIZATION_URL: oauth.authorizationUrl,
      HOOKHUB_HUBSPOT_TOKEN_URL: `${hubspot.url}/oauth/2026-03/token`,
      HOOKHUB_HUBSPOT_BASE_URL: hubspot.url,
      HOOKHUB_PIPEDRIVE_CLIENT_ID: 'pd-app',
      HOOKHUB_PIPEDRIVE_CLIENT_SECRET: 'pd-secret',
      HOOKHUB_PIPEDRIVE_AUTHORIZATION_URL: oauth.authorizationUrl,
      HOOKHUB_PIPEDRIVE_TOKEN_URL: oauth.tokenUrl,
    },
  });
});

afterAll(async () => {
  await th?.destroy();
  await Promise.all([org?.close(), hubspot?.close(), pipedrive?.close(), receiver?.close()]);
  await oauth?.stop();
});

const leadOf = (id: string): SalesforceEmulator['records'][number] => {
  const lead = org.leads.find((l) => l.fields[EXTERNAL_ID] === id);
  if (!lead) throw new Error(`no Lead for ${id}`);
  return lead;
};

/** The CRM events the receiver got, as [type, external_id]. */
const crmEvents = (path: string): Array<[string, string]> =>
  receiver.requests.filter((r) => r.path === path).map((r) => [String(r.json['type']), String((r.json['data'] as Json)['external_id'])]);

describe('CRM pipeline funnel', () => {
  it('reads back converted Leads and won Opportunities: the funnel per route, and each event delivered once', async () => {
    const api: TenantApi = await tenantApi(th);
    const conId = await linkThroughBrowser(api, oauth, { connector: 'salesforce', config: { currency: 'USD' } });
    const integration = await api('POST', '/v1/integrations', {
      connection: conId,
      events: ['business.created'],
      qualification: { routes: [{ when: "data.category = 'restaurant'", connection: conId, label: 'restaurants' }] },
    });
    expect(integration.status).toBe(201);
    const hookPath = `/crm/${conId}`;
    const subscription = await api('POST', '/v1/subscriptions', { endpointUrl: `${receiver.url}${hookPath}`, events: ['crm.lead_converted', 'crm.opportunity_won'] });
    expect(subscription.status).toBe(201);

    const [bistro, bakery, florist] = [0, 1, 2].map(() => `biz_${randomBytes(4).toString('hex')}`) as [string, string, string];
    await api('POST', '/v1/events', businessCreated({}, { id: bistro, name: 'Blue Door Bistro', category: 'restaurant' }));
    await api('POST', '/v1/events', businessCreated({}, { id: bakery, name: 'Rye Bakery', category: 'bakery' }));
    await api('POST', '/v1/events', businessCreated({}, { id: florist, name: 'Fern Florist', category: 'florist' }));
    await waitForAttempts(api, String(integration.body['id']), 3);

    // Nothing converted yet: one SOQL query for the three Leads, no event.
    const first = await th.hub.readback.runConnection(conId);
    expect(first).toMatchObject({ read: 3, requests: 1, converted: 0, won: 0, stopped: null });
    expect(org.conversions.queries).toHaveLength(1);
    const inList = /WHERE Id IN \((.*)\)$/.exec(org.conversions.queries[0] ?? '')?.[1]?.split(', ');
    expect(inList?.sort()).toEqual([bistro, bakery, florist].map((id) => `'${leadOf(id).id}'`).sort());

    const bistroDeal = org.convertLead(leadOf(bistro).id, { amount: 5000 });
    const bakeryDeal = org.convertLead(leadOf(bakery).id, { amount: 1200 });
    org.conversions.setStage(bakeryDeal.Id, 'Closed Won');
    expect(await th.hub.readback.runConnection(conId)).toMatchObject({ read: 3, requests: 1, converted: 2, won: 1 });
    await waitUntil(() => crmEvents(hookPath).length >= 3);
    expect(crmEvents(hookPath).sort()).toEqual(
      [
        ['crm.lead_converted', leadOf(bistro).id],
        ['crm.lead_converted', leadOf(bakery).id],
        ['crm.opportunity_won', leadOf(bakery).id],
      ].sort(),
    );
    const won = receiver.requests.find((r) => r.path === hookPath && r.json['type'] === 'crm.opportunity_won');
    expect(won?.json['data']).toMatchObject({
      connection_id: conId,
      connector: 'salesforce',
      object_type: 'Lead',
      opportunity_id: bakeryDeal.Id,
      stage: 'Closed Won',
      amount: 1200,
      currency: 'USD',
      route: null,
      subject_id: bakery,
    });

    const funnel = await api('GET', `/v1/connections/${conId}/pipeline`);
    expect(funnel.status).toBe(200);
    expect(funnel.body).toMatchObject({
      connectionId: conId,
      truncated: false,
      sent: { count: 3 },
      created: { count: 3 },
      converted: { count: 2, amount: { USD: 6200 } },
      won: { count: 1, amount: { USD: 1200 } },
      rates: { created: 1, converted: 0.6667, won: 0.5, overall: 0.3333 },
      timeToConvert: { count: 2 },
    });
    expect(funnel.body['routes']).toEqual([
      expect.objectContaining({ route: 'restaurants', sent: { count: 1, amount: {} }, converted: { count: 1, amount: { USD: 5000 } }, won: { count: 0, amount: {} } }),
      expect.objectContaining({ route: null, sent: { count: 2, amount: {} }, converted: { count: 1, amount: { USD: 1200 } }, won: { count: 1, amount: { USD: 1200 } } }),
    ]);

    // The next run announces nothing again; a deal won later is announced once.
    expect(await th.hub.readback.runConnection(conId)).toMatchObject({ read: 2, converted: 0, won: 0 });
    org.conversions.setStage(bistroDeal.Id, 'Closed Won', 5500);
    expect(await th.hub.readback.runConnection(conId)).toMatchObject({ read: 2, converted: 0, won: 1 });
    expect(await th.hub.readback.runConnection(conId)).toMatchObject({ read: 1, converted: 0, won: 0 });
    await waitUntil(() => crmEvents(hookPath).length >= 4);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(crmEvents(hookPath).filter(([type]) => type === 'crm.opportunity_won').map(([, id]) => id).sort()).toEqual([leadOf(bistro).id, leadOf(bakery).id].sort());
    expect(crmEvents(hookPath).filter(([type]) => type === 'crm.lead_converted')).toHaveLength(2);
    expect((await api('GET', `/v1/connections/${conId}/pipeline`)).body).toMatchObject({ won: { count: 2, amount: { USD: 6700 } } });

    // Another tenant sees no such connection; a later `since` counts nothing.
    const other = await tenantApi(th);
    expect((await other('GET', `/v1/connections/${conId}/pipeline`)).status).toBe(404);
    const later = await api('GET', `/v1/connections/${conId}/pipeline?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`);
    expect(later.body).toMatchObject({ sent: { count: 0 }, rates: { created: null } });
    expect((await api('GET', `/v1/connections/${conId}/pipeline?since=yesterday`)).status).toBe(400);
  });

  it('reads back the deals of the HubSpot companies it created: the company with a won deal is converted and won, once', async () => {
    const api: TenantApi = await tenantApi(th);
    const conId = await linkThroughBrowser(api, oauth, { connector: 'hubspot' });
    const integration = await api('POST', '/v1/integrations', { connection: conId, events: ['business.created', 'business.updated'] });
    expect(integration.status).toBe(201);
    const hookPath = `/crm/${conId}`;
    expect((await api('POST', '/v1/subscriptions', { endpointUrl: `${receiver.url}${hookPath}`, events: ['crm.lead_converted', 'crm.opportunity_won'] })).status).toBe(201);
    const [cafe, gym] = [0, 1].map(() => `biz_${randomBytes(4).toString('hex')}`) as [string, string];
    await api('POST', '/v1/events', businessCreated({}, { id: cafe, name: 'Corner Cafe' }));
    await api('POST', '/v1/events', businessCreated({}, { id: gym, name: 'Iron Gym' }));
    // A change to a company it created is not another record.
    await api('POST', '/v1/events', { type: 'business.updated', data: { id: gym, changes: { name: { old_value: 'Iron Gym', new_value: 'Iron Gym Two' } }, updated_at: '2026-11-02T10:00:00Z' } });
    await waitForAttempts(api, String(integration.body['id']), 3);
    const companyOf = (id: string): string => String(hubspot.companies.find((c) => c.properties['directory_business_id'] === id)?.id);

    // No deal yet: one association read, no deal read.
    expect(await th.hub.readback.runConnection(conId)).toMatchObject({ read: 2, requests: 1, converted: 0, won: 0, stopped: null });
    const early = hubspot.deals.createDeal(companyOf(cafe), { amount: 300, stage: 'qualifiedtobuy' });
    const big = hubspot.deals.createDeal(companyOf(cafe), { amount: 2500, stage: 'contractsent' });
    hubspot.deals.setStage(big.id, 'closedwon');
    expect(await th.hub.readback.runConnection(conId)).toMatchObject({ read: 2, requests: 2, converted: 1, won: 1, stopped: null });
    expect(await th.hub.readback.runConnection(conId)).toMatchObject({ read: 1, converted: 0, won: 0 });
    await waitUntil(() => crmEvents(hookPath).length >= 2);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(crmEvents(hookPath).sort()).toEqual([['crm.lead_converted', companyOf(cafe)], ['crm.opportunity_won', companyOf(cafe)]].sort());
    const won = receiver.requests.find((r) => r.path === hookPath && r.json['type'] === 'crm.opportunity_won');
    expect(won?.json['data']).toMatchObject({ connector: 'hubspot', object_type: 'company', opportunity_id: big.id, stage: 'closedwon', amount: 2500, currency: 'USD', subject_id: cafe });
    expect(early.properties['dealstage']).toBe('qualifiedtobuy');

    const funnel = await api('GET', `/v1/connections/${conId}/pipeline`);
    expect(funnel.body).toMatchObject({ connector: 'hubspot', sent: { count: 2 }, created: { count: 2 }, converted: { count: 1, amount: { USD: 2500 } }, won: { count: 1, amount: { USD: 2500 } }, rates: { converted: 0.5, won: 1 } });
  });

  it("reads back the deals of the Pipedrive organizations it created: a lead converted into a deal, then won, announced once each", async () => {
    const api: TenantApi = await tenantApi(th);
    const conId = await linkThroughBrowser(api, oauth, { connector: 'pipedrive' });
    const integration = await api('POST', '/v1/integrations', { connection: conId, events: ['business.created'] });
    expect(integration.status).toBe(201);
    const hookPath = `/crm/${conId}`;
    expect((await api('POST', '/v1/subscriptions', { endpointUrl: `${receiver.url}${hookPath}`, events: ['crm.lead_converted', 'crm.opportunity_won'] })).status).toBe(201);
    const [shop, salon] = [0, 1].map(() => `biz_${randomBytes(4).toString('hex')}`) as [string, string];
    await api('POST', '/v1/events', businessCreated({}, { id: shop, name: `Shop ${shop}` }));
    await api('POST', '/v1/events', businessCreated({}, { id: salon, name: `Salon ${salon}` }));
    await waitForAttempts(api, String(integration.body['id']), 2);
    const orgOf = (name: string): string => String(pipedrive.organizations.find((o) => o.name === name)?.id);
    const leadOf = (name: string): string => String(pipedrive.leads.find((l) => l.organization_id === Number(orgOf(name)))?.id);

    // One deals request per organization, none converted yet.
    expect(await th.hub.readback.runConnection(conId)).toMatchObject({ read: 2, requests: 2, converted: 0, stopped: null });
    const deal = pipedrive.deals.convertLead(leadOf(`Shop ${shop}`), { value: 900, currency: 'EUR' });
    pipedrive.deals.setStatus(deal.id, 'won');
    expect(await th.hub.readback.runConnection(conId)).toMatchObject({ read: 2, requests: 2, converted: 1, won: 1, stopped: null });
    expect(await th.hub.readback.runConnection(conId)).toMatchObject({ read: 1, requests: 1, converted: 0, won: 0 });
    await waitUntil(() => crmEvents(hookPath).length >= 2);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const shopOrg = orgOf(`Shop ${shop}`);
    expect(crmEvents(hookPath).sort()).toEqual([['crm.lead_converted', shopOrg], ['crm.opportunity_won', shopOrg]].sort());
    const won = receiver.requests.find((r) => r.path === hookPath && r.json['type'] === 'crm.opportunity_won');
    expect(won?.json['data']).toMatchObject({ connector: 'pipedrive', object_type: 'organization', opportunity_id: String(deal.id), stage: 'won', amount: 900, currency: 'EUR', subject_id: shop });
    expect((await api('GET', `/v1/connections/${conId}/pipeline`)).body).toMatchObject({ connector: 'pipedrive', sent: { count: 2 }, converted: { count: 1, amount: { EUR: 900 } }, won: { count: 1, amount: { EUR: 900 } } });
  });
});
