import { randomBytes } from 'node:crypto';
import { waitUntil } from '../support/receiver';
import type { PipedriveEmulator } from '../support/emulators/pipedrive';
import { startPipedriveHub } from '../support/pipedrive-hub';
import type { PipedriveHub } from '../support/pipedrive-hub';
import { linkAccount } from '../support/oauth/client';
import type { OAuthClientConfig, OAuthServer } from '../support/oauth/oauth-server';
import { businessCreated, tenantApi, waitForAttempts } from '../support/test-hub';
import type { TestHub, TenantApi } from '../support/test-hub';

/**
 * The Pipedrive connector against an emulator that holds it to what Pipedrive documents
 * (docs/connectors/pipedrive-conformance.md): organizations through API v2 (v1's are out of
 * support and refused), a new company without custom fields, and the company's daily token budget.
 */
type Json = Record<string, unknown>;

let hub: PipedriveHub;
let oauth: OAuthServer;
let client: OAuthClientConfig;
let pipedrive: PipedriveEmulator;
let th: TestHub;

beforeAll(async () => {
  // The app registered in Pipedrive's Developer Hub with the scopes the README lists; a new company: no custom organization fields.
  hub = await startPipedriveHub();
  ({ oauth, client, pipedrive, th } = hub);
});

afterAll(async () => {
  await hub?.stop();
});

