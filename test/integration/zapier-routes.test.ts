import { businessCreated, hubPerFile, waitForAttempts } from '../support/test-hub';
import type { TenantApi } from '../support/test-hub';
import { waitUntil } from '../support/receiver';

type Json = Record<string, unknown>;

/** What Hookhub's routes for Zapier's REST hooks answer, over HTTP against a hub on RabbitMQ and FerretDB. */
describe('routes for Zapier', () => {
  const hub = hubPerFile();
  const { receiver, tenant } = hub;

  /** Publishes an event as the tenant and waits until the router stored it (its routedAt is set). */
  async function published(api: TenantApi, body: Json): Promise<string> {
    const accepted = await api('POST', '/v1/events', body);
    expect(accepted.status).toBe(202);
    const id = String(accepted.body['id']);
    await waitUntil(async () => (await api('GET', `/v1/events/${id}`)).body['routedAt'] != null, 20_000, () => `event ${id} was not routed`);
    return id;
  }

  it('GET /v1/zapier/me names the key, its tenant, and the scopes Zapier needs that the key lacks', async () => {
    const api = await tenant();
    const admin = await api('GET', '/v1/zapier/me');
    expect(admin.status).toBe(200);
    expect(admin.body).toMatchObject({ keyName: 'test', scopes: ['admin'], missingScopes: [] });
    expect(String(admin.body['tenantId'])).toMatch(/^t[0-9a-f]{8}$/);

    const created = await api('POST', '/v1/api-keys', { name: 'zapier read-only', scopes: ['subscriptions:read'] });
    const narrow = await hub.th.api('GET', '/v1/zapier/me', undefined, String(created.body['key']));
    expect(narrow.body).toEqual({
      tenantId: admin.body['tenantId'],
      keyId: created.body['id'],
      keyName: 'zapier read-only',
      scopes: ['subscriptions:read'],
      missingScopes: ['subscriptions:write', 'deliveries:read'],
    });
    // The subscribe route itself is refused to that key, naming the scope.
    const refused = await hub.th.api('POST', '/v1/zapier/subscriptions', { target_url: 'http://127.0.0.1:9/x', event: 'business.created' }, String(created.body['key']));
    expect(refused.status).toBe(403);
    expect(refused.body['error']).toMatchObject({ code: 'insufficient_scope', details: { required: 'subscriptions:write' } });
  });

  it('subscribes a hook URL as a webhook subscription of the tenant, listed as Zapier\'s, signed and delivered like any other', async () => {
    const api = await tenant();
    const hook = await receiver();
    const subscribed = await api('POST', '/v1/zapier/subscriptions', { target_url: `${hook.url}/hooks/catch/1/abc`, event: 'business.created' });
    expect(subscribed.status).toBe(201);
    const id = String(subscribed.body['id']);
    expect(subscribed.headers.get('location')).toBe(`/v1/subscriptions/${id}`);
    expect(subscribed.body).toMatchObject({ endpointUrl: `${hook.url}/hooks/catch/1/abc`, events: ['business.created'], description: 'Zapier: business.created', active: true });
    expect(subscribed.body).not.toHaveProperty('secret');

    const listed = (await api('GET', '/v1/subscriptions')).body['data'] as Json[];
    expect(listed).toEqual([expect.objectContaining({ id, description: 'Zapier: business.created' })]);
    // Audited as any subscription made (the audit trail writes in batches, just after the answer).
    let audit: Json[] = [];
    await waitUntil(async () => {
      audit = (await api('GET', '/v1/audit-log')).body['data'] as Json[];
      return audit.length > 0;
    });
    expect(audit).toEqual([expect.objectContaining({ action: 'subscription.create', resourceId: id, fields: ['target_url', 'event'] })]);
  });

  it('refuses what POST /v1/subscriptions refuses, naming the Zapier fields', async () => {
    const api = await tenant();
    const problems = async (body: Json): Promise<Json[]> => {
      const answer = await api('POST', '/v1/zapier/subscriptions', body);
      expect(answer.status).toBe(400);
      return (answer.body['error'] as Json)['details'] as Json[];
    };
    expect(await problems({ event: 'business.nothing', extra: 1 })).toEqual([
      { path: '/target_url', message: expect.stringContaining('is required') },
      { path: '/event', message: expect.stringContaining('GET /v1/event-types') },
      { path: '/extra', message: expect.stringContaining('send target_url and event') },
    ]);
    // The subscription service's URL rules: no credentials in the URL, http(s) only.
    expect(await problems({ target_url: 'https://user:secret@hooks.zapier.com/hooks/catch/1/abc', event: 'review.created' })).toEqual([
      { path: '/target_url', message: expect.stringContaining('secret header') },
    ]);
    expect(await problems({ target_url: 'ftp://hooks.zapier.com/x', event: 'review.created' })).toEqual([{ path: '/target_url', message: expect.any(String) }]);
    expect((await api('GET', '/v1/subscriptions')).body['data']).toEqual([]);
  });

  it('lists the tenant\'s recent events of a type as delivery bodies, newest first, else the catalog\'s sample', async () => {
    const api = await tenant();
    const other = await tenant();

    const empty = await api('GET', '/v1/zapier/samples/review.responded');
    expect(empty.status).toBe(200);
    expect(empty.body).toMatchObject({ source: 'catalog', data: [{ id: 'evt_sample_review_responded', type: 'review.responded', webhook: { subscription_id: 'sub_sample', delivery_attempt: 1 } }] });
    expect(Object.keys((empty.body['data'] as Json[])[0]!).sort()).toEqual(['created', 'data', 'id', 'type', 'webhook']);

    const first = await published(api, businessCreated({}, { name: 'First Bakery' }));
    const second = await published(api, businessCreated({}, { name: 'Second Bakery' }));
    await published(other, businessCreated({}, { name: 'Not Yours' }));
    const samples = await api('GET', '/v1/zapier/samples/business.created');
    expect(samples.body['source']).toBe('events');
    const bodies = samples.body['data'] as Json[];
    expect(bodies.map((b) => [b['id'], (b['data'] as Json)['name']])).toEqual([
      [second, 'Second Bakery'],
      [first, 'First Bakery'],
    ]);
    expect(bodies[0]).toMatchObject({ type: 'business.created', created: expect.any(String), webhook: { subscription_id: 'sub_sample', delivery_attempt: 1 } });

    const unknown = await api('GET', '/v1/zapier/samples/business.exploded');
    expect(unknown.status).toBe(404);
    expect(unknown.body['error']).toMatchObject({ code: 'event_type_not_found', message: expect.stringContaining('GET /v1/event-types') });
  });

  it('unsubscribes by deleting the subscription, and leaves a subscription it did not make alone', async () => {
    const api = await tenant();
    const hook = await receiver();
    const zap = String((await api('POST', '/v1/zapier/subscriptions', { target_url: hook.url, event: 'user.registered' })).body['id']);
    const handMade = String((await api('POST', '/v1/subscriptions', { endpointUrl: hook.url, events: ['user.registered'] })).body['id']);

    expect((await api('DELETE', `/v1/zapier/subscriptions/${zap}`)).status).toBe(204);
    expect((await api('GET', `/v1/subscriptions/${zap}`)).status).toBe(404);
    expect((await api('DELETE', `/v1/zapier/subscriptions/${zap}`)).status).toBe(404);

    const refused = await api('DELETE', `/v1/zapier/subscriptions/${handMade}`);
    expect(refused.status).toBe(404);
    expect(refused.body['error']).toMatchObject({ code: 'zapier_subscription_not_found' });
    expect((await api('GET', `/v1/subscriptions/${handMade}`)).status).toBe(200);
    // Another tenant's Zapier subscription is not found either.
    const stranger = await tenant();
    const theirs = String((await stranger('POST', '/v1/zapier/subscriptions', { target_url: hook.url, event: 'user.registered' })).body['id']);
    expect((await api('DELETE', `/v1/zapier/subscriptions/${theirs}`)).status).toBe(404);
    expect((await stranger('GET', `/v1/subscriptions/${theirs}`)).status).toBe(200);
  });

  it('disables a Zapier subscription whose hook answers 410 Gone (Zapier\'s answer for a Zap turned off)', async () => {
    const api = await tenant();
    const hook = await receiver(() => ({ status: 410 }));
    const id = String((await api('POST', '/v1/zapier/subscriptions', { target_url: hook.url, event: 'business.created' })).body['id']);
    await api('POST', '/v1/events', businessCreated());
    await waitForAttempts(api, id, 1);
    await waitUntil(async () => (await api('GET', `/v1/subscriptions/${id}`)).body['active'] === false, 10_000);
    expect((await api('GET', `/v1/subscriptions/${id}`)).body).toMatchObject({ active: false, disabledReason: 'endpoint answered 410 Gone' });
    await api('POST', '/v1/events', businessCreated());
    await new Promise((r) => setTimeout(r, 500));
    expect(hook.requests).toHaveLength(1);
  });
});
