import { startPipedriveHub } from '../support/pipedrive-hub';
import type { PipedriveHub } from '../support/pipedrive-hub';
import { waitUntil } from '../support/receiver';
import type { OAuthServer } from '../support/oauth/oauth-server';
import { tenantApi } from '../support/test-hub';
import type { TenantApi, TestHub } from '../support/test-hub';

/**
 * Each tenant's own allowed redirect origins for account linking (GET/PUT /v1/settings), over HTTP
 * against the hub on RabbitMQ and FerretDB, on a hub that sets no hub-wide list
 * (HOOKHUB_OAUTH_REDIRECT_ORIGINS): a tenant's list decides where its own flows may send the
 * browser back to, and never another tenant's.
 */
type Json = Record<string, unknown>;

let hub: PipedriveHub;
let oauth: OAuthServer;
let th: TestHub;

beforeAll(async () => {
  hub = await startPipedriveHub();
  ({ oauth, th } = hub);
});

afterAll(async () => {
  await hub?.stop();
});

const authorize = (api: TenantApi, redirectAfter: string): ReturnType<TenantApi> => api('POST', '/v1/connections/authorize', { connector: 'pipedrive', redirectAfter });
const origins = (...list: string[]): Json => ({ oauth: { redirectOrigins: list } });

/** A key of the same tenant with only these scopes, made by its admin key. */
async function scopedKey(api: TenantApi, scopes: string[]): Promise<string> {
  const made = await api('POST', '/v1/api-keys', { name: `only ${scopes.join(' ')}`, scopes });
  expect(made.status).toBe(201);
  return String(made.body['key']);
}