/** The whole linking flow, as a person in a browser would go through it. */
async function link(api: TenantApi): Promise<string> {
  const authorize = await api('POST', '/v1/connections/authorize', { connector: 'pipedrive' });
  expect(authorize.status).toBe(201);
  const start = await fetch(String(authorize.body['authorizationUrl']), { redirect: 'manual' });
  const cookie = (start.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const provider = new URL(start.headers.get('location') ?? '');
  // Pipedrive's authorization request has no PKCE parameters; none are sent.
  expect(provider.searchParams.has('code_challenge')).toBe(false);
  const { redirectedTo } = await oauth.authorize(provider.toString());
  const done = await fetch(redirectedTo, { headers: { cookie, accept: 'application/json' }, redirect: 'manual' });
  const body = (await done.json()) as Json;
  expect(body).toMatchObject({ status: 'linked', connector: 'pipedrive' });
  return String(body['connection']);
}

async function linked(events: string[], retryConfig?: Json): Promise<{ api: TenantApi; connectionId: string; integrationId: string }> {
  const api = await tenantApi(th);
  const connectionId = await link(api);
  const integration = await api('POST', '/v1/integrations', { connection: connectionId, events, ...(retryConfig ? { retryConfig } : {}) });
  expect(integration.status).toBe(201);
  return { api, connectionId, integrationId: String(integration.body['id']) };
}

describe('Pipedrive organizations through API v2', () => {
  it('the emulator refuses the v1 organization endpoints Pipedrive put out of support, naming the v2 replacement', async () => {
    // The token of a real link, as the hub holds it.
    const api = await tenantApi(th);
    const connectionId = await link(api);
    const stored = (await th.hub.connections.reload(connectionId))!.context.credentials;
    const headers = { authorization: `Bearer ${String(stored['access_token'])}`, 'content-type': 'application/json' };
    const v1 = await fetch(`${pipedrive.url}/api/v1/organizations`, { method: 'POST', headers, body: JSON.stringify({ name: 'Old way' }) });
    expect(v1.status).toBe(410);
    expect(((await v1.json()) as Json)['error']).toContain('/api/v2/organizations');
    const put = await fetch(`${pipedrive.url}/api/v1/organizations/1`, { method: 'PUT', headers, body: JSON.stringify({ name: 'Old way' }) });
    expect(put.status).toBe(410);
    // v2 is strict: a v1-style flat address, or a custom field the company does not have, is refused.
    const flat = await fetch(`${pipedrive.url}/api/v2/organizations`, { method: 'POST', headers, body: JSON.stringify({ name: 'Flat', address: '1 Main St' }) });
    expect(flat.status).toBe(400);
    const custom = await fetch(`${pipedrive.url}/api/v2/organizations`, { method: 'POST', headers, body: JSON.stringify({ name: 'Custom', d4de1c1518b4531717c676029a45911c340390a6: 'x' }) });
    expect(custom.status).toBe(400);
  });

  it('creates the organization (v2, address as an object) and a lead on it (v1), and updates it with PATCH', async () => {
    const { api, integrationId } = await linked(['business.created', 'business.updated']);
    const bizId = `biz_${randomBytes(4).toString('hex')}`;
    const from = pipedrive.requests.length;
    await api('POST', '/v1/events', businessCreated({}, { id: bizId, name: `Acme ${bizId}` }));
    await waitUntil(() => pipedrive.leads.some((l) => l.title === `Directory: Acme ${bizId}`));
    const org = pipedrive.organizations.find((o) => o.name === `Acme ${bizId}`)!;
    expect(org.address).toEqual({ value: '1 Main St, Austin, TX, 78701', locality: 'Austin', admin_area_level_1: 'TX', postal_code: '78701' });
    expect(org.customFields).toEqual({});
    expect(pipedrive.leads.find((l) => l.title === `Directory: Acme ${bizId}`)?.organization_id).toBe(org.id);

    await api('POST', '/v1/events', { type: 'business.updated', data: { id: bizId, changes: { name: { old_value: 'x', new_value: `Acme Two ${bizId}` }, 'address.city': { old_value: 'Austin', new_value: 'Dallas' } }, updated_at: '2026-11-02T10:00:00Z' } });
    await waitUntil(() => org.updates.length === 1);
    expect(org.updates[0]).toEqual({ name: `Acme Two ${bizId}`, address: { value: 'Dallas', locality: 'Dallas' } });

    const paths = pipedrive.requests.slice(from).map((r) => `${r.method} ${r.path.replace(/\d+$/, ':id')} ${r.status}`);
    expect(paths).toEqual(['POST /api/v2/organizations 200', 'POST /api/v1/leads 201', 'PATCH /api/v2/organizations/:id 200']);
    const attempts = await waitForAttempts(api, integrationId, 2);
    expect(attempts.map((a) => a['status'])).toEqual(['succeeded', 'succeeded']);
  });
});

describe('Pipedrive scopes', () => {
  it('the emulator answers 403 "Scope and URL mismatch" to a token without the scope, and the delivery fails saying which scopes the app needs', async () => {
    // A token of an app registered with only the base scope.
    const { access_token: baseOnly } = await linkAccount(oauth, client, { scope: 'base' });
    const refused = await fetch(`${pipedrive.url}/api/v2/organizations`, { method: 'POST', headers: { authorization: `Bearer ${baseOnly}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'No scope' }) });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ success: false, error: 'Scope and URL mismatch', errorCode: 403 });
    expect((await fetch(`${pipedrive.url}/api/v1/users/me`, { headers: { authorization: `Bearer ${baseOnly}` } })).status).toBe(200);

    const { api, connectionId, integrationId } = await linked(['business.created']);
    const loaded = (await th.hub.connections.reload(connectionId))!;
    await th.hub.vault.save(loaded.record, { ...loaded.context.credentials, access_token: baseOnly });
    await api('POST', '/v1/events', businessCreated({}, { id: `biz_${randomBytes(4).toString('hex')}` }));
    const [attempt] = await waitForAttempts(api, integrationId, 1);
    expect(attempt).toMatchObject({ status: 'failed', httpStatus: 403, error: expect.stringContaining('contacts:full') });
    expect(String(attempt!['error'])).toContain("Pipedrive's Developer Hub");
  });
});

describe("Pipedrive's daily token budget", () => {
  it('a 429 once the company budget is spent is retried after the budget resets at midnight UTC, and the attempt says why', async () => {
    // Up to a day's wait is allowed, so the retry can go at midnight rather than the default cap.
    const { api, integrationId } = await linked(['business.created'], { maxBackoffSeconds: 86_400 });
    pipedrive.setDailyBudget(pipedrive.budgetSpent);
    try {
      const before = pipedrive.requests.length;
      await api('POST', '/v1/events', businessCreated({}, { id: `biz_${randomBytes(4).toString('hex')}` }));
      const [first] = await waitForAttempts(api, integrationId, 1);
      expect(first).toMatchObject({ status: 'failed', next: 'retry', httpStatus: 429, error: expect.stringContaining("Pipedrive's daily API budget for this company is spent") });
      const midnight = (Math.floor(Date.parse(String(first!['createdAt'])) / 86_400_000) + 1) * 86_400_000;
      expect(Math.abs(Date.parse(String(first!['nextAttemptAt'])) - midnight)).toBeLessThan(2000);
      // One request, not a burst of retries against a budget that is spent for the day.
      await new Promise((r) => setTimeout(r, 1500));
      expect(pipedrive.requests.slice(before).map((r) => r.status)).toEqual([429]);
    } finally {
      pipedrive.setDailyBudget(30_000_000);
    }
  });

  it("keeps within the 2-second burst window by Pipedrive's x-ratelimit headers, pausing instead of being refused, the linking's own read included", async () => {
    // One request per window, from the start: linking reads the company from /users/me, which spends the
    // first window; that read takes its slot from the connection's limit as deliveries do, so the
    // delivery right after it waits for the next window instead of being refused.
    pipedrive.setBurstLimit(1);
    try {
      const before = pipedrive.requests.length;
      const { api, integrationId } = await linked(['business.created']);
      const bizId = `biz_${randomBytes(4).toString('hex')}`;
      await api('POST', '/v1/events', businessCreated({}, { id: bizId, name: `Burst ${bizId}` }));
      await waitUntil(() => pipedrive.leads.some((l) => l.title === `Directory: Burst ${bizId}`), 15_000);
      const answers = pipedrive.requests.slice(before);
      expect(answers.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual(['GET /api/v1/users/me 200', 'POST /api/v2/organizations 200', 'POST /api/v1/leads 201']);
      const [first] = await waitForAttempts(api, integrationId, 1);
      expect(first).toMatchObject({ status: 'succeeded', attempt: 1 });
    } finally {
      pipedrive.setBurstLimit(80);
    }
  });
});
