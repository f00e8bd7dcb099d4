import { randomBytes } from 'node:crypto';
import { parseTweet } from 'twitter-text';
import { freePort } from '../support/local-server';
import { waitUntil } from '../support/receiver';
import { XEmulator, userId } from '../support/emulators/x';
import { startOAuthServer } from '../support/oauth/oauth-server';
import type { OAuthServer } from '../support/oauth/oauth-server';
import { startTestHub, tenantApi, waitForAttempts } from '../support/test-hub';
import type { TestHub, TenantApi } from '../support/test-hub';

/**
 * The X connector through the real pipeline (RabbitMQ, FerretDB) against an emulator held to X's documented
 * contract (docs/connectors/x-conformance.md): linking through the local OAuth server (PKCE, Basic client
 * authentication, refresh tokens that rotate), posts cut to 280 weighted characters, the link's rules, a
 * duplicate refused, a grant without tweet.write, a revoked grant, and the 15-minute window's 429 and reset.
 */
type Json = Record<string, unknown>;

const SCOPES = 'tweet.read tweet.write users.read offline.access';
const LISTING = 'https://lawless.directory/b/{id}';
// Small windows so that a spent one resets within the test: 5 posts per account every 4 s.
const USER_LIMIT = 5;
const WINDOW_S = 4;

let oauth: OAuthServer;
let x: XEmulator;
let th: TestHub;

beforeAll(async () => {
  const port = await freePort();
  const hubUrl = `http://127.0.0.1:${port}`;
  // X's answers: two-hour access tokens, a refresh token with offline.access that rotates on every refresh.
  oauth = await startOAuthServer({
    clients: [{ client_id: 'x-app', client_secret: 'x-secret', redirect_uris: [`${hubUrl}/oauth/callback/x`], token_endpoint_auth_method: 'client_secret_basic', accessTokenTtlSeconds: 7200 }],
    rotateRefreshTokens: true,
    requirePkce: true,
    scopes: SCOPES,
  });
  x = await XEmulator.start(oauth.resourceServer, { acceptClientIds: ['x-app'], introspectionCacheMs: 0, userLimit: USER_LIMIT, userWindowSeconds: WINDOW_S });
  th = await startTestHub({
    env: {
      PORT: String(port),
      HOOKHUB_PUBLIC_URL: hubUrl,
      HOOKHUB_X_CLIENT_ID: 'x-app',
      HOOKHUB_X_CLIENT_SECRET: 'x-secret',
      // x.com/i/oauth2/authorize and api.x.com/2/oauth2/token on the local OAuth server, api.x.com/2 on the emulator.
      HOOKHUB_X_AUTHORIZATION_URL: oauth.authorizationUrl,
      HOOKHUB_X_TOKEN_URL: oauth.tokenUrl,
      HOOKHUB_X_BASE_URL: `${x.url}/2`,
    },
  });
});

afterAll(async () => {
  await th?.destroy();
  await x?.close();
  await oauth?.stop();
});

const unique = (): string => randomBytes(4).toString('hex');

