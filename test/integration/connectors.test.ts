import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { waitUntil } from '../support/receiver';
import { publishRaw } from '../support/services';
import { CrmEmulator } from '../support/emulators/crm';
import { SlackEmulator } from '../support/emulators/slack';
import { businessCreated, startTestHub, tenantApi, waitForAttempts } from '../support/test-hub';
import type { ApiResponse, TestHub, TenantApi } from '../support/test-hub';

type Json = Record<string, unknown>;
type Api = (method: string, path: string, body?: unknown) => Promise<ApiResponse<Json>>;

let th: TestHub;
let slack: SlackEmulator;
let crm: CrmEmulator;
const CRM_TOKEN = 'crm-token-9f8e7d6c';

beforeAll(async () => {
  [th, slack, crm] = await Promise.all([startTestHub(), SlackEmulator.start(), CrmEmulator.start(CRM_TOKEN)]);
});

afterAll(async () => {
  await Promise.all([slack.close(), crm.close()]);
  await th.destroy();
});

const tenant = (): Promise<TenantApi> => tenantApi(th);

function id(prefix: string): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}


async function deadLettersOf(api: Api, integrationId: string, count = 1): Promise<Json[]> {
  let dead: Json[] = [];
  await waitUntil(async () => {
    dead = (await api('GET', `/v1/dead-letters?subscriptionId=${integrationId}`)).body['data'] as Json[];
    return dead.length >= count;
  });
  return dead;
}

function reviewCreated(data: Json = {}): Json {
  return {
    type: 'review.created',
    data: { id: id('rev'), business_id: id('biz'), rating: 2, title: 'Cold soup', content: 'Soup was cold.', author: { name: 'Ann', verified: true }, photos: [], created_at: '2026-11-01T10:00:00Z', ...data },
  };
}

describe('connector catalogue', () => {
  it('lists the installed connectors with their settings, credentials and triggers', async () => {
    const api = await tenant();
    const list = await api('GET', '/v1/connectors');
    expect(list.status).toBe(200);
    const names = (list.body['data'] as Json[]).map((c) => c['name']);
    expect(names).toEqual(expect.arrayContaining(['slack', 'webhook-custom']));
    const one = await api('GET', '/v1/connectors/slack');
    expect(one.body).toMatchObject({
      name: 'slack',
      version: '1.0.0',
      auth: { type: 'webhook_url' },
      credentials: ['webhook_url'],
      triggers: expect.arrayContaining([expect.objectContaining({ name: 'review_created', event: 'review.created' })]),
    });
    expect((await api('GET', '/v1/connectors/nope')).body).toMatchObject({ error: { code: 'connector_not_found' } });
  });
});

