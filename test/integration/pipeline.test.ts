import { createHmac, randomBytes } from 'node:crypto';
import mongoose from 'mongoose';
import { Webhook } from 'standardwebhooks';
import { topologyNames } from '../../src/broker/amqp/topology';
import { waitUntil } from '../support/receiver';
import type { ReceivedRequest } from '../support/receiver';
import { drainQueue, mongoUrlFor, publishRaw } from '../support/services';
import { businessCreated, hubPerFile } from '../support/test-hub';

type Json = Record<string, unknown>;

/** One hub for the file; each test is its own tenant: events it publishes over HTTP reach only its own subscriptions. */
const shared = hubPerFile();
const { receiver, tenant } = shared;

function envelope(data: Json = {}, type = 'business.created'): Json {
  return { id: `evt_${randomBytes(6).toString('hex')}`, version: '1.0', timestamp: new Date().toISOString(), ...businessCreated({ type }, data) };
}

describe('events from the directory backend (AMQP)', () => {
  it('delivers an event published to the events exchange, signed per Standard Webhooks and the older scheme', async () => {
    const api = await tenant();
    const r = await receiver();
    const bizId = `biz_${randomBytes(4).toString('hex')}`;
    const created = await api('POST', '/v1/subscriptions', {
      endpointUrl: `${r.url}/hooks/directory`,
      events: ['business.created'],
      filters: [{ field: 'data.id', operator: 'equals', value: bizId }],
      headers: { 'X-Partner-Token': 'abc123' },
    });
    const secret = String(created.body['secret']);
    const event = envelope({ id: bizId });
    await publishRaw(shared.th.prefix, 'business.created', JSON.stringify(event));

    const [request] = await r.waitFor(1);
    const req = request as ReceivedRequest;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/hooks/directory');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['user-agent']).toMatch(/^Hookhub\/\d+\.\d+\.\d+/);
    expect(req.headers['x-partner-token']).toBe('abc123');
    expect(req.json).toEqual({
      id: event['id'],
      type: 'business.created',
      created: event['timestamp'],
      data: event['data'],
      webhook: { subscription_id: created.body['id'], delivery_attempt: 1 },
    });
    // The reference Standard Webhooks library accepts the signature.
    expect(() => new Webhook(secret).verify(req.body, req.headers as Record<string, string>)).not.toThrow();
    const timestamp = Number(req.headers['webhook-timestamp']);
    expect(Math.abs(timestamp - Date.now() / 1000)).toBeLessThan(60);
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
    expect(req.headers['x-webhook-signature']).toBe(`sha256=${createHmac('sha256', key).update(req.body).digest('hex')}`);
    expect(req.headers['x-webhook-timestamp']).toBe(req.headers['webhook-timestamp']);
    // A tampered body fails verification.
    expect(() => new Webhook(secret).verify(req.body.replace('Bistro', 'Bistr0'), req.headers as Record<string, string>)).toThrow();
  });

  it('parks invalid events with their reason in the invalid queue and the store, and counts them', async () => {
    const before = (await shared.th.hub.metrics.eventsInvalid.get()).values.reduce((sum, v) => sum + v.value, 0);
    await publishRaw(shared.th.prefix, 'business.created', '{not json');
    await publishRaw(shared.th.prefix, 'review.created', JSON.stringify({ ...envelope({}, 'review.created'), data: { id: 'r1', rating: 9 } }));
    await publishRaw(shared.th.prefix, 'business.exploded', JSON.stringify({ ...envelope(), type: 'business.exploded' }));
    // 100,000 nested arrays in the data: JSON.parse reads it, but recursive code downstream would throw on it.
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    await publishRaw(shared.th.prefix, 'business.created', JSON.stringify(envelope({ id: 'biz_deep' })).replace('"id":"biz_deep"', `"id":"biz_deep","nested":${deep}`));
    await waitUntil(async () => (await shared.th.hub.metrics.eventsInvalid.get()).values.reduce((sum, v) => sum + v.value, 0) >= before + 4);

    const parked = await drainQueue(topologyNames(shared.th.prefix).invalidQueue);
    const reasons = parked.map((m) => m.properties.headers?.['x-hookhub-reason']).sort();
    expect(reasons).toEqual(['invalid_data', 'invalid_json', 'too_deep', 'unknown_event_type']);
    expect(String(parked.find((m) => m.properties.headers?.['x-hookhub-reason'] === 'too_deep')?.properties.headers?.['x-hookhub-problems'])).toContain('the limit is 32');
    const invalidData = parked.find((m) => m.properties.headers?.['x-hookhub-reason'] === 'invalid_data');
    expect(String(invalidData?.properties.headers?.['x-hookhub-problems'])).toContain('/data/rating');
    expect(parked.find((m) => m.content.toString() === '{not json')).toBeDefined();

    const connection = await mongoose.createConnection(mongoUrlFor(shared.th.database)).asPromise();
    try {
      const records = await connection.db!.collection('invalid_events').find({ source: 'amqp' }).toArray();
      expect(records.map((r) => r['reason']).sort()).toEqual(expect.arrayContaining(['invalid_data', 'invalid_json', 'unknown_event_type']));
      expect(records.some((r) => r['raw'] === '{not json')).toBe(true);
    } finally {
      await connection.close();
    }
  });

  it('delivers an event published twice only once per subscription', async () => {
    const api = await tenant();
    const [a, b] = [await receiver(), await receiver()];
    const bizId = `biz_${randomBytes(4).toString('hex')}`;
    for (const r of [a, b]) {
      await api('POST', '/v1/subscriptions', { endpointUrl: r.url, events: ['*'], filters: [{ field: 'data.id', operator: 'equals', value: bizId }] });
    }
    const duplicatesBefore = (await shared.th.hub.metrics.eventsDuplicate.get()).values[0]?.value ?? 0;
    const event = JSON.stringify(envelope({ id: bizId }));
    await publishRaw(shared.th.prefix, 'business.created', event);
    await publishRaw(shared.th.prefix, 'business.created', event);
    await waitUntil(async () => ((await shared.th.hub.metrics.eventsDuplicate.get()).values[0]?.value ?? 0) > duplicatesBefore);
    await a.waitFor(1);
    await b.waitFor(1);
    await new Promise((r) => setTimeout(r, 500));
    expect(a.requests).toHaveLength(1);
    expect(b.requests).toHaveLength(1);
  });
});