/** The linking flow as a person in a browser goes through it; `scope` replaces what the hub asked for (fewer permissions granted). */
async function link(api: TenantApi, opts: { user: string; config?: Json; connectionId?: string; scope?: string }): Promise<string> {
  const authorize = await api('POST', '/v1/connections/authorize', { connector: 'x', ...(opts.connectionId ? { connectionId: opts.connectionId } : { config: opts.config ?? {} }) });
  expect(authorize.status).toBe(201);
  const start = await fetch(String(authorize.body['authorizationUrl']), { redirect: 'manual' });
  const cookie = (start.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const provider = new URL(start.headers.get('location') ?? '');
  expect(provider.searchParams.get('scope')).toBe(SCOPES);
  expect(provider.searchParams.get('code_challenge_method')).toBe('S256');
  if (opts.scope) provider.searchParams.set('scope', opts.scope);
  const { redirectedTo } = await oauth.authorize(provider.toString(), { user: opts.user });
  const done = await fetch(redirectedTo, { headers: { cookie, accept: 'application/json' }, redirect: 'manual' });
  const body = (await done.json()) as Json;
  expect(body).toMatchObject({ status: 'linked', connector: 'x' });
  return String(body['connection']);
}

async function integration(api: TenantApi, connectionId: string, events = ['business.created', 'business.verified', 'review.created']): Promise<string> {
  const created = await api('POST', '/v1/integrations', { connection: connectionId, events });
  expect(created.status).toBe(201);
  return String(created.body['id']);
}

async function deadLetters(api: TenantApi, integrationId: string, count: number): Promise<Json[]> {
  let dead: Json[] = [];
  await waitUntil(async () => {
    dead = (await api('GET', `/v1/dead-letters?subscriptionId=${integrationId}`)).body['data'] as Json[];
    return dead.length >= count;
  });
  return dead;
}

const verified = (id: string, name: string): Json => ({ type: 'business.verified', data: { id, name, verified_at: '2026-11-04T10:00:00Z' } });

describe('X linking', () => {
  it('links with PKCE and Basic client authentication, names the account from /2/users/me, and finds every scope granted', async () => {
    const api = await tenantApi(th);
    const user = `link${unique()}`;
    const id = await link(api, { user });
    const connection = (await api('GET', `/v1/connections/${id}`)).body;
    expect(connection).toMatchObject({ status: 'active', metadata: { provider_account: { id: userId(user), name: `@${user}` } }, requirements: { missing: [] } });
    // Two-hour tokens, and a refresh token for offline.access.
    const expiresIn = Date.parse(String(connection['tokenExpiresAt'])) - Date.now();
    expect(expiresIn).toBeGreaterThan(7100_000);
    expect(expiresIn).toBeLessThanOrEqual(7200_000);
    const credentials = (await th.hub.connections.reload(id))!.context.credentials;
    expect(credentials['refresh_token']).toEqual(expect.any(String));
    expect(credentials['scope']).toBe(SCOPES);
    // The emulator takes the token for the account's own endpoint, and nothing without it.
    const me = await fetch(`${x.url}/2/users/me`, { headers: { authorization: `Bearer ${String(credentials['access_token'])}` } });
    expect(await me.json()).toEqual({ data: { id: userId(user), name: `User ${user}`, username: user } });
    const anonymous = await fetch(`${x.url}/2/tweets`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":"hi"}' });
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toEqual({ title: 'Unauthorized', type: 'about:blank', status: 401, detail: 'Unauthorized' });
  });
});

describe("the emulator's contract (as the connector never breaks it)", () => {
  it('refuses a text over 280 weighted characters (400), fields a post does not take (400), and a token without the endpoint\'s scopes (403)', async () => {
    const api = await tenantApi(th);
    const full = String((await th.hub.connections.reload(await link(api, { user: `emu${unique()}` })))!.context.credentials['access_token']);
    const post = (token: string, body: unknown): Promise<Response> =>
      fetch(`${x.url}/2/tweets`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const tooLong = await post(full, { text: '漢'.repeat(141) });
    expect(tooLong.status).toBe(400);
    expect(await tooLong.json()).toMatchObject({ errors: [{ message: expect.stringContaining('Your Tweet text is too long.') }], type: 'https://api.twitter.com/2/problems/invalid-request' });
    expect(tooLong.headers.get('x-rate-limit-remaining')).toBe(String(USER_LIMIT - 1));
    expect((await post(full, { text: '漢'.repeat(140) })).status).toBe(201);
    expect((await post(full, { text: 'hi', visibility: 'public' })).status).toBe(400);
    const readOnly = String((await th.hub.connections.reload(await link(api, { user: `emuro${unique()}`, scope: 'tweet.read users.read offline.access' })))!.context.credentials['access_token']);
    const refused = await post(readOnly, { text: 'hi' });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ title: 'Forbidden', status: 403 });
    expect((await fetch(`${x.url}/2/users/me`, { headers: { authorization: `Bearer ${readOnly}` } })).status).toBe(200);
  });
});

describe('X posts through the pipeline', () => {
  it("posts what the link's rules choose: listings in its cities, their verification, good reviews cut to fit with the link", async () => {
    const api = await tenantApi(th);
    const user = `rules${unique()}`;
    const id = await link(api, { user, config: { cities: ['Springfield'], min_rating: 4, listing_url: LISTING } });
    const integrationId = await integration(api, id);
    const [here, there] = [`biz_${unique()}`, `biz_${unique()}`];
    const content = 'Crusty outside, soft inside, and the staff are lovely. 焼きたてのパンがとても美味しいです。 🥐👨‍👩‍👧‍👦 '.repeat(6);

    await api('POST', '/v1/events', { type: 'business.created', data: { id: here, name: "Rosa's Corner Bakery", category: 'bakery', address: { city: 'Springfield', state: 'OR' }, status: 'active', created_at: '2026-11-01T10:00:00Z' } });
    await api('POST', '/v1/events', { type: 'business.created', data: { id: there, name: 'Blue Door Bistro', category: 'restaurant', address: { city: 'Austin', state: 'TX' }, status: 'active', created_at: '2026-11-01T10:00:00Z' } });
    await waitUntil(() => x.postsBy(user).length === 1);
    // The verification names no city: it posts because the listing did; the other business's does not.
    await api('POST', '/v1/events', verified(here, "Rosa's Corner Bakery"));
    await api('POST', '/v1/events', verified(there, 'Blue Door Bistro'));
    await api('POST', '/v1/events', { type: 'review.created', data: { id: `rev_${unique()}`, business_id: here, rating: 5, title: 'Best bread', content, author: { name: 'Jamie L.' }, created_at: '2026-11-05T10:00:00Z' } });
    await api('POST', '/v1/events', { type: 'review.created', data: { id: `rev_${unique()}`, business_id: here, rating: 2, content: 'Meh', created_at: '2026-11-05T10:00:00Z' } });
    await waitUntil(() => x.postsBy(user).length === 3);
    let posted: Json[] = [];
    await waitUntil(async () => {
      posted = (await waitForAttempts(api, integrationId, 3)).filter((a) => a['status'] === 'succeeded' && a['skipped'] === null);
      return posted.length === 3;
    });
    expect(posted.map((a) => a['externalId']).sort()).toEqual(x.postsBy(user).map((p) => p.id).sort());

    // Events are not ordered unless a subscription asks: the three posts may come in any order.
    const texts = x.postsBy(user).map((p) => p.text);
    const listing = texts.find((t) => t.startsWith('New on'));
    const verification = texts.find((t) => t.includes('is now verified'));
    const review = texts.find((t) => t.startsWith('★'));
    expect(listing).toBe(`New on Lawless Directory: Rosa's Corner Bakery (bakery) in Springfield, OR. https://lawless.directory/b/${here}`);
    expect(verification).toBe(`Rosa's Corner Bakery is now verified on Lawless Directory. https://lawless.directory/b/${here}`);
    // The review was cut with "…" before the link; twitter-text (the emulator's own count) finds it within 280.
    expect(review).toMatch(new RegExp(`^★★★★★ review by Jamie L\\.: “Best bread” Crusty outside.*… https://lawless\\.directory/b/${here}$`, 'su'));
    const weight = parseTweet(review ?? '').weightedLength;
    expect(weight).toBeLessThanOrEqual(280);
    expect(weight).toBeGreaterThan(250);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(x.postsBy(user)).toHaveLength(3);
  });

  it("fails a duplicate for good with X's detail, and posts nothing twice", async () => {
    const api = await tenantApi(th);
    const user = `dup${unique()}`;
    const integrationId = await integration(api, await link(api, { user }), ['business.verified']);
    const name = `Twin Bakery ${unique()}`;
    await api('POST', '/v1/events', verified(`biz_${unique()}`, name));
    await waitUntil(() => x.postsBy(user).length === 1);
    await api('POST', '/v1/events', verified(`biz_${unique()}`, name));
    const attempts = await waitForAttempts(api, integrationId, 2);
    const failed = attempts.find((a) => a['status'] === 'failed');
    expect(failed).toMatchObject({ httpStatus: 403, error: expect.stringContaining('X refused the post as a duplicate: You are not allowed to create a Tweet with duplicate content.') });
    expect((await deadLetters(api, integrationId, 1))[0]).toMatchObject({ reason: expect.not.stringMatching(/connection_/) });
    expect(x.postsBy(user)).toHaveLength(1);
  });
});

describe('X tokens', () => {
  it('refreshes a refused token, keeps each rotated refresh token (the old one stops working), and posts on', async () => {
    const api = await tenantApi(th);
    const user = `rot${unique()}`;
    const id = await link(api, { user });
    await integration(api, id, ['business.verified']);
    const used: string[] = [];
    for (let round = 1; round <= 2; round++) {
      const loaded = (await th.hub.connections.reload(id))!;
      const before = String(loaded.context.credentials['refresh_token']);
      used.push(before);
      // X stops taking the access token (it expired early, or was rotated out on its side).
      await th.hub.vault.save(loaded.record, { ...loaded.context.credentials, access_token: `expired-${round}` });
      await api('POST', '/v1/events', verified(`biz_${unique()}`, `Round ${round} ${unique()}`));
      await waitUntil(() => x.postsBy(user).length === round);
      const after = (await th.hub.connections.reload(id))!.context.credentials;
      expect(after['refresh_token']).not.toBe(before);
      expect((await oauth.introspect(before)).active).toBe(false);
      expect((await oauth.introspect(String(after['refresh_token']))).active).toBe(true);
    }
    // The second refresh could only work with the token the first one returned.
    expect((await api('GET', `/v1/connections/${id}`)).body['status']).toBe('active');
    const reused = await fetch(oauth.tokenUrl, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from('x-app:x-secret').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: used[0] ?? '' }).toString(),
    });
    expect(reused.status).toBe(400);
    expect(await reused.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('a revoked grant (the user removed the app) marks the connection needs_reauth, parks its posts, and sends them once linked again', async () => {
    const api = await tenantApi(th);
    const user = `rev${unique()}`;
    const id = await link(api, { user });
    const integrationId = await integration(api, id, ['business.verified']);
    await oauth.revoke(String((await th.hub.connections.reload(id))!.context.credentials['refresh_token']), 'refresh_token');
    await api('POST', '/v1/events', verified(`biz_${unique()}`, `Parked Bakery ${unique()}`));
    expect((await deadLetters(api, integrationId, 1))[0]).toMatchObject({ reason: 'connection_needs_reauth' });
    expect((await api('GET', `/v1/connections/${id}`)).body['status']).toBe('needs_reauth');
    expect(x.postsBy(user)).toHaveLength(0);

    await link(api, { user, connectionId: id });
    await waitUntil(() => x.postsBy(user).length === 1);
    expect((await api('GET', `/v1/connections/${id}`)).body['status']).toBe('active');
  });

  it('a grant without tweet.write is named at linking; X refuses its posts (403), which wait until the account is linked with it', async () => {
    const api = await tenantApi(th);
    const user = `ro${unique()}`;
    const id = await link(api, { user, scope: 'tweet.read users.read offline.access' });
    const connection = (await api('GET', `/v1/connections/${id}`)).body;
    expect(JSON.stringify((connection['requirements'] as Json)['missing'])).toContain('tweet.write');
    const integrationId = await integration(api, id, ['business.verified']);
    await api('POST', '/v1/events', verified(`biz_${unique()}`, `Read Only ${unique()}`));
    expect((await deadLetters(api, integrationId, 1))[0]).toMatchObject({ reason: 'connection_broken' });
    expect((await api('GET', `/v1/connections/${id}`)).body).toMatchObject({ status: 'broken', lastError: expect.stringContaining('X does not let this link post') });
    expect(x.requests.some((r) => r.path === '/2/tweets' && r.status === 403 && r.sub === user)).toBe(true);

    await link(api, { user, connectionId: id });
    await waitUntil(() => x.postsBy(user).length === 1);
    expect((await api('GET', `/v1/connections/${id}`)).body).toMatchObject({ status: 'active', requirements: { missing: [] } });
  });
});

describe("X's rate limits", () => {
  it('a 429 (the window spent through other apps) is retried when x-rate-limit-reset says, and then posts', async () => {
    const api = await tenantApi(th);
    const user = `lim${unique()}`;
    const integrationId = await integration(api, await link(api, { user }), ['business.verified']);
    x.spend(user, USER_LIMIT);
    const reset = x.userWindowReset(user);
    const before = x.rateLimited;
    await api('POST', '/v1/events', verified(`biz_${unique()}`, `Busy Bakery ${unique()}`));
    await waitUntil(() => x.postsBy(user).length === 1, 20_000);
    expect(x.rateLimited - before).toBe(1);
    const attempts = await waitForAttempts(api, integrationId, 2);
    const refused = attempts.find((a) => a['httpStatus'] === 429)!;
    expect(refused).toMatchObject({ status: 'failed', next: 'retry' });
    // Retried at the window's reset (Unix seconds, so up to a second after its exact end), not before.
    expect(x.postsBy(user)[0]!.at).toBeGreaterThanOrEqual(reset - 50);
    expect(Math.abs(Date.parse(String(refused['nextAttemptAt'])) - Math.ceil(reset / 1000) * 1000)).toBeLessThanOrEqual(1500);
  });

  it('a window spent by its own posts pauses the link until x-rate-limit-reset: the next post waits, and X refuses none', async () => {
    const api = await tenantApi(th);
    const user = `pace${unique()}`;
    await integration(api, await link(api, { user }), ['business.verified']);
    const before = x.rateLimited;
    for (let i = 0; i <= USER_LIMIT; i++) await api('POST', '/v1/events', verified(`biz_${unique()}`, `Pace ${i} ${unique()}`));
    await waitUntil(() => x.postsBy(user).length === USER_LIMIT + 1, 20_000);
    const posts = x.postsBy(user);
    const windowEnd = (posts[0]?.at ?? 0) + WINDOW_S * 1000;
    expect(posts.slice(0, USER_LIMIT).every((p) => p.at < windowEnd)).toBe(true);
    expect(posts[USER_LIMIT]!.at).toBeGreaterThanOrEqual(windowEnd - 50);
    expect(x.rateLimited).toBe(before);
  });
});