describe('slack', () => {
  it('posts Block Kit messages for events from the directory backend, and never shows the webhook URL', async () => {
    const api = await tenant();
    const webhookUrl = slack.createWebhook();
    const connection = await api('POST', '/v1/connections', { connector: 'slack', config: { low_rating_mention: '<!here>' }, credentials: { webhook_url: webhookUrl } });
    expect(connection.status).toBe(201);
    expect(JSON.stringify(connection.body)).not.toContain(webhookUrl);
    expect(connection.body).toMatchObject({ connector: 'slack', connectorVersion: '1.0.0', status: 'active', hasSecrets: true });
    const conId = String(connection.body['id']);

    const check = await api('POST', `/v1/connections/${conId}/check`);
    expect(check.body).toMatchObject({ ok: true, status: 400, error: null });
    expect((await api('GET', `/v1/connections/${conId}`)).body).toMatchObject({ lastCheckOk: true, lastCheckAt: expect.any(String) });

    const businessId = id('biz');
    const integration = await api('POST', '/v1/integrations', {
      connection: conId,
      events: ['business.created', 'review.created'],
      filter: `data.id = "${businessId}" or data.business_id = "${businessId}"`,
    });
    expect(integration.status).toBe(201);
    const intId = String(integration.body['id']);
    expect(intId).toMatch(/^int_/);

    // From the directory backend, over AMQP, like any webhook event.
    await publishRaw(th.prefix, 'business.created', JSON.stringify({ id: id('evt'), version: '1.0', timestamp: new Date().toISOString(), ...businessCreated({}, { id: businessId, name: 'Blue <Door> Bistro' }) }));
    await publishRaw(th.prefix, 'review.created', JSON.stringify({ id: id('evt'), version: '1.0', timestamp: new Date().toISOString(), ...reviewCreated({ business_id: businessId, rating: 2 }) }));

    await waitUntil(() => slack.messagesFor(webhookUrl).length === 2);
    const [first, second] = [...slack.messagesFor(webhookUrl)].sort((a, b) => String(a.text).localeCompare(String(b.text)));
    expect(first?.text).toContain('<!here> New 2-star review');
    expect(JSON.stringify(first?.blocks)).toContain('★★☆☆☆ (2/5)');
    expect(second?.text).toBe('New business listed: Blue &lt;Door&gt; Bistro in Austin, TX');
    expect(second?.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'New business: Blue <Door> Bistro' } });
    // Slack allows one message a second per webhook: the connector's rate limit keeps to it.
    const times = slack.messagesFor(webhookUrl).map((m) => m.at).sort();
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(950);
    expect(slack.answers.filter((a) => a.webhook === new URL(webhookUrl).pathname && a.status === 429)).toEqual([]);

    const attempts = await waitForAttempts(api, intId, 2);
    for (const attempt of attempts) {
      expect(attempt).toMatchObject({ status: 'succeeded', httpStatus: 200, steps: [expect.objectContaining({ action: 'post_message', status: 200 })] });
      expect(JSON.stringify(attempt)).not.toContain(new URL(webhookUrl).pathname.split('/').pop());
      expect(String(attempt['url'])).toMatch(/\/\[redacted\]$/);
    }
  });

  it('fails at once on a revoked webhook, says what to do, and delivers on replay after the URL is replaced', async () => {
    const api = await tenant();
    const revoked = slack.createWebhook();
    slack.setState(revoked, 'revoked');
    const conId = String((await api('POST', '/v1/connections', { connector: 'slack', credentials: { webhook_url: revoked } })).body['id']);
    // The health check says what the manifest says a 403 means, not Slack's raw answer.
    const check = (await api('POST', `/v1/connections/${conId}/check`)).body;
    expect(check).toMatchObject({ ok: false, status: 403, error: expect.stringContaining('Slack says the webhook URL is revoked') });
    expect((await api('GET', `/v1/connections/${conId}`)).body).toMatchObject({ lastError: check['error'] });
    const intId = String((await api('POST', '/v1/integrations', { connection: conId, events: ['review.moderated'] })).body['id']);
    const published = await api('POST', '/v1/events', { type: 'review.moderated', data: { id: id('rev'), business_id: id('biz'), action: 'removed', moderated_at: '2026-11-01T10:00:00Z' } });
    expect(published.status).toBe(202);

    const [dead] = await deadLettersOf(api, intId);
    expect(dead).toMatchObject({ reason: 'permanent_failure', lastStatus: 403, attempts: 1 });
    expect(String(dead!['lastError'])).toContain('create a new incoming webhook');

    const live = slack.createWebhook();
    expect((await api('PATCH', `/v1/connections/${conId}`, { credentials: { webhook_url: live } })).status).toBe(200);
    expect((await api('POST', `/v1/dead-letters/${String(dead!['id'])}/replay`)).status).toBe(202);
    await waitUntil(() => slack.messagesFor(live).length === 1);
    expect(slack.messagesFor(live)[0]?.text).toContain('was removed');
  });
});