describe('events over HTTP', () => {
  it('answers 202 with the id, fills id/version/timestamp, and shows the event with its deliveries', async () => {
    const api = await tenant();
    const r = await receiver();
    await api('POST', '/v1/subscriptions', { endpointUrl: r.url, events: ['business.created'] });
    const published = await api('POST', '/v1/events', businessCreated());
    expect(published.status).toBe(202);
    const id = String(published.body['id']);
    expect(id).toMatch(/^evt_/);
    await r.waitFor(1);
    let shown: Json = {};
    await waitUntil(async () => {
      shown = (await api('GET', `/v1/events/${id}`)).body;
      return Array.isArray(shown['deliveries']) && (shown['deliveries'] as unknown[]).length === 1;
    });
    expect(shown).toMatchObject({ id, type: 'business.created', version: '1.0' });
    expect(new Date(String(shown['timestamp'])).getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect((shown['deliveries'] as Json[])[0]).toMatchObject({ status: 'succeeded', httpStatus: 200, attempt: 1 });
  });

  it('answers 422 with the problems for an invalid event, and records it', async () => {
    const api = await tenant();
    const { status, body } = await api('POST', '/v1/events', { type: 'review.created', data: { id: 'r1', business_id: 'b1', rating: 7, created_at: 'yesterday' } });
    expect(status).toBe(422);
    const error = body['error'] as { code: string; details: { reason: string; problems: Array<{ path: string }> } };
    expect(error.code).toBe('invalid_event');
    expect(error.details.reason).toBe('invalid_data');
    expect(error.details.problems.map((p) => p.path)).toEqual(expect.arrayContaining(['/data/rating', '/data/created_at']));
    const reserved = await api('POST', '/v1/events', { type: 'webhook.delivery_exhausted', data: {} });
    expect(reserved.status).toBe(422);
  });
});

describe('matching and payloads', () => {
  it('applies field filters (all must match) and the JSONata filter', async () => {
    const api = await tenant();
    const r = await receiver();
    await api('POST', '/v1/subscriptions', {
      endpointUrl: r.url,
      events: ['business.created'],
      filters: [
        { field: 'data.address.city', operator: 'equals', value: 'Austin' },
        { field: 'data.category', operator: 'in', value: ['restaurant', 'cafe'] },
        { field: 'data.contact.website', operator: 'exists' },
        { field: 'data.name', operator: 'contains', value: 'bistro' },
      ],
      filter: "data.address.coordinates.lat > 30 and $substring(data.address.zip, 0, 2) = '78'",
    });
    const variants: Array<[string, Json]> = [
      ['match', {}],
      ['wrong city', { address: { city: 'Dallas', zip: '78701', coordinates: { lat: 32, lng: -96 } } }],
      ['wrong category', { category: 'plumber' }],
      ['no website', { contact: { phone: '1' } }],
      ['name', { name: 'Corner Cafe' }],
      ['jsonata', { address: { city: 'Austin', zip: '10001', coordinates: { lat: 31, lng: -97 } } }],
    ];
    const ids: string[] = [];
    for (const [name, data] of variants) ids.push(String((await api('POST', '/v1/events', businessCreated({}, { name: name === 'name' ? data['name'] : 'Blue Door Bistro', ...data }))).body['id']));
    await r.waitFor(1);
    await waitUntil(async () => {
      const shown = await Promise.all(ids.map((id) => api('GET', `/v1/events/${id}`)));
      return shown.every((s) => s.status === 200 && s.body['routedAt']);
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(r.requests.map((q) => q.json['id'])).toEqual([ids[0]]);
  });

  it('selects fields or transforms the data with JSONata', async () => {
    const api = await tenant();
    const [fields, transform] = [await receiver(), await receiver()];
    await api('POST', '/v1/subscriptions', { endpointUrl: fields.url, events: ['business.created'], payload: { fields: ['data.id', 'data.address.city', 'name'] } });
    await api('POST', '/v1/subscriptions', {
      endpointUrl: transform.url,
      events: ['business.created'],
      payload: { transform: '{"business": data.name, "where": data.address.city & ", " & data.address.state, "kind": type}' },
    });
    const event = businessCreated();
    await api('POST', '/v1/events', event);
    const data = event['data'] as Json;
    expect((await fields.waitFor(1))[0]!.json['data']).toEqual({ id: data['id'], name: 'Blue Door Bistro', address: { city: 'Austin' } });
    expect((await transform.waitFor(1))[0]!.json['data']).toEqual({ business: 'Blue Door Bistro', where: 'Austin, TX', kind: 'business.created' });
  });

  it('dead-letters a delivery whose transform fails at run time, with the error in the attempt', async () => {
    const api = await tenant();
    const r = await receiver();
    const sub = await api('POST', '/v1/subscriptions', { endpointUrl: r.url, events: ['business.created'], payload: { transform: '$error("no mapping for " & data.category)' } });
    await api('POST', '/v1/events', businessCreated());
    let dead: Json[] = [];
    await waitUntil(async () => {
      dead = ((await api('GET', `/v1/dead-letters?subscriptionId=${String(sub.body['id'])}`)).body['data'] as Json[]) ?? [];
      return dead.length === 1;
    });
    expect(dead[0]).toMatchObject({ reason: 'permanent_failure', attempts: 1 });
    expect(String(dead[0]!['lastError'])).toContain('no mapping for restaurant');
    expect(r.requests).toHaveLength(0);
  });
});

describe('retries, dead letters and replay', () => {
  it('retries with backoff under one webhook-id, dead-letters when exhausted, alerts, and replays', async () => {
    const api = await tenant();
    const failing = await receiver(() => ({ status: 500, body: 'database is down' }));
    const alerts = await receiver();
    const sub = await api('POST', '/v1/subscriptions', {
      endpointUrl: failing.url,
      events: ['business.created'],
      retryConfig: { maxRetries: 2, initialDelaySeconds: 1, backoffMultiplier: 2 },
    });
    const subId = String(sub.body['id']);
    const secret = String(sub.body['secret']);
    await api('POST', '/v1/subscriptions', { endpointUrl: alerts.url, events: ['webhook.delivery_exhausted'] });
    const published = await api('POST', '/v1/events', businessCreated());
    const eventId = String(published.body['id']);

    const attempts = await failing.waitFor(3, 30_000);
    expect(attempts.map((a) => (a.json['webhook'] as Json)['delivery_attempt'])).toEqual([1, 2, 3]);
    expect(new Set(attempts.map((a) => a.headers['webhook-id'])).size).toBe(1);
    for (const a of attempts) expect(() => new Webhook(secret).verify(a.body, a.headers as Record<string, string>)).not.toThrow();
    // Backoff: ~1 s then ~2 s (±20% jitter); never early.
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(800);
    expect(attempts[2]!.at - attempts[1]!.at).toBeGreaterThanOrEqual(1600);

    const [alert] = await alerts.waitFor(1);
    expect(alert!.json['type']).toBe('webhook.delivery_exhausted');
    const alertData = alert!.json['data'] as Json;
    expect(alertData).toMatchObject({ subscription_id: subId, event_id: eventId, attempts: 3, last_status: 500 });

    const deadLetters = (await api('GET', '/v1/dead-letters')).body['data'] as Json[];
    expect(deadLetters).toHaveLength(1);
    expect(deadLetters[0]).toMatchObject({ id: alertData['dead_letter_id'], reason: 'retries_exhausted', attempts: 3, lastStatus: 500, eventId });

    // Attempt records are written in batches beside the dead letter and the alert: the last one may land just after them.
    let log: Json[] = [];
    await waitUntil(async () => {
      log = (await api('GET', `/v1/deliveries?subscriptionId=${subId}`)).body['data'] as Json[];
      return log.length >= 3;
    }, 10_000, () => `attempts logged: ${log.length}`);
    expect(log.map((a) => [a['attempt'], a['status'], a['next']])).toEqual([
      [3, 'failed', 'dead_letter'],
      [2, 'failed', 'retry'],
      [1, 'failed', 'retry'],
    ]);
    expect(log[2]).toMatchObject({ httpStatus: 500, responseBody: 'database is down' });
    expect((await api('GET', `/v1/deliveries?subscriptionId=${subId}&status=succeeded`)).body['data']).toEqual([]);

    failing.respond(() => ({ status: 200 }));
    const replay = await api('POST', `/v1/dead-letters/${String(deadLetters[0]!['id'])}/replay`);
    expect(replay.status).toBe(202);
    const afterReplay = await failing.waitFor(4);
    expect(afterReplay[3]!.headers['webhook-id']).toBe(attempts[0]!.headers['webhook-id']);
    await waitUntil(async () => ((await api('GET', `/v1/deliveries?subscriptionId=${subId}&status=succeeded`)).body['data'] as Json[]).length === 1);
    const succeeded = ((await api('GET', `/v1/deliveries?subscriptionId=${subId}&status=succeeded`)).body['data'] as Json[])[0];
    expect(succeeded).toMatchObject({ replay: true, attempt: 1 });
    const dl = await api('GET', `/v1/dead-letters/${String(deadLetters[0]!['id'])}`);
    expect(dl.body).toMatchObject({ replayCount: 1 });
    expect(dl.body['replayedAt']).not.toBeNull();
  });

  it('replays everything that failed for a subscription in a time window', async () => {
    const api = await tenant();
    const r = await receiver(() => ({ status: 400 }));
    const sub = await api('POST', '/v1/subscriptions', { endpointUrl: r.url, events: ['business.created'], retryConfig: { maxRetries: 0 } });
    const subId = String(sub.body['id']);
    const since = new Date(Date.now() - 1000).toISOString();
    await api('POST', '/v1/events', businessCreated());
    await api('POST', '/v1/events', businessCreated());
    await waitUntil(async () => ((await api('GET', '/v1/dead-letters')).body['data'] as Json[]).length === 2);
    r.respond(() => ({ status: 204 }));
    const early = await api('POST', `/v1/subscriptions/${subId}/replay`, { since: '2020-01-01T00:00:00Z', until: '2020-01-02T00:00:00Z' });
    expect(early.body).toMatchObject({ replayed: 0 });
    const replay = await api('POST', `/v1/subscriptions/${subId}/replay`, { since });
    expect(replay.status).toBe(202);
    expect(replay.body['replayed']).toBe(2);
    await r.waitFor(4);
    expect(new Set(r.requests.map((q) => q.headers['webhook-id'])).size).toBe(2);
    // Replayed once: a second call finds nothing left to replay.
    expect((await api('POST', `/v1/subscriptions/${subId}/replay`, { since })).body['replayed']).toBe(0);
    const invalid = await api('POST', `/v1/subscriptions/${subId}/replay`, { since: 'last week' });
    expect(invalid.status).toBe(400);
  });

  it('honours Retry-After on 429 and 503', async () => {
    const api = await tenant();
    const r = await receiver((_req, nth) => (nth === 1 ? { status: 429, headers: { 'retry-after': '2' } } : nth === 2 ? { status: 503, headers: { 'retry-after': '1' } } : { status: 200 }));
    await api('POST', '/v1/subscriptions', { endpointUrl: r.url, events: ['business.created'], retryConfig: { initialDelaySeconds: 60 } });
    await api('POST', '/v1/events', businessCreated());
    const requests = await r.waitFor(3, 15_000);
    expect(requests[1]!.at - requests[0]!.at).toBeGreaterThanOrEqual(1900);
    expect(requests[1]!.at - requests[0]!.at).toBeLessThan(4000);
    expect(requests[2]!.at - requests[1]!.at).toBeGreaterThanOrEqual(900);
    expect(requests[2]!.at - requests[1]!.at).toBeLessThan(3000);
  });

  it('disables the subscription on 410 Gone, dead-letters the delivery and emits webhook.endpoint_disabled', async () => {
    const api = await tenant();
    const gone = await receiver(() => ({ status: 410 }));
    const alerts = await receiver();
    const sub = await api('POST', '/v1/subscriptions', { endpointUrl: gone.url, events: ['business.created'] });
    const subId = String(sub.body['id']);
    await api('POST', '/v1/subscriptions', { endpointUrl: alerts.url, events: ['webhook.endpoint_disabled'] });
    await api('POST', '/v1/events', businessCreated());
    const [alert] = await alerts.waitFor(1);
    expect(alert!.json).toMatchObject({ type: 'webhook.endpoint_disabled', data: { subscription_id: subId, endpoint_url: gone.url } });
    const shown = await api('GET', `/v1/subscriptions/${subId}`);
    expect(shown.body).toMatchObject({ active: false, disabledReason: 'endpoint answered 410 Gone' });
    const dead = (await api('GET', `/v1/dead-letters?subscriptionId=${subId}`)).body['data'] as Json[];
    expect(dead).toMatchObject([{ reason: 'endpoint_gone', lastStatus: 410 }]);
    // Replaying into a disabled subscription is refused with what to do.
    const replay = await api('POST', `/v1/dead-letters/${String(dead[0]!['id'])}/replay`);
    expect(replay.status).toBe(409);
    expect((replay.body['error'] as Json)['code']).toBe('subscription_inactive');
    // Later events are not delivered.
    await api('POST', '/v1/events', businessCreated());
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(gone.requests).toHaveLength(1);
  });

  it('does not follow redirects: a 3xx is a failed attempt that is retried', async () => {
    const api = await tenant();
    const target = await receiver();
    const redirecting = await receiver(() => ({ status: 307, headers: { location: `${target.url}/elsewhere` } }));
    const sub = await api('POST', '/v1/subscriptions', { endpointUrl: redirecting.url, events: ['business.created'], retryConfig: { maxRetries: 1, initialDelaySeconds: 1 } });
    await api('POST', '/v1/events', businessCreated());
    await redirecting.waitFor(2);
    await waitUntil(async () => ((await api('GET', `/v1/dead-letters?subscriptionId=${String(sub.body['id'])}`)).body['data'] as Json[]).length === 1);
    expect(target.requests).toHaveLength(0);
  });
});
