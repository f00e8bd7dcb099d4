import { randomBytes } from 'node:crypto';
import { waitUntil } from '../support/receiver';
import { FacebookEmulator } from '../support/emulators/facebook';
import type { FacebookPage } from '../support/emulators/facebook';
import { freePort } from '../support/local-server';
import { startOAuthServer } from '../support/oauth/oauth-server';
import type { OAuthServer } from '../support/oauth/oauth-server';
import { startTestHub, tenantApi, waitForAttempts } from '../support/test-hub';
import type { TestHub, TenantApi } from '../support/test-hub';

/**
 * The Facebook Pages connector through the real pipeline (RabbitMQ, FerretDB) against an emulator of the
 * Graph API (docs/connectors/facebook-pages-conformance.md): Facebook Login through the local OAuth server
 * (its tokens play the short-lived User tokens), then the connector's link steps against the emulator (the
 * long-lived token exchange, the Page chosen from /me/accounts), posts with the Page token, a token
 * Facebook invalidated, and a Page over its rate limit.
 */
type Json = Record<string, unknown>;

const APP_ID = '1234567890123';
const APP_SECRET = 'fb-app-secret-0123456789';
const SCOPES = ['pages_show_list', 'pages_manage_posts', 'pages_read_engagement'];

let oauth: OAuthServer;
let facebook: FacebookEmulator;
let th: TestHub;
let pageSeq = 0;

beforeAll(async () => {
  const port = await freePort();
  const hubUrl = `http://127.0.0.1:${port}`;
  // Facebook's code exchange answers a short-lived User token: no refresh token.
  oauth = await startOAuthServer({
    scopes: SCOPES,
    clients: [{ client_id: APP_ID, client_secret: APP_SECRET, redirect_uris: [`${hubUrl}/oauth/callback/facebook-pages`], token_endpoint_auth_method: 'client_secret_post', accessTokenTtlSeconds: 7200, omit_refresh_token: true }],
  });
  facebook = await FacebookEmulator.start(oauth.resourceServer, { appId: APP_ID, appSecret: APP_SECRET, introspectionCacheMs: 0 });
  th = await startTestHub({
    env: {
      PORT: String(port),
      HOOKHUB_PUBLIC_URL: hubUrl,
      HOOKHUB_FACEBOOK_PAGES_CLIENT_ID: APP_ID,
      HOOKHUB_FACEBOOK_PAGES_CLIENT_SECRET: APP_SECRET,
      // The login dialog and the code exchange on the local OAuth server, the Graph API on the emulator.
      HOOKHUB_FACEBOOK_PAGES_AUTHORIZATION_URL: oauth.authorizationUrl,
      HOOKHUB_FACEBOOK_PAGES_TOKEN_URL: oauth.tokenUrl,
      HOOKHUB_FACEBOOK_PAGES_BASE_URL: `${facebook.url}/v26.0`,
    },
  });
});

afterAll(async () => {
  await th?.destroy();
  await facebook?.close();
  await oauth?.stop();
});

const unique = (): string => randomBytes(4).toString('hex');
const newPageId = (): string => String(104_857_600_000 + ++pageSeq * 7919);