describe('webhook-custom (custom CRM)', () => {
  async function crmConnection(api: Api, config: Json = {}): Promise<string> {
    const created = await api('POST', '/v1/connections', {
      connector: 'webhook-custom',
      config: {
        url: `${crm.url}/api/leads`,
        auth: { type: 'bearer', token: CRM_TOKEN },
        mapping: '{"company": data.name, "city": data.address.city, "source_id": data.id}',
        ...config,
      },
    });
    expect(created.status).toBe(201);
    return String(created.body['id']);
  }

  it('sends the tenant-mapped body with its auth and signature, records the CRM id', async () => {
    const api = await tenant();
    const signingSecret = `whsec_${randomBytes(24).toString('base64')}`;
    const conId = await crmConnection(api, { signing_secret: signingSecret, headers: { 'X-Source': 'directory' } });
    const view = await api('GET', `/v1/connections/${conId}`);
    expect(JSON.stringify(view.body)).not.toContain(CRM_TOKEN);
    expect(JSON.stringify(view.body)).not.toContain(signingSecret);
    expect(view.body['config']).toEqual({ url: `${crm.url}/api/leads`, auth: { type: 'bearer' }, mapping: expect.any(String), headers: { 'X-Source': 'directory' } });

    const intId = String((await api('POST', '/v1/integrations', { connection: conId, events: ['business.created'] })).body['id']);
    const businessId = id('biz');
    await api('POST', '/v1/events', businessCreated({}, { id: businessId, name: 'Acme Plumbing' }));

    await waitUntil(() => crm.leads.some((l) => l.body['source_id'] === businessId));
    const lead = crm.leads.find((l) => l.body['source_id'] === businessId)!;
    expect(lead.body).toEqual({ company: 'Acme Plumbing', city: 'Austin', source_id: businessId });
    expect(lead.headers['x-source']).toBe('directory');
    const request = crm.requests.find((r) => r.body.includes(businessId))!;
    const verified = new Webhook(signingSecret).verify(request.body, {
      'webhook-id': String(request.headers['webhook-id']),
      'webhook-timestamp': String(request.headers['webhook-timestamp']),
      'webhook-signature': String(request.headers['webhook-signature']),
    });
    expect(verified).toEqual(lead.body);

    const [attempt] = await waitForAttempts(api, intId, 1);
    expect(attempt).toMatchObject({ status: 'succeeded', httpStatus: 201, externalId: lead.id, url: `${crm.url}/api/leads` });

  });

  it('retries a CRM outage on the schedule, then succeeds under the same idempotency key', async () => {
    const api = await tenant();
    const conId = await crmConnection(api);
    const intId = String((await api('POST', '/v1/integrations', { connection: conId, events: ['business.created'], retryConfig: { initialDelaySeconds: 1, backoffMultiplier: 1 } })).body['id']);
    crm.failNext = 2;
    const businessId = id('biz');
    await api('POST', '/v1/events', businessCreated({}, { id: businessId }));
    const attempts = await waitForAttempts(api, intId, 3);
    expect(attempts.map((a) => [a['attempt'], a['httpStatus'], a['status']])).toEqual([
      [3, 201, 'succeeded'],
      [2, 503, 'failed'],
      [1, 503, 'failed'],
    ]);
    const keys = new Set(crm.requests.filter((r) => r.body.includes(businessId)).map((r) => r.headers['idempotency-key']));
    expect(keys.size).toBe(1);
    expect(crm.leads.filter((l) => l.body['source_id'] === businessId)).toHaveLength(1);
  });

  it('dead-letters a delivery whose mapping throws, naming the connector, trigger and place; fixed and replayed, it arrives', async () => {
    const api = await tenant();
    const conId = await crmConnection(api, { mapping: '{"company": $number(data.name)}' });
    const intId = String((await api('POST', '/v1/integrations', { connection: conId, events: ['business.created'] })).body['id']);
    const businessId = id('biz');
    await api('POST', '/v1/events', businessCreated({}, { id: businessId, name: 'Not a number' }));
    const [dead] = await deadLettersOf(api, intId);
    expect(dead).toMatchObject({ reason: 'permanent_failure', attempts: 1, lastStatus: null });
    expect(String(dead!['lastError'])).toMatch(/connector webhook-custom, trigger any_event, mapping from the link's config field "mapping": JSONata evaluation failed/);
    const [attempt] = await waitForAttempts(api, intId, 1);
    expect(attempt).toMatchObject({ status: 'failed', next: 'dead_letter', steps: [] });
    expect((await api('GET', '/healthz')).status).toBe(200);

    expect((await api('PATCH', `/v1/connections/${conId}`, { config: { mapping: '{"company": data.name, "source_id": data.id}' } })).status).toBe(200);
    const replay = await api('POST', `/v1/integrations/${intId}/replay`, { since: new Date(Date.now() - 60_000).toISOString() });
    expect(replay.body).toMatchObject({ replayed: 1 });
    await waitUntil(() => crm.leads.some((l) => l.body['source_id'] === businessId));
    expect(crm.leads.find((l) => l.body['source_id'] === businessId)?.body).toEqual({ company: 'Not a number', source_id: businessId });
  });

  it('fails permanently when the CRM rejects the mapped body, quoting its answer', async () => {
    const api = await tenant();
    const conId = await crmConnection(api, { mapping: '{"city": data.address.city}' });
    const intId = String((await api('POST', '/v1/integrations', { connection: conId, events: ['business.created'] })).body['id']);
    await api('POST', '/v1/events', businessCreated());
    const [dead] = await deadLettersOf(api, intId);
    expect(dead).toMatchObject({ lastStatus: 422, lastError: expect.stringContaining('company is required') });
  });
});

describe('connections and integrations API', () => {
  it('explains what is wrong with a connection or an integration', async () => {
    const api = await tenant();
    expect((await api('POST', '/v1/connections', { connector: 'nope' })).body).toMatchObject({ error: { code: 'validation_failed', details: [{ path: '/connector' }] } });
    const badConfig = await api('POST', '/v1/connections', { connector: 'webhook-custom', config: { url: 'ftp://x', method: 'GET', mapping: '{"a": ' } });
    expect(badConfig.status).toBe(400);
    const paths = (badConfig.body['error'] as { details: Array<{ path: string }> }).details.map((d) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['/config/url', '/config/method', '/config/mapping']));
    const noUrl = await api('POST', '/v1/connections', { connector: 'slack', credentials: {} });
    expect(noUrl.body).toMatchObject({ error: { details: [{ path: '/credentials/webhook_url', message: 'is required by webhook_url auth' }] } });

    const conId = String((await api('POST', '/v1/connections', { connector: 'slack', credentials: { webhook_url: slack.createWebhook() } })).body['id']);
    const unhandled = await api('POST', '/v1/integrations', { connection: conId, events: ['user.registered'] });
    expect(unhandled.status).toBe(400);
    expect(JSON.stringify(unhandled.body)).toContain('does nothing with user.registered');
    const badTrigger = await api('POST', '/v1/integrations', { connection: conId, events: ['review.created'], triggers: ['nope'] });
    expect(JSON.stringify(badTrigger.body)).toContain('has no trigger \\"nope\\"');

    const intId = String((await api('POST', '/v1/integrations', { connection: conId, events: ['review.created'], triggers: ['review_created'] })).body['id']);
    const inUse = await api('DELETE', `/v1/connections/${conId}`);
    expect(inUse.status).toBe(409);
    expect(inUse.body).toMatchObject({ error: { code: 'connection_in_use', details: { integrationIds: [intId] } } });
    // Integrations are not webhook subscriptions, and the other way round.
    expect((await api('GET', `/v1/subscriptions/${intId}`)).status).toBe(404);
    expect((await api('POST', `/v1/subscriptions/${intId}/replay`, { since: '2026-01-01T00:00:00Z' })).status).toBe(404);
    expect(((await api('GET', '/v1/subscriptions')).body['data'] as Json[]).map((s) => s['id'])).not.toContain(intId);
    expect(((await api('GET', '/v1/integrations')).body['data'] as Json[]).map((s) => s['id'])).toEqual([intId]);
    expect((await api('DELETE', `/v1/integrations/${intId}`)).status).toBe(204);
    expect((await api('DELETE', `/v1/connections/${conId}`)).status).toBe(204);
  });

  it("keeps tenants apart: another tenant's connections and integrations are not found", async () => {
    const alice = await tenant();
    const bob = await tenant();
    const conId = String((await alice('POST', '/v1/connections', { connector: 'slack', credentials: { webhook_url: slack.createWebhook() } })).body['id']);
    const intId = String((await alice('POST', '/v1/integrations', { connection: conId, events: ['review.created'] })).body['id']);
    for (const [method, path] of [
      ['GET', `/v1/connections/${conId}`],
      ['PATCH', `/v1/connections/${conId}`],
      ['DELETE', `/v1/connections/${conId}`],
      ['POST', `/v1/connections/${conId}/check`],
      ['GET', `/v1/integrations/${intId}`],
      ['PATCH', `/v1/integrations/${intId}`],
      ['DELETE', `/v1/integrations/${intId}`],
      ['POST', `/v1/integrations/${intId}/replay`],
    ] as const) {
      const response = await bob(method, path, method === 'PATCH' ? { description: 'x' } : method === 'POST' ? { since: '2026-01-01T00:00:00Z' } : undefined);
      expect([method, path, response.status]).toEqual([method, path, 404]);
    }
    const borrowed = await bob('POST', '/v1/integrations', { connection: conId, events: ['review.created'] });
    expect(borrowed.status).toBe(400);
    expect((await bob('GET', '/v1/connections')).body['data']).toEqual([]);
  });
});
