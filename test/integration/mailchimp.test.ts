import { randomBytes } from 'node:crypto';
import { waitUntil } from '../support/receiver';
import { MailchimpEmulator, subscriberHash } from '../support/emulators/mailchimp';
import { startOAuthServer } from '../support/oauth/oauth-server';
import type { OAuthClientConfig, OAuthServer } from '../support/oauth/oauth-server';
import { startTestHub, tenantApi, waitForAttempts } from '../support/test-hub';
import type { TestHub, TenantApi } from '../support/test-hub';
import { freePort } from '../support/local-server';

/**
 * The Mailchimp connector through the real pipeline (RabbitMQ, FerretDB) against an emulator that
 * holds it to what Mailchimp documents (docs/connectors/mailchimp-conformance.md): linking through
 * the local OAuth server, the account's data centre from the metadata endpoint, members under the
 * subscriber hash, merge fields the audience has, tags and events, problem-details errors, and the
 * account's 10 simultaneous connections.
 */
type Json = Record<string, unknown>;

const USERS = 'usr0list01';
const OWNERS = 'own0list01';

let oauth: OAuthServer;
let client: OAuthClientConfig;
let mailchimp: MailchimpEmulator;
let th: TestHub;

beforeAll(async () => {
  const port = await freePort();
  const hubUrl = `http://127.0.0.1:${port}`;
  // Mailchimp's token answer: no refresh token, expires_in 0 (tokens do not expire), scope null.
  client = {
    client_id: 'mc-app',
    client_secret: 'mc-secret',
    redirect_uris: [`${hubUrl}/oauth/callback/mailchimp`],
    token_endpoint_auth_method: 'client_secret_post',
    accessTokenTtlSeconds: 30 * 24 * 3600,
    omit_refresh_token: true,
    extraTokenFields: { expires_in: 0, scope: null },
  };
  oauth = await startOAuthServer({ clients: [client] });
  mailchimp = await MailchimpEmulator.start(oauth.resourceServer, { acceptClientIds: ['mc-app'], introspectionCacheMs: 0 });
  mailchimp.addList(USERS, ['PLAN']);
  mailchimp.addList(OWNERS, ['COMPANY']);
  th = await startTestHub({
    env: {
      PORT: String(port),
      HOOKHUB_PUBLIC_URL: hubUrl,
      HOOKHUB_MAILCHIMP_CLIENT_ID: 'mc-app',
      HOOKHUB_MAILCHIMP_CLIENT_SECRET: 'mc-secret',
      // login.mailchimp.com: authorize and token on the local OAuth server, the metadata on the emulator.
      HOOKHUB_MAILCHIMP_AUTHORIZATION_URL: oauth.authorizationUrl,
      HOOKHUB_MAILCHIMP_TOKEN_URL: oauth.tokenUrl,
      HOOKHUB_MAILCHIMP_ACCOUNT_URL: `${mailchimp.url}/oauth2/metadata`,
    },
  });
});

afterAll(async () => {
  await th?.destroy();
  await mailchimp?.close();
  await oauth?.stop();
});

