import mongoose from 'mongoose';
import { DIRECTORY_EVENT_TYPES } from '../../src/events/catalog';
import { startReceiver, waitUntil } from '../support/receiver';
import type { Receiver } from '../support/receiver';
import { mongoUrlFor } from '../support/services';
import { businessCreated, startTestHub } from '../support/test-hub';
import type { TestHub } from '../support/test-hub';

type Json = Record<string, unknown>;

let th: TestHub;
let receiver: Receiver;

beforeAll(async () => {
  th = await startTestHub();
  receiver = await startReceiver();
});

afterAll(async () => {
  await receiver.close();
  await th.destroy();
});

const subscription = (overrides: Json = {}): Json => ({ endpointUrl: `${receiver.url}/hook`, events: ['business.created'], ...overrides });

describe('health', () => {
  it('answers /healthz and reports broker and store on /readyz', async () => {
    const health = await fetch(`${th.hub.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${th.hub.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', mode: 'services', checks: { broker: 'up', store: 'up' } });
  });
});

describe('event types', () => {
  it('lists the 12 directory event types with their JSON Schemas', async () => {
    const { status, body } = await th.api<{ data: Array<{ type: string; source: string; schema: Json }> }>('GET', '/v1/event-types');
    expect(status).toBe(200);
    const directory = body.data.filter((t) => t.source === 'directory');
    expect(directory.map((t) => t.type).sort()).toEqual([...DIRECTORY_EVENT_TYPES].sort());
    const created = body.data.find((t) => t.type === 'business.created');
    expect(created?.schema['required']).toEqual(expect.arrayContaining(['id', 'name', 'category']));
  });
});

describe('subscriptions', () => {
  it('creates a subscription with defaults and a whsec_ secret of at least 24 random bytes', async () => {
    const { status, body, headers } = await th.api('POST', '/v1/subscriptions', subscription({ description: 'CRM sync' }));
    expect(status).toBe(201);
    expect(headers.get('location')).toBe(`/v1/subscriptions/${String(body['id'])}`);
    expect(body['id']).toMatch(/^sub_/);
    expect(body['retryConfig']).toEqual({ maxRetries: 8, initialDelaySeconds: 5, backoffMultiplier: 5, maxBackoffSeconds: 36000 });
    expect(body['active']).toBe(true);
    const secret = String(body['secret']);
    expect(secret).toMatch(/^whsec_/);
    expect(Buffer.from(secret.slice(6), 'base64').length).toBeGreaterThanOrEqual(24);
  });

  it('returns the secret only at creation and from /secret, and stores it encrypted', async () => {
    const created = await th.api('POST', '/v1/subscriptions', subscription());
    const id = String(created.body['id']);
    const secret = String(created.body['secret']);
    const fetched = await th.api('GET', `/v1/subscriptions/${id}`);
    expect(JSON.stringify(fetched.body)).not.toContain(secret);
    expect(fetched.body['secret']).toBeUndefined();
    const list = await th.api<{ data: Json[] }>('GET', '/v1/subscriptions?limit=250');
    expect(JSON.stringify(list.body)).not.toContain(secret.slice(6));
    const revealed = await th.api('GET', `/v1/subscriptions/${id}/secret`);
    expect(revealed.body).toEqual({ secret });

    const connection = await mongoose.createConnection(mongoUrlFor(th.database)).asPromise();
    try {
      const doc = await connection.db!.collection('subscriptions').findOne({ _id: id as never });
      expect(doc).not.toBeNull();
      const raw = JSON.stringify(doc);
      expect(raw).not.toContain(secret.slice(6));
      expect(String(doc!['secretSealed'])).toMatch(/^v1:k1:/);
    } finally {
      await connection.close();
    }
  });

  it('rejects invalid registrations with a 400 that names each field', async () => {
    const { status, body } = await th.api<{ error: { code: string; message: string; details: Array<{ path: string }> } }>(
      'POST',
      '/v1/subscriptions',
      {
        endpointUrl: 'ftp://example.com/hook',
        events: ['business.created', 'business.exploded'],
        filter: 'data.rating >',
        payload: { transform: '{ "a": ' },
        headers: { 'webhook-signature': 'x', 'Bad Header': 'x', 'X-Ok': 'line\r\nInjected: yes' },
      },
    );
    expect(status).toBe(400);
    expect(body.error.code).toBe('validation_failed');
    const paths = body.error.details.map((d) => d.path);
    expect(paths).toEqual(
      expect.arrayContaining(['/endpointUrl', '/events/1', '/filter', '/payload/transform', '/headers/webhook-signature', '/headers/Bad Header', '/headers/X-Ok']),
    );
  });

  it('rejects unknown properties, missing fields and a non-object body', async () => {
    const unknown = await th.api<{ error: { details: Array<{ path: string; message: string }> } }>('POST', '/v1/subscriptions', {
      ...subscription(),
      colour: 'blue',
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.details).toEqual([{ path: '/colour', message: 'is not an allowed property' }]);
    const missing = await th.api<{ error: { details: Array<{ path: string }> } }>('POST', '/v1/subscriptions', { events: ['*'] });
    expect(missing.body.error.details.map((d) => d.path)).toContain('/endpointUrl');
    const response = await fetch(`${th.hub.url}/v1/subscriptions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${th.apiKey}`, 'content-type': 'application/json' },
      body: '{"endpointUrl": ',
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('invalid_json');
  });

  it('updates with PATCH, keeping unspecified retry settings, and deletes', async () => {
    const created = await th.api('POST', '/v1/subscriptions', subscription());
    const id = String(created.body['id']);
    const patched = await th.api('PATCH', `/v1/subscriptions/${id}`, { events: ['review.created'], retryConfig: { maxRetries: 3 }, active: false });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ events: ['review.created'], active: false, retryConfig: { maxRetries: 3, initialDelaySeconds: 5 } });
    const invalid = await th.api('PATCH', `/v1/subscriptions/${id}`, { events: ['nope.nope'] });
    expect(invalid.status).toBe(400);
    expect((await th.api('DELETE', `/v1/subscriptions/${id}`)).status).toBe(204);
    expect((await th.api('GET', `/v1/subscriptions/${id}`)).status).toBe(404);
  });

  it('pages through the list newest first with nextCursor', async () => {
    const key = await th.keyForTenant('pager');
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) ids.push(String((await th.api('POST', '/v1/subscriptions', subscription(), key)).body['id']));
    const first = await th.api<{ data: Json[]; nextCursor: string | null }>('GET', '/v1/subscriptions?limit=2', undefined, key);
    expect(first.body.data.map((s) => s['id'])).toEqual([ids[2], ids[1]]);
    expect(first.body.nextCursor).not.toBeNull();
    const second = await th.api<{ data: Json[]; nextCursor: string | null }>('GET', `/v1/subscriptions?limit=2&cursor=${first.body.nextCursor}`, undefined, key);
    expect(second.body.data.map((s) => s['id'])).toEqual([ids[0]]);
    expect(second.body.nextCursor).toBeNull();
  });
});

describe('authentication and tenancy', () => {
  it('refuses requests without a valid API key with the error body', async () => {
    const none = await fetch(`${th.hub.url}/v1/subscriptions`);
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ error: { code: 'unauthorized' } });
    const wrong = await th.api('GET', '/v1/subscriptions', undefined, 'hh_not_a_key_at_all');
    expect(wrong.status).toBe(401);
  });

  it("answers 404 for every route given another tenant's ids, and lists nothing of theirs", async () => {
    const owner = await th.keyForTenant('owner');
    const intruder = await th.keyForTenant('intruder');
    const created = await th.api('POST', '/v1/subscriptions', subscription(), owner);
    const id = String(created.body['id']);
    const published = await th.api('POST', '/v1/events', businessCreated(), owner);
    const eventId = String(published.body['id']);
    await receiver.waitFor(1);
    let attemptId = '';
    await waitUntil(async () => {
      const listed = await th.api<{ data: Json[] }>('GET', `/v1/deliveries?eventId=${eventId}`, undefined, owner);
      attemptId = String(listed.body.data[0]?.['id'] ?? '');
      return attemptId !== '';
    });
    const own = await th.api('GET', `/v1/deliveries/${attemptId}`, undefined, owner);
    expect(own).toMatchObject({ status: 200, body: { id: attemptId, eventId, subscriptionId: id, status: 'succeeded' } });

    const attempts: Array<[string, string, unknown?]> = [
      ['GET', `/v1/deliveries/${attemptId}`],
      ['GET', `/v1/subscriptions/${id}`],
      ['PATCH', `/v1/subscriptions/${id}`, { active: false }],
      ['GET', `/v1/subscriptions/${id}/secret`],
      ['POST', `/v1/subscriptions/${id}/test`, { type: 'business.created' }],
      ['POST', `/v1/subscriptions/${id}/replay`, { since: '2020-01-01T00:00:00Z' }],
      ['DELETE', `/v1/subscriptions/${id}`],
      ['GET', `/v1/events/${eventId}`],
      ['GET', '/v1/dead-letters/dl_01ANYTHING'],
      ['POST', '/v1/dead-letters/dl_01ANYTHING/replay'],
    ];
    for (const [method, path, body] of attempts) {
      const response = await th.api<{ error: { code: string } }>(method, path, body, intruder);
      expect([method, path, response.status]).toEqual([method, path, 404]);
      expect(response.body.error.code).toMatch(/_not_found$/);
    }
    const lists = ['/v1/subscriptions', `/v1/deliveries?subscriptionId=${id}`, `/v1/deliveries?eventId=${eventId}`, `/v1/dead-letters?subscriptionId=${id}`];
    for (const path of lists) {
      const response = await th.api<{ data: unknown[] }>('GET', path, undefined, intruder);
      expect([path, response.body.data]).toEqual([path, []]);
    }
    // The owner still has everything.
    expect((await th.api('GET', `/v1/subscriptions/${id}`, undefined, owner)).body['active']).toBe(true);
  });
});

describe('test sends', () => {
  it('sends a signed sample event at once and answers with what the endpoint said', async () => {
    const probe = await startReceiver(() => ({ status: 202, body: 'thanks', headers: { 'x-receiver': 'probe' } }));
    try {
      const created = await th.api('POST', '/v1/subscriptions', { endpointUrl: `${probe.url}/t`, events: ['review.created'] });
      const { status, body } = await th.api<Json & { response: Json; event: Json }>('POST', `/v1/subscriptions/${String(created.body['id'])}/test`, { type: 'review.created' });
      expect(status).toBe(200);
      expect(body).toMatchObject({ success: true, outcome: 'success', response: { status: 202, body: 'thanks' } });
      expect((body.response['headers'] as Json)['x-receiver']).toBe('probe');
      expect(probe.requests).toHaveLength(1);
      const sent = probe.requests[0]!;
      expect(sent.json['type']).toBe('review.created');
      expect((sent.json['data'] as Json)['rating']).toEqual(expect.any(Number));
      expect(sent.headers['webhook-signature']).toMatch(/^v1,/);

      const bad = await th.api<{ error: { code: string } }>('POST', `/v1/subscriptions/${String(created.body['id'])}/test`, {
        type: 'review.created',
        data: { id: 'r1' },
      });
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('validation_failed');
    } finally {
      await probe.close();
    }
  });
});

describe('test sends with a failing transform', () => {
  it('answer 200 with success false and the transform error, sending nothing', async () => {
    const probe = await startReceiver();
    try {
      const created = await th.api('POST', '/v1/subscriptions', { endpointUrl: probe.url, events: ['business.created'], payload: { transform: '$error("no mapping for " & data.category)' } });
      const { status, body } = await th.api('POST', `/v1/subscriptions/${String(created.body['id'])}/test`, { type: 'business.created' });
      expect(status).toBe(200);
      expect(body).toMatchObject({ success: false, outcome: 'permanent' });
      expect(String(body['error'])).toContain('no mapping for');
      expect(probe.requests).toHaveLength(0);
    } finally {
      await probe.close();
    }
  });
});

describe('the API', () => {
  it('serves an OpenAPI document and answers unknown routes with the error body', async () => {
    const doc = await fetch(`${th.hub.url}/openapi.json`);
    expect(doc.status).toBe(200);
    expect(((await doc.json()) as Json)['openapi']).toMatch(/^3\./);
    const missing = await th.api('GET', '/v1/nothing-here');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error: { code: 'route_not_found' } });
  });
});

describe('request bodies', () => {
  /** A request with a body as written, in the given media type (none: no Content-Type header at all). */
  const send = (method: string, path: string, body: string | Uint8Array, contentType?: string): Promise<Response> =>
    fetch(`${th.hub.url}${path}`, { method, headers: { authorization: `Bearer ${th.apiKey}`, ...(contentType ? { 'content-type': contentType } : {}) }, body });
  const nested = (depth: number, leaf = '1'): string => '{"a":'.repeat(depth) + leaf + '}'.repeat(depth);

  it('refuses JSON nested past the depth limit with 422 on every JSON route, and takes it up to the limit', async () => {
    const created = await th.api('POST', '/v1/subscriptions', subscription());
    const id = String(created.body['id']);
    const deepArrays = '['.repeat(100_000) + ']'.repeat(100_000);
    const deepObjects = nested(20_000);
    const attempts: Array<[string, string, string]> = [
      // The shapes of the report: under 1 MB, and each used to end in a 500 (a RangeError in JSON.stringify).
      ['POST', '/v1/events', `{"type":"business.created","data":{"id":"b1","name":"x","category":"y","deep":${deepArrays}}}`],
      ['POST', '/v1/events', `{"type":"business.created","data":${deepObjects}}`],
      ['POST', '/v1/subscriptions', `{"endpointUrl":"${receiver.url}/deep","events":["business.created"],"filters":[{"field":"data.a","operator":"equals","value":${deepArrays}}]}`],
      ['PATCH', `/v1/subscriptions/${id}`, `{"description":${deepObjects}}`],
      ['POST', `/v1/subscriptions/${id}/rotate-secret`, deepArrays],
      ['POST', '/v1/connections', `{"connector":"webhook-custom","config":${deepObjects}}`],
    ];
    for (const [method, path, body] of attempts) {
      const response = await send(method, path, body, 'application/json');
      expect([method, path, response.status]).toEqual([method, path, 422]);
      expect(await response.json()).toEqual({
        error: {
          code: 'body_too_deep',
          message: 'The request body nests objects and arrays more than 32 levels deep; the limit is 32. Send flatter JSON.',
          details: { maxDepth: 32 },
        },
      });
    }
    expect((await th.api('GET', `/v1/subscriptions/${id}`)).body['description']).toBeNull();
    expect((await fetch(`${th.hub.url}/healthz`)).status).toBe(200);

    // 32 levels (the body, filters, one filter, then 29 of value) pass and are judged on their merits; 33 do not.
    const atLimit = `{"endpointUrl":"${receiver.url}/deep","events":["business.created"],"filters":[{"field":"data.a","operator":"equals","value":${nested(29)}}]}`;
    expect((await send('POST', '/v1/subscriptions', atLimit, 'application/json')).status).toBe(201);
    const pastLimit = atLimit.replace(nested(29), nested(30));
    expect((await send('POST', '/v1/subscriptions', pastLimit, 'application/json')).status).toBe(422);
  });

  it('answers 415 to a body that is not JSON instead of ignoring it, and lets routes without a body be called without one', async () => {
    const created = await th.api('POST', '/v1/subscriptions', subscription());
    const id = String(created.body['id']);
    const secret = String(created.body['secret']);
    // fetch sends a string as text/plain: the overlap asked for must not be silently replaced by the default.
    const plain = await send('POST', `/v1/subscriptions/${id}/rotate-secret`, '{"overlapSeconds": 0}');
    expect(plain.status).toBe(415);
    expect(await plain.json()).toEqual({
      error: {
        code: 'unsupported_media_type',
        message: 'The request body is text/plain;charset=UTF-8, which this API does not read. Send it as JSON with Content-Type: application/json.',
        details: { contentType: 'text/plain;charset=UTF-8', accepted: ['application/json'] },
      },
    });
    expect((await th.api('GET', `/v1/subscriptions/${id}/secret`)).body).toEqual({ secret });

    const form = await send('POST', '/v1/subscriptions', `endpointUrl=${encodeURIComponent(receiver.url)}&events=business.created`, 'application/x-www-form-urlencoded');
    expect(form.status).toBe(415);
    const untyped = await send('PATCH', `/v1/subscriptions/${id}`, new TextEncoder().encode('{"active": false}'));
    expect(untyped.status).toBe(415);
    expect(((await untyped.json()) as { error: { code: string; message: string } }).error).toMatchObject({
      code: 'unsupported_media_type',
      message: expect.stringContaining('no Content-Type'),
    });
    expect((await th.api('GET', `/v1/subscriptions/${id}`)).body['active']).toBe(true);

    // JSON by another name is read as JSON.
    const mergePatch = await send('PATCH', `/v1/subscriptions/${id}`, '{"description": "merge"}', 'application/merge-patch+json');
    expect([mergePatch.status, ((await mergePatch.json()) as Json)['description']]).toEqual([200, 'merge']);
    // No body at all, or an empty one of any type (curl -X POST, curl -d ''): the defaults apply.
    expect((await fetch(`${th.hub.url}/v1/subscriptions/${id}/rotate-secret`, { method: 'POST', headers: { authorization: `Bearer ${th.apiKey}` } })).status).toBe(200);
    expect((await send('POST', `/v1/subscriptions/${id}/rotate-secret`, '', 'application/x-www-form-urlencoded')).status).toBe(200);
  });
});