describe('tenant settings: allowed redirect origins', () => {
  it('start empty; an admin saves a normalized list (GET reads it back, the change is audited); bad origins are refused naming each', async () => {
    const api = await tenantApi(th);
    expect((await api('GET', '/v1/settings')).body).toEqual({ oauth: { redirectOrigins: [] }, updatedAt: null });

    const saved = await api('PUT', '/v1/settings', origins('https://App.Example.com/', 'http://localhost:5173', 'https://app.example.com:443', 'https://staging.example.com:8443'));
    expect(saved.status).toBe(200);
    expect(saved.body).toEqual({ oauth: { redirectOrigins: ['https://app.example.com', 'http://localhost:5173', 'https://staging.example.com:8443'] }, updatedAt: expect.any(String) });
    expect((await api('GET', '/v1/settings')).body).toEqual(saved.body);

    const refusals: Array<[Json, string, string]> = [
      [origins('https://app.example.com/linked'), '/oauth/redirectOrigins/0', 'has a path'],
      [origins('https://ok.example.com', 'http://app.example.com'), '/oauth/redirectOrigins/1', 'https (http only for localhost)'],
      [origins('https://*.example.com'), '/oauth/redirectOrigins/0', 'wildcard'],
      [origins('app.example.com'), '/oauth/redirectOrigins/0', 'not an origin'],
      [origins(...Array.from({ length: 21 }, (_, i) => `https://app${i}.example.com`)), '/oauth/redirectOrigins', 'more than 20'],
      [{ oauth: { redirectOrigins: [] }, theme: 'dark' }, '/theme', 'is not an allowed property'],
      [{ oauth: {} }, '/oauth/redirectOrigins', 'is required'],
    ];
    for (const [body, path, message] of refusals) {
      const refused = await api('PUT', '/v1/settings', body);
      expect({ status: refused.status, body: refused.body }).toEqual({
        status: 400,
        body: { error: { code: 'validation_failed', message: expect.stringContaining('Invalid settings'), details: expect.arrayContaining([{ path, message: expect.stringContaining(message) }]) } },
      });
    }
    // Refused changes left the saved list as it was.
    expect((await api('GET', '/v1/settings')).body).toEqual(saved.body);

    // The audit trail is written in batches: only the change that succeeded, with the names of the fields sent.
    let entries: Json[] = [];
    await waitUntil(async () => {
      entries = (await api('GET', '/v1/audit-log?action=settings.update')).body['data'] as Json[];
      return entries.length > 0;
    }, 10_000, () => JSON.stringify(entries));
    expect(entries).toEqual([expect.objectContaining({ action: 'settings.update', resourceType: 'settings', resourceId: null, fields: ['oauth'], status: 200 })]);
  });

  it('only an admin key changes them; a key with subscriptions:read reads them', async () => {
    const api = await tenantApi(th);
    const linker = await scopedKey(api, ['connections:write']);
    const reader = await scopedKey(api, ['subscriptions:read']);
    const put = await th.api('PUT', '/v1/settings', origins('https://app.example.com'), linker);
    expect(put.status).toBe(403);
    expect(put.body).toMatchObject({ error: { code: 'insufficient_scope', details: { required: 'admin' } } });
    expect((await th.api('GET', '/v1/settings', undefined, reader)).status).toBe(200);
    expect((await th.api('GET', '/v1/settings', undefined, linker)).status).toBe(403);
  });

  it("a tenant's list decides where its linking flows may redirect: another origin is refused saying how to allow it, a listed one is followed after linking", async () => {
    const api = await tenantApi(th);
    // No list anywhere: today's default, any http(s) URL.
    expect((await authorize(api, 'https://anywhere.example.org/back')).status).toBe(201);

    expect((await api('PUT', '/v1/settings', origins('https://app.example.com'))).status).toBe(200);
    const refused = await authorize(api, 'https://anywhere.example.org/back');
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({
      error: {
        code: 'validation_failed',
        message: expect.stringMatching(/redirectAfter goes to https:\/\/anywhere\.example\.org, which is not an allowed origin.*your tenant's: https:\/\/app\.example\.com.*PUT \/v1\/settings/),
        details: [{ path: '/redirectAfter', message: 'origin https://anywhere.example.org not allowed' }],
      },
    });
    // Same host, another port: another origin.
    expect((await authorize(api, 'https://app.example.com:8443/back')).status).toBe(400);

    // A listed origin, any path under it: the browser lands there once the account is linked.
    const started = await authorize(api, 'https://app.example.com/integrations?tab=crm');
    expect(started.status).toBe(201);
    const start = await fetch(String(started.body['authorizationUrl']), { redirect: 'manual' });
    const cookie = (start.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const { redirectedTo } = await oauth.authorize(start.headers.get('location') ?? '');
    const back = await fetch(redirectedTo, { headers: { cookie }, redirect: 'manual' });
    expect(back.status).toBe(302);
    const landed = new URL(back.headers.get('location') ?? '');
    expect(`${landed.origin}${landed.pathname}`).toBe('https://app.example.com/integrations');
    expect(landed.searchParams.get('status')).toBe('linked');

    // Cleared: back to the default.
    expect((await api('PUT', '/v1/settings', origins())).body).toMatchObject({ oauth: { redirectOrigins: [] } });
    expect((await authorize(api, 'https://anywhere.example.org/back')).status).toBe(201);
  });

  it("one tenant's list never applies to another: neither to a tenant without a list nor to one with its own", async () => {
    const [a, b, c] = await Promise.all([tenantApi(th), tenantApi(th), tenantApi(th)]);
    expect((await a('PUT', '/v1/settings', origins('https://a.example.com'))).status).toBe(200);
    expect((await c('PUT', '/v1/settings', origins('https://c.example.com'))).status).toBe(200);

    // B has no list (and the hub none): any origin, as before; it does not see A's settings.
    expect((await b('GET', '/v1/settings')).body).toEqual({ oauth: { redirectOrigins: [] }, updatedAt: null });
    expect((await authorize(b, 'https://elsewhere.example.org/')).status).toBe(201);
    // C's list does not include A's origin, nor A's C's.
    const cToA = await authorize(c, 'https://a.example.com/back');
    expect(cToA.status).toBe(400);
    expect(String((cToA.body['error'] as Json)['message'])).toContain("(your tenant's: https://c.example.com)");
    expect((await authorize(a, 'https://c.example.com/back')).status).toBe(400);
    expect((await authorize(a, 'https://a.example.com/back')).status).toBe(201);
    expect((await authorize(c, 'https://c.example.com/back')).status).toBe(201);
  });
});