/** The whole linking flow, as a person in a browser would go through it. */
async function link(api: TenantApi, config: Json = { list_id: USERS, owners_list_id: OWNERS }, user?: string): Promise<Json> {
  const authorize = await api('POST', '/v1/connections/authorize', { connector: 'mailchimp', config });
  expect(authorize.status).toBe(201);
  const start = await fetch(String(authorize.body['authorizationUrl']), { redirect: 'manual' });
  const cookie = (start.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const provider = new URL(start.headers.get('location') ?? '');
  // Mailchimp has no scopes and no PKCE.
  expect(provider.searchParams.has('code_challenge')).toBe(false);
  const { redirectedTo } = await oauth.authorize(provider.toString(), user ? { user } : {});
  const done = await fetch(redirectedTo, { headers: { cookie, accept: 'application/json' }, redirect: 'manual' });
  const body = (await done.json()) as Json;
  expect(body).toMatchObject({ status: 'linked', connector: 'mailchimp' });
  return (await api('GET', `/v1/connections/${String(body['connection'])}`)).body;
}

async function integration(api: TenantApi, connectionId: string, events: string[]): Promise<string> {
  const created = await api('POST', '/v1/integrations', { connection: connectionId, events });
  expect(created.status).toBe(201);
  return String(created.body['id']);
}

const unique = (): string => randomBytes(4).toString('hex');

describe('Mailchimp linking', () => {
  it("reads the account's data centre from the metadata endpoint (OAuth scheme) and sends every API request there", async () => {
    const api = await tenantApi(th);
    const before = mailchimp.count('/oauth2/metadata');
    const connection = await link(api);
    expect(mailchimp.count('/oauth2/metadata')).toBe(before + 1);
    const metadataRequest = mailchimp.requests.filter((r) => r.path === '/oauth2/metadata').at(-1)!;
    expect(metadataRequest.headers.authorization).toMatch(/^OAuth \S+$/);
    expect(connection['metadata']).toMatchObject({ dc: 'us7', api_endpoint: mailchimp.url, provider_account: { id: expect.stringMatching(/^\d+$/), name: expect.stringContaining('Account of') } });
    // Tokens do not expire and there is no refresh token.
    expect(connection['tokenExpiresAt']).toBeNull();
    const stored = (await th.hub.connections.reload(String(connection['id'])))!.context.credentials;
    expect(stored['refresh_token']).toBeNull();
    // Both audiences have the merge fields the connector writes.
    expect(connection['requirements']).toMatchObject({ missing: [], unchecked: [] });
    // The metadata endpoint takes only the OAuth scheme; the API takes Bearer (and Basic with the token as password).
    const token = String(stored['access_token']);
    expect((await fetch(`${mailchimp.url}/oauth2/metadata`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    expect((await fetch(`${mailchimp.url}/3.0/ping`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await fetch(`${mailchimp.url}/3.0/ping`, { headers: { authorization: `Basic ${Buffer.from(`any:${token}`).toString('base64')}` } })).status).toBe(200);
    const missing = await fetch(`${mailchimp.url}/3.0/ping`);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('content-type')).toContain('application/problem+json');
    expect(await missing.json()).toMatchObject({ title: 'API Key Missing', status: 401 });
    const check = await api('POST', `/v1/connections/${String(connection['id'])}/check`);
    expect(check.body).toMatchObject({ ok: true, requirements: { missing: [] } });
  });

  it('a metadata request that failed at linking is made again by the check, and a relink reads the data centre again', async () => {
    const api = await tenantApi(th);
    // The first request the emulator sees after the token exchange is the metadata request.
    mailchimp.failNext(1, 503);
    const connection = await link(api);
    const id = String(connection['id']);
    expect(connection['metadata']).not.toHaveProperty('api_endpoint');
    const check = await api('POST', `/v1/connections/${id}/check`);
    expect(check.body).toMatchObject({ ok: true });
    expect((await api('GET', `/v1/connections/${id}`)).body['metadata']).toMatchObject({ dc: 'us7', api_endpoint: mailchimp.url });

    const before = mailchimp.count('/oauth2/metadata');
    const relink = await api('POST', '/v1/connections/authorize', { connector: 'mailchimp', connectionId: id });
    expect(relink.status).toBe(201);
    const start = await fetch(String(relink.body['authorizationUrl']), { redirect: 'manual' });
    const cookie = (start.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const { redirectedTo } = await oauth.authorize(start.headers.get('location') ?? '');
    const done = await fetch(redirectedTo, { headers: { cookie, accept: 'application/json' }, redirect: 'manual' });
    expect(await done.json()).toMatchObject({ status: 'linked', connection: id });
    expect(mailchimp.count('/oauth2/metadata')).toBe(before + 1);
  });

  it('names the merge field an audience lacks, and an audience id the account does not have', async () => {
    const api = await tenantApi(th);
    const bare = `bare${unique()}`;
    mailchimp.addList(bare);
    const connection = await link(api, { list_id: bare, owners_list_id: 'nosuchlist' });
    const missing = (connection['requirements'] as Json)['missing'] as Json[];
    expect(missing).toEqual([
      { name: 'users_merge_fields', message: expect.stringContaining(`The audience ${bare} has no merge field PLAN`) },
      { name: 'owners_merge_fields', message: expect.stringContaining('Mailchimp has no audience nosuchlist (owners_list_id)') },
    ]);
  });
});

describe('Mailchimp audiences through the pipeline', () => {
  it('adds a user, follows a plan change, adds the business owner, tags it verified and records a review as a member event', async () => {
    const api = await tenantApi(th);
    const connectionId = String((await link(api))['id']);
    const integrationId = await integration(api, connectionId, ['user.registered', 'user.subscription_changed', 'business.created', 'business.verified', 'review.created']);
    const id = unique();
    const email = `Ann.${id}@Example.com`;
    const ownerEmail = `owner.${id}@bakery.example`;
    const bizId = `biz_${id}`;

    await api('POST', '/v1/events', { type: 'user.registered', data: { id: `usr_${id}`, email, name: 'Ann Lee', plan: 'free', registered_at: '2026-11-01T10:00:00Z' } });
    await waitUntil(() => mailchimp.member(USERS, email) !== undefined);
    expect(mailchimp.member(USERS, email)).toMatchObject({ id: subscriberHash(email), status: 'subscribed', merge_fields: { FNAME: 'Ann', LNAME: 'Lee', PLAN: 'free' } });

    await api('POST', '/v1/events', { type: 'user.subscription_changed', data: { id: `usr_${id}`, old_plan: 'free', new_plan: 'pro', changed_at: '2026-11-02T10:00:00Z' } });
    await waitUntil(() => mailchimp.member(USERS, email)?.tags.has('plan: pro') === true);
    expect(mailchimp.member(USERS, email)?.merge_fields['PLAN']).toBe('pro');

    await api('POST', '/v1/events', { type: 'business.created', data: { id: bizId, name: "Rosa's Bakery", category: 'bakery', contact: { email: ownerEmail }, status: 'active', created_at: '2026-11-03T10:00:00Z' } });
    await waitUntil(() => mailchimp.member(OWNERS, ownerEmail)?.tags.has('category: bakery') === true);
    expect(mailchimp.member(OWNERS, ownerEmail)?.merge_fields).toEqual({ COMPANY: "Rosa's Bakery" });

    await api('POST', '/v1/events', { type: 'business.verified', data: { id: bizId, verified_at: '2026-11-04T10:00:00Z' } });
    await waitUntil(() => mailchimp.member(OWNERS, ownerEmail)?.tags.has('verified') === true);

    await api('POST', '/v1/events', { type: 'review.created', data: { id: `rev_${id}`, business_id: bizId, rating: 4, title: 'Great bread', author: { name: 'Bo' }, created_at: '2026-11-05T10:00:00Z' } });
    await waitUntil(() => (mailchimp.member(OWNERS, ownerEmail)?.events.length ?? 0) === 1);
    expect(mailchimp.member(OWNERS, ownerEmail)?.events[0]).toEqual({ name: 'received_review', properties: { rating: '4', review_id: `rev_${id}`, title: 'Great bread' }, occurred_at: '2026-11-05T10:00:00Z' });

    const attempts = await waitForAttempts(api, integrationId, 5);
    expect(attempts.map((a) => a['status'])).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded']);
  });

  it("recipe: a registered user's five-star review tags them, records left_review on them and starts the link's journey; an unsubscribed reviewer is not started, a review by anyone else reaches only the owner", async () => {
    const api = await tenantApi(th);
    const journeyId = 1000 + Math.floor(Math.random() * 1e6);
    const journey = mailchimp.addJourneyStep(journeyId, 7, USERS);
    const config = { list_id: USERS, owners_list_id: OWNERS, five_star_journey: { journey_id: journeyId, step_id: 7 } };
    const connectionId = String((await link(api, config))['id']);
    const integrationId = await integration(api, connectionId, ['user.registered', 'business.created', 'review.created']);
    const id = unique();
    const fan = `Fan.${id}@Example.com`;
    const gone = `gone.${id}@example.com`;
    const ownerEmail = `owner.${id}@bakery.example`;
    const bizId = `biz_${id}`;
    const review = (n: number, author: Json): Promise<unknown> =>
      api('POST', '/v1/events', { type: 'review.created', data: { id: `rev_${n}_${id}`, business_id: bizId, rating: 5, author, created_at: '2026-11-05T10:00:00Z' } });

    for (const [user, email] of [['fan', fan], ['gone', gone]] as const) {
      await api('POST', '/v1/events', { type: 'user.registered', data: { id: `usr_${user}_${id}`, email, name: 'Ann Lee', registered_at: '2026-11-01T10:00:00Z' } });
    }
    await api('POST', '/v1/events', { type: 'business.created', data: { id: bizId, name: "Rosa's Bakery", category: 'bakery', contact: { email: ownerEmail }, status: 'active', created_at: '2026-11-03T10:00:00Z' } });
    await waitUntil(() => mailchimp.member(USERS, fan) !== undefined && mailchimp.member(USERS, gone) !== undefined && mailchimp.member(OWNERS, ownerEmail) !== undefined);
    // The second reviewer unsubscribed in Mailchimp since: a journey starts only for subscribed contacts.
    mailchimp.member(USERS, gone)!.status = 'unsubscribed';

    await review(1, { name: 'Ann', user_id: `usr_fan_${id}` });
    await waitUntil(() => journey.started.length === 1);
    expect(journey.started).toEqual([fan]);
    expect([...mailchimp.member(USERS, fan)!.tags]).toEqual(['five-star-reviewer']);
    expect(mailchimp.member(USERS, fan)!.events).toEqual([{ name: 'left_review', properties: { rating: '5', business_id: bizId, review_id: `rev_1_${id}` }, occurred_at: '2026-11-05T10:00:00Z' }]);

    await review(2, { name: 'Gone', user_id: `usr_gone_${id}` });
    await review(3, { name: 'Walk-in' });
    await review(4, { name: 'Stranger', user_id: `usr_never_added_${id}` });
    const attempts = await waitForAttempts(api, integrationId, 7);
    const failed = attempts.filter((a) => a['status'] === 'failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ httpStatus: 400, error: `trigger_journey: Mailchimp refused the request (400 Bad Request): ${gone} is not a subscribed contact of the journey's audience.` });
    expect(attempts.filter((a) => a['status'] === 'succeeded')).toHaveLength(6);
    expect(journey.started).toEqual([fan]);
    // The unsubscribed reviewer was still tagged; the others' reviews reached only the owner.
    expect(mailchimp.member(USERS, gone)!.tags.has('five-star-reviewer')).toBe(true);
    expect(mailchimp.member(OWNERS, ownerEmail)!.events.map((e) => e.properties['review_id']).sort()).toEqual([1, 2, 3, 4].map((n) => `rev_${n}_${id}`));
  });

  it("fails for good, with Mailchimp's detail, a permanently deleted email, a contact in compliance state and a merge field the audience lacks", async () => {
    const api = await tenantApi(th);
    const bare = `bare${unique()}`;
    mailchimp.addList(bare);
    const connectionId = String((await link(api, { list_id: bare }))['id']);
    const integrationId = await integration(api, connectionId, ['user.registered']);
    const id = unique();
    const forgotten = `gone.${id}@example.com`;
    const suppressed = `unsub.${id}@example.com`;
    mailchimp.forget(forgotten);
    mailchimp.suppress(suppressed);
    const register = (email: string, plan?: string): Promise<unknown> =>
      api('POST', '/v1/events', { type: 'user.registered', data: { id: `usr_${email}`, email, ...(plan ? { plan } : {}), registered_at: '2026-11-01T10:00:00Z' } });
    await register(forgotten);
    await register(suppressed);
    await register(`plan.${id}@example.com`, 'pro');
    const attempts = await waitForAttempts(api, integrationId, 3);
    const errors = attempts.map((a) => String(a['error']));
    expect(attempts.every((a) => a['status'] === 'failed' && a['httpStatus'] === 400)).toBe(true);
    expect(errors).toEqual(
      expect.arrayContaining([
        `upsert_member: Mailchimp refused the contact (Forgotten Email Not Subscribed): ${forgotten} was permanently deleted and cannot be re-imported. The contact must re-subscribe to get back on the list.`,
        expect.stringContaining(`(Member In Compliance State): ${suppressed} is already a list member in compliance state`),
        expect.stringContaining('merge_fields.PLAN: PLAN is not a merge field of this audience'),
      ]),
    );
    expect(mailchimp.lists.get(bare)?.members.size).toBe(0);
  });

  it('a revoked grant (401, no refresh token) parks the deliveries and marks the connection needs_reauth', async () => {
    const api = await tenantApi(th);
    const connectionId = String((await link(api))['id']);
    const integrationId = await integration(api, connectionId, ['user.registered']);
    const token = String((await th.hub.connections.reload(connectionId))!.context.credentials['access_token']);
    await oauth.revoke(token, 'access_token');
    const email = `revoked.${unique()}@example.com`;
    await api('POST', '/v1/events', { type: 'user.registered', data: { id: `usr_${email}`, email, registered_at: '2026-11-01T10:00:00Z' } });
    let dead: Json[] = [];
    await waitUntil(async () => {
      dead = (await api('GET', `/v1/dead-letters?subscriptionId=${integrationId}`)).body['data'] as Json[];
      return dead.length === 1;
    });
    expect(dead[0]).toMatchObject({ reason: 'connection_needs_reauth' });
    expect((await api('GET', `/v1/connections/${connectionId}`)).body).toMatchObject({ status: 'needs_reauth' });
    expect(mailchimp.member(USERS, email)).toBeUndefined();
  });
});

describe("Mailchimp's 10 simultaneous connections", () => {
  it('the emulator answers the 11th simultaneous request of a user 429, as Mailchimp documents', async () => {
    const api = await tenantApi(th);
    const connectionId = String((await link(api))['id']);
    const token = String((await th.hub.connections.reload(connectionId))!.context.credentials['access_token']);
    mailchimp.setLatency(300);
    try {
      const answers = await Promise.all(Array.from({ length: 11 }, () => fetch(`${mailchimp.url}/3.0/ping`, { headers: { authorization: `Bearer ${token}` } })));
      const refused = answers.filter((a) => a.status === 429);
      expect(refused).toHaveLength(1);
      expect(await refused[0]!.json()).toMatchObject({ title: 'Too Many Requests', status: 429, detail: 'You have exceeded the limit of 10 simultaneous connections.' });
    } finally {
      mailchimp.setLatency(0);
    }
  });

  it("a burst of events keeps to the connector's concurrency: no more than 5 requests of the connection in flight, none refused", async () => {
    const api = await tenantApi(th);
    // An account of its own: Mailchimp counts a user's connections across all their links and apps.
    const user = `burst-${unique()}`;
    const connectionId = String((await link(api, { list_id: USERS }, user))['id']);
    const integrationId = await integration(api, connectionId, ['user.registered']);
    mailchimp.setLatency(150);
    const refusedBefore = mailchimp.refusedForConnections;
    try {
      const id = unique();
      const emails = Array.from({ length: 30 }, (_, i) => `burst${i}.${id}@example.com`);
      await Promise.all(emails.map((email) => api('POST', '/v1/events', { type: 'user.registered', data: { id: `usr_${email}`, email, registered_at: '2026-11-01T10:00:00Z' } })));
      await waitUntil(() => emails.every((e) => mailchimp.member(USERS, e) !== undefined), 30_000);
      const attempts = await waitForAttempts(api, integrationId, 30, 30_000);
      expect(attempts.filter((a) => a['status'] === 'succeeded')).toHaveLength(30);
      expect(mailchimp.maxInFlight.get(user)).toBeGreaterThan(1);
      expect(mailchimp.maxInFlight.get(user)).toBeLessThanOrEqual(5);
      expect(mailchimp.refusedForConnections).toBe(refusedBefore);
    } finally {
      mailchimp.setLatency(0);
    }
  });
});