/** The linking flow as a person in a browser goes through it; the callback's answer (linked, or why not). */
async function linkAs(api: TenantApi, user: string, config: Json = {}, connectionId?: string): Promise<{ status: number; body: Json }> {
  const authorize = await api('POST', '/v1/connections/authorize', { connector: 'facebook-pages', config, ...(connectionId ? { connectionId } : {}) });
  expect(authorize.status).toBe(201);
  const start = await fetch(String(authorize.body['authorizationUrl']), { redirect: 'manual' });
  const cookie = (start.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const provider = new URL(start.headers.get('location') ?? '');
  expect(provider.searchParams.get('scope')?.split(' ')).toEqual(SCOPES);
  const { redirectedTo } = await oauth.authorize(provider.toString(), { user });
  const done = await fetch(redirectedTo, { headers: { cookie, accept: 'application/json' }, redirect: 'manual' });
  return { status: done.status, body: (await done.json()) as Json };
}

async function link(api: TenantApi, user: string, config: Json = {}): Promise<Json> {
  const done = await linkAs(api, user, config);
  expect(done.body).toMatchObject({ status: 'linked', connector: 'facebook-pages' });
  return (await api('GET', `/v1/connections/${String(done.body['connection'])}`)).body;
}

async function integration(api: TenantApi, connectionId: string, events: string[]): Promise<string> {
  const created = await api('POST', '/v1/integrations', { connection: connectionId, events });
  expect(created.status).toBe(201);
  return String(created.body['id']);
}

/** A new person with one Page, linked, and an integration of the link for `events`. */
async function linkedPage(name: string, events: string[], config: Json = {}): Promise<{ api: TenantApi; user: string; pageId: string; page: FacebookPage; connectionId: string; integrationId: string }> {
  const api = await tenantApi(th);
  const user = `fb-${unique()}`;
  const pageId = newPageId();
  const page = facebook.addPage(pageId, name, user);
  const connectionId = String((await link(api, user, config))['id']);
  return { api, user, pageId, page, connectionId, integrationId: await integration(api, connectionId, events) };
}

async function storedToken(connectionId: string): Promise<Json> {
  return (await th.hub.connections.reload(connectionId))!.context.credentials;
}

describe('Facebook Login and the link steps', () => {
  it('exchanges the short-lived User token for a long-lived one, then keeps the only Page and its Page token', async () => {
    const api = await tenantApi(th);
    const user = `fb-${unique()}`;
    const pageId = newPageId();
    facebook.addPage(pageId, 'Lawless Bakery', user);
    const connection = await link(api, user);

    const exchange = facebook.requests.filter((r) => r.path === '/v26.0/oauth/access_token').at(-1)!;
    expect(Object.fromEntries(exchange.query)).toMatchObject({ grant_type: 'fb_exchange_token', client_id: APP_ID, client_secret: APP_SECRET });
    expect(facebook.tokenKind(exchange.query.get('fb_exchange_token') ?? '')).toBe('short-lived');
    const listing = facebook.requests.filter((r) => r.path === '/v26.0/me/accounts').at(-1)!;
    expect(facebook.tokenKind(/^Bearer (\S+)$/.exec(String(listing.headers.authorization))?.[1] ?? '')).toBe('user');

    const stored = await storedToken(String(connection['id']));
    expect(facebook.tokenKind(String(stored['access_token']))).toBe('page');
    // A Page token from a long-lived User token does not expire, and there is no refresh token.
    expect(stored).toMatchObject({ refresh_token: null, expires_at: null });
    expect(connection['tokenExpiresAt']).toBeNull();
    expect(connection['metadata']).toMatchObject({ page_id: pageId, page_name: 'Lawless Bakery', provider_account: { id: pageId, name: 'Lawless Bakery' } });
    const check = await api('POST', `/v1/connections/${String(connection['id'])}/check`);
    expect(check.body).toMatchObject({ ok: true });
  });

  it('refuses to choose among several Pages, naming them, and links the one page_id names', async () => {
    const api = await tenantApi(th);
    const user = `fb-${unique()}`;
    const first = newPageId();
    const second = newPageId();
    facebook.addPage(first, 'Bakery North', user);
    facebook.addPage(second, 'Bakery South', user);
    const refused = await linkAs(api, user);
    expect(refused.status).toBe(409);
    expect(refused.body['error']).toMatchObject({
      code: 'oauth_link_refused',
      message: `Facebook Pages was not linked: the account manages 2 Pages: Bakery North (${first}), Bakery South (${second}). Set page_id to the one to post to and link again (POST /v1/connections/authorize with config.page_id)`,
    });

    const unknown = await linkAs(api, user, { page_id: '999' });
    expect((unknown.body['error'] as Json)['message']).toContain(`did not grant the Page 999 (page_id). It granted Bakery North (${first}), Bakery South (${second})`);

    const connection = await link(api, user, { page_id: second });
    expect(connection['metadata']).toMatchObject({ page_id: second, provider_account: { id: second, name: 'Bakery South' } });

    // Linked again with the other page_id: the steps run with the link's settings merged with the new ones.
    const id = String(connection['id']);
    const relinked = await linkAs(api, user, { page_id: first }, id);
    expect(relinked.body).toMatchObject({ status: 'linked', connection: id });
    expect((await api('GET', `/v1/connections/${id}`)).body['metadata']).toMatchObject({ page_id: first, page_name: 'Bakery North', provider_account: { id: first, name: 'Bakery North' } });
  });

  it('refuses a Page the person cannot create content on, and an account with no Page', async () => {
    const api = await tenantApi(th);
    const analyst = `fb-${unique()}`;
    const pageId = newPageId();
    facebook.addPage(pageId, 'Read Only Cafe', analyst, ['ANALYZE']);
    const refused = await linkAs(api, analyst);
    expect(refused.status).toBe(409);
    expect((refused.body['error'] as Json)['message']).toContain(`cannot create content on the Page Read Only Cafe (${pageId})`);
    const nobody = await linkAs(api, `fb-${unique()}`);
    expect(nobody.status).toBe(409);
    expect((nobody.body['error'] as Json)['message']).toContain('the Facebook account manages no Page');
  });
});

describe('Facebook Pages posts through the pipeline', () => {
  it('posts a verified business and a 5-star review with the Page token, and skips a 3-star review', async () => {
    const { api, page, integrationId } = await linkedPage('Lawless Directory', ['business.verified', 'review.created'], {
      listing_url: 'https://directory.example.com/b/{business_id}',
      directory_name: 'Lawless Directory',
    });
    const id = unique();
    await api('POST', '/v1/events', { type: 'business.verified', data: { id: `biz_${id}`, name: "Rosa's Bakery", verified_at: '2026-11-04T10:00:00Z' } });
    await api('POST', '/v1/events', { type: 'review.created', data: { id: `rev_${id}`, business_id: `biz_${id}`, rating: 5, title: 'Great bread', author: { name: 'Bo' }, created_at: '2026-11-05T10:00:00Z' } });
    await api('POST', '/v1/events', { type: 'review.created', data: { id: `rev3_${id}`, business_id: `biz_${id}`, rating: 3, created_at: '2026-11-05T11:00:00Z' } });
    const attempts = await waitForAttempts(api, integrationId, 3);
    await waitUntil(() => page.posts.length === 2);
    expect(page.posts).toHaveLength(2);
    expect(page.posts.map((p) => ({ message: p.message, link: p.link, via: p.via }))).toEqual(
      expect.arrayContaining([
        { message: "Rosa's Bakery is now a verified business on Lawless Directory.", link: `https://directory.example.com/b/biz_${id}`, via: 'page' },
        { message: '★★★★★ A new 5-star review on Lawless Directory: Great bread — Bo', link: `https://directory.example.com/b/biz_${id}`, via: 'page' },
      ]),
    );
    expect(attempts.map((a) => a['status'])).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(attempts.filter((a) => a['skipped'] !== null)).toHaveLength(1);
    expect(attempts.map((a) => a['externalId']).filter(Boolean).sort()).toEqual(page.posts.map((p) => p.id).sort());
  });

  it('the emulator refuses a post made with the User token, as Graph does (403, code 200)', async () => {
    const user = `fb-${unique()}`;
    const pageId = newPageId();
    facebook.addPage(pageId, 'User Token Diner', user);
    await link(await tenantApi(th), user);
    // The long-lived User token the link step listed the Pages with.
    const longLived = facebook.requests.find((r) => r.path === '/v26.0/me/accounts' && r.sub === user)!.headers.authorization;
    expect(facebook.tokenKind(String(longLived).replace(/^Bearer /, ''))).toBe('user');
    const answer = await fetch(`${facebook.url}/v26.0/${pageId}/feed`, { method: 'POST', headers: { authorization: String(longLived), 'content-type': 'application/json' }, body: JSON.stringify({ message: 'hi' }) });
    expect(answer.status).toBe(403);
    expect(await answer.json()).toMatchObject({ error: { type: 'OAuthException', code: 200, message: expect.stringContaining('pages_manage_posts permission with page token') } });
  });

  it('a token Facebook invalidated (190, subcode 460) parks the deliveries and marks the connection needs_reauth', async () => {
    const { api, user, pageId, page, connectionId, integrationId } = await linkedPage('Password Changed Pub', ['business.verified']);
    facebook.changePassword(user);
    await api('POST', '/v1/events', { type: 'business.verified', data: { id: `biz_${unique()}`, verified_at: '2026-11-04T10:00:00Z' } });
    let dead: Json[] = [];
    await waitUntil(async () => {
      dead = (await api('GET', `/v1/dead-letters?subscriptionId=${integrationId}`)).body['data'] as Json[];
      return dead.length === 1;
    });
    expect(dead[0]).toMatchObject({ reason: 'connection_needs_reauth' });
    expect((await api('GET', `/v1/connections/${connectionId}`)).body).toMatchObject({
      status: 'needs_reauth',
      lastError: 'the API refused the access token and the provider gave no refresh token to replace it',
    });
    const refusals = facebook.requests.filter((r) => r.path === `/v26.0/${pageId}/feed`);
    expect(refusals.map((r) => r.status)).toEqual([400]);
    expect(page.posts).toEqual([]);
  });

  it('a Page over its rate limit (80001) is retried after the estimated_time_to_regain_access of X-Business-Use-Case-Usage', async () => {
    const { api, pageId, page, integrationId } = await linkedPage('Busy Bistro', ['business.verified']);
    facebook.throttlePage(pageId, 2);
    await api('POST', '/v1/events', { type: 'business.verified', data: { id: `biz_${unique()}`, name: 'Bistro', verified_at: '2026-11-04T10:00:00Z' } });
    const [attempt] = await waitForAttempts(api, integrationId, 1);
    const throttled = facebook.requests.find((r) => r.path === `/v26.0/${pageId}/feed`)!;
    expect(throttled.status).toBe(400);
    expect(attempt).toMatchObject({ status: 'failed', next: 'retry', error: expect.stringContaining('Facebook is throttling the requests ((#80001) There have been too many calls to this Page account') });
    const waitedMs = Date.parse(String(attempt!['nextAttemptAt'])) - Date.parse(String(attempt!['createdAt']));
    expect(waitedMs).toBeGreaterThanOrEqual(115_000);
    expect(waitedMs).toBeLessThanOrEqual(125_000);
    expect(page.posts).toEqual([]);
    facebook.resetUsage(pageId);
  });

  it('pauses a link whose usage header says the Page budget is spent, instead of being refused (80001) on the next post', async () => {
    const { api, pageId, page, integrationId } = await linkedPage('Nearly Full Cafe', ['business.verified']);
    // Two posts left in the Page's budget; once spent, Graph estimates a minute to regain access.
    Object.assign(page, { budget: page.calls + 2, regainMinutes: 1 });
    const verify = (n: number): Promise<unknown> => api('POST', '/v1/events', { type: 'business.verified', data: { id: `biz_${unique()}`, name: `Cafe ${n}`, verified_at: '2026-11-04T10:00:00Z' } });
    await verify(1);
    await waitUntil(() => page.posts.length === 1);
    await verify(2);
    await waitUntil(() => page.posts.length === 2);
    await verify(3);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const feed = facebook.requests.filter((r) => r.path === `/v26.0/${pageId}/feed`);
    expect(feed.map((r) => r.status)).toEqual([200, 200]);
    expect(await waitForAttempts(api, integrationId, 2)).toHaveLength(2);
    facebook.resetUsage(pageId);
  });
});
