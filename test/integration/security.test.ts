import { sha256Hex } from '../../src/core/ids';
import { createLogger } from '../../src/core/logger';
import { startReceiver, waitUntil } from '../support/receiver';
import type { Receiver } from '../support/receiver';
import { businessCreated, startTestHub } from '../support/test-hub';
import type { ApiResponse, TestHub } from '../support/test-hub';

type Json = Record<string, unknown>;
type Api = <T = Json>(method: string, path: string, body?: unknown) => Promise<ApiResponse<T>>;

/** Every line the hub logs, as written (trace level: nothing is filtered out). */
const logLines: string[] = [];
const logger = createLogger({ level: 'trace' }, { write: (line: string) => void logLines.push(line) });

let th: TestHub;
let receiver: Receiver;

beforeAll(async () => {
  [th, receiver] = await Promise.all([startTestHub({ logger, env: { HOOKHUB_MAX_BODY_BYTES: '65536' } }), startReceiver()]);
});

afterAll(async () => {
  await receiver.close();
  await th.destroy();
});

/** An admin key of a fresh tenant, and a caller bound to it. */
async function tenant(): Promise<{ key: string; api: Api }> {
  const key = await th.keyForTenant(`t${Math.random().toString(36).slice(2, 10)}`);
  return { key, api: (method, path, body) => th.api(method, path, body, key) };
}

function as(key: string): Api {
  return (method, path, body) => th.api(method, path, body, key);
}

async function createKey(api: Api, name: string, scopes: string[]): Promise<{ id: string; key: string }> {
  const created = await api('POST', '/v1/api-keys', { name, scopes });
  expect(created.status).toBe(201);
  return { id: String(created.body['id']), key: String(created.body['key']) };
}

describe('API keys', () => {
  it('creates a key shown once, lists keys without key or hash, and revokes at once', async () => {
    const admin = await tenant();
    const created = await admin.api('POST', '/v1/api-keys', { name: 'ci', scopes: ['subscriptions:read', 'deliveries:read'] });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: expect.stringMatching(/^key_/), name: 'ci', scopes: ['subscriptions:read', 'deliveries:read'], createdAt: expect.any(String), key: expect.stringMatching(/^hh_[A-Za-z0-9_-]{43}$/) });
    const key = String(created.body['key']);
    expect(Buffer.from(key.slice(3), 'base64url')).toHaveLength(32);

    expect((await th.api('GET', '/v1/subscriptions', undefined, key)).status).toBe(200);
    await waitUntil(async () => {
      const listed = await admin.api<{ data: Json[] }>('GET', '/v1/api-keys');
      return listed.body.data.find((k) => k['id'] === created.body['id'])?.['lastUsedAt'] !== null;
    });
    const listed = await admin.api<{ data: Json[]; nextCursor: null }>('GET', '/v1/api-keys');
    expect(listed.status).toBe(200);
    const entry = listed.body.data.find((k) => k['id'] === created.body['id']);
    expect(entry).toEqual({ id: created.body['id'], name: 'ci', scopes: ['subscriptions:read', 'deliveries:read'], createdAt: created.body['createdAt'], lastUsedAt: expect.any(String), revokedAt: null });
    // Keys made outside the API (here like `hookhub keys create` before scopes) have a derived id and are admin keys.
    expect(listed.body.data.find((k) => k['id'] !== created.body['id'])).toMatchObject({ id: expect.stringMatching(/^key_/), scopes: ['admin'] });
    const text = JSON.stringify(listed.body);
    expect(text).not.toContain(key);
    expect(text).not.toContain(sha256Hex(key));
    expect(text).not.toContain(sha256Hex(admin.key));

    const revoked = await admin.api('DELETE', `/v1/api-keys/${String(created.body['id'])}`);
    expect(revoked.status).toBe(204);
    const refused = await th.api<{ error: Json }>('GET', '/v1/subscriptions', undefined, key);
    expect(refused.status).toBe(401);
    expect(refused.body.error['code']).toBe('unauthorized');
    expect((await admin.api<{ data: Json[] }>('GET', '/v1/api-keys')).body.data.find((k) => k['id'] === created.body['id'])?.['revokedAt']).toEqual(expect.any(String));
    // Another tenant cannot see or revoke this tenant's keys.
    const other = await tenant();
    expect((await other.api('DELETE', `/v1/api-keys/${String(created.body['id'])}`)).status).toBe(404);
    expect(JSON.stringify((await other.api('GET', '/v1/api-keys')).body)).not.toContain(String(created.body['id']));
  });

  it('refuses bad key requests naming each problem', async () => {
    const admin = await tenant();
    const bad = await admin.api<{ error: { code: string; details: Array<{ path: string }> } }>('POST', '/v1/api-keys', { name: '', scopes: ['subscriptions:read', 'root'], extra: 1 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('validation_failed');
    expect(bad.body.error.details.map((d) => d.path)).toEqual(['/name', '/scopes/1', '/extra']);
    expect((await admin.api('POST', '/v1/api-keys', { name: 'x', scopes: [] })).status).toBe(400);
  });

  it('lets each key do what its scopes allow and answers 403 insufficient_scope otherwise', async () => {
    const admin = await tenant();
    const sub = await admin.api('POST', '/v1/subscriptions', { endpointUrl: `${receiver.url}/scopes`, events: ['business.created'] });
    const subId = String(sub.body['id']);
    const reader = as((await createKey(admin.api, 'reader', ['subscriptions:read'])).key);
    const writer = as((await createKey(admin.api, 'writer', ['subscriptions:write'])).key);
    const publisher = as((await createKey(admin.api, 'publisher', ['events:publish'])).key);
    const deliveries = as((await createKey(admin.api, 'deliveries', ['deliveries:read'])).key);
    const linker = as((await createKey(admin.api, 'linker', ['connections:write'])).key);

    const cases: Array<[Api, string, string, unknown, number | 'allowed', string?]> = [
      [reader, 'GET', '/v1/subscriptions', undefined, 'allowed'],
      [reader, 'GET', `/v1/subscriptions/${subId}`, undefined, 'allowed'],
      [reader, 'GET', '/v1/connections', undefined, 'allowed'],
      [reader, 'GET', '/v1/connectors', undefined, 'allowed'],
      [reader, 'GET', '/v1/integrations', undefined, 'allowed'],
      [reader, 'GET', `/v1/subscriptions/${subId}/secret`, undefined, 403, 'subscriptions:write'],
      [reader, 'PATCH', `/v1/subscriptions/${subId}`, { description: 'x' }, 403, 'subscriptions:write'],
      [reader, 'POST', '/v1/events', businessCreated(), 403, 'events:publish'],
      [reader, 'GET', '/v1/deliveries', undefined, 403, 'deliveries:read'],
      [reader, 'POST', '/v1/connections', { connector: 'slack' }, 403, 'connections:write'],
      [reader, 'GET', '/v1/api-keys', undefined, 403, 'admin'],
      [reader, 'GET', '/v1/audit-log', undefined, 403, 'admin'],
      [writer, 'PATCH', `/v1/subscriptions/${subId}`, { description: 'x' }, 'allowed'],
      [writer, 'GET', `/v1/subscriptions/${subId}/secret`, undefined, 'allowed'],
      [writer, 'GET', '/v1/subscriptions', undefined, 403, 'subscriptions:read'],
      [writer, 'POST', '/v1/api-keys', { name: 'escalate', scopes: ['admin'] }, 403, 'admin'],
      [publisher, 'POST', '/v1/events', businessCreated(), 'allowed'],
      [publisher, 'GET', '/v1/subscriptions', undefined, 403, 'subscriptions:read'],
      [deliveries, 'GET', '/v1/deliveries', undefined, 'allowed'],
      [deliveries, 'GET', '/v1/dead-letters', undefined, 'allowed'],
      [deliveries, 'POST', '/v1/dead-letters/dl_x/replay', undefined, 403, 'subscriptions:write'],
      [linker, 'POST', '/v1/connections/authorize', { connector: 'nope' }, 'allowed'],
      [linker, 'DELETE', '/v1/connections/con_nope', undefined, 'allowed'],
      [linker, 'GET', '/v1/connections', undefined, 403, 'subscriptions:read'],
      [linker, 'DELETE', `/v1/subscriptions/${subId}`, undefined, 403, 'subscriptions:write'],
    ];
    for (const [api, method, path, body, expected, scope] of cases) {
      const response = await api<{ error?: { code: string; message: string; details: unknown } }>(method, path, body);
      if (expected === 'allowed') {
        // Allowed means the route itself answered (it may still be a 404 or 400 of its own).
        expect([method, path, response.status, response.body.error?.code]).toEqual([method, path, expect.any(Number), expect.not.stringMatching(/^(insufficient_scope|unauthorized)$/)]);
        expect(response.status).not.toBe(403);
      } else {
        expect([method, path, response.status, response.body]).toEqual([
          method,
          path,
          403,
          { error: { code: 'insufficient_scope', message: expect.stringContaining(`lacks the scope ${scope!} needed for ${method}`), details: { required: scope } } },
        ]);
      }
    }
  });
});

describe('audit log', () => {
  it('records each change with who, what and the field names, never the values', async () => {
    const admin = await tenant();
    const created = await th.api('POST', '/v1/subscriptions', { endpointUrl: `${receiver.url}/audit`, events: ['business.created'], headers: { 'X-Token': 'hdr-SECRET-456' } }, admin.key);
    const subId = String(created.body['id']);
    const secret = String(created.body['secret']);
    expect((await admin.api('PATCH', `/v1/subscriptions/${subId}`, { description: 'CRM', headers: { 'X-Token': 'hdr-SECRET-789' } })).status).toBe(200);
    expect((await admin.api('PATCH', `/v1/subscriptions/${subId}`, { endpointUrl: 'not a url' })).status).toBe(400);
    const connection = await admin.api('POST', '/v1/connections', { connector: 'webhook-custom', config: { url: 'https://crm.example.com/x', auth: { type: 'bearer', token: 'tok-SECRET-123' } } });
    expect(connection.status).toBe(201);
    const key = await createKey(admin.api, 'temp', ['subscriptions:read']);
    expect((await admin.api('DELETE', `/v1/api-keys/${key.id}`)).status).toBe(204);
    expect((await admin.api('DELETE', `/v1/subscriptions/${subId}`)).status).toBe(204);

    type Entry = Json & { apiKey: Json };
    let entries: Entry[] = [];
    await waitUntil(async () => {
      entries = (await admin.api<{ data: Entry[] }>('GET', '/v1/audit-log')).body.data;
      return entries.length >= 6;
    }, 10_000, () => JSON.stringify(entries));
    expect(entries.map((e) => [e['action'], e['resourceType'], e['resourceId'], e['fields'], e['status']])).toEqual([
      ['subscription.delete', 'subscription', subId, [], 204],
      ['api_key.revoke', 'api_key', key.id, [], 204],
      ['api_key.create', 'api_key', key.id, ['name', 'scopes'], 201],
      ['connection.create', 'connection', connection.body['id'], ['connector', 'config'], 201],
      ['subscription.update', 'subscription', subId, ['description', 'headers'], 200],
      ['subscription.create', 'subscription', subId, ['endpointUrl', 'events', 'headers'], 201],
    ]);
    const bootstrapId = (await admin.api<{ data: Json[] }>('GET', '/v1/api-keys')).body.data.find((k) => k['name'] === 'test')?.['id'];
    for (const e of entries) {
      expect(e).toMatchObject({ apiKey: { id: bootstrapId, name: 'test' }, ip: expect.stringMatching(/127\.0\.0\.1/), userAgent: expect.any(String), at: expect.any(String) });
    }
    const text = JSON.stringify(entries);
    for (const value of ['hdr-SECRET-456', 'hdr-SECRET-789', 'tok-SECRET-123', secret, key.key, 'crm.example.com', 'CRM']) expect(text).not.toContain(value);

    const filtered = await admin.api<{ data: Entry[] }>('GET', `/v1/audit-log?resourceType=subscription&resourceId=${subId}&limit=2`);
    expect(filtered.body.data.map((e) => e['action'])).toEqual(['subscription.delete', 'subscription.update']);
    const next = await admin.api<{ data: Entry[] }>('GET', `/v1/audit-log?resourceType=subscription&resourceId=${subId}&limit=2&cursor=${String((filtered.body as Json)['nextCursor'])}`);
    expect(next.body.data.map((e) => e['action'])).toEqual(['subscription.create']);
    expect((await admin.api<{ data: Entry[] }>('GET', '/v1/audit-log?action=api_key.create')).body.data).toHaveLength(1);
    // Another tenant sees none of it.
    const other = await tenant();
    expect((await other.api<{ data: Entry[] }>('GET', '/v1/audit-log')).body.data).toEqual([]);
  });
});

describe('request bodies', () => {
  it('refuses a body above HOOKHUB_MAX_BODY_BYTES with 413 and the error body', async () => {
    const big = { endpointUrl: `${receiver.url}/big`, events: ['business.created'], description: 'x'.repeat(70_000) };
    const response = await th.api('POST', '/v1/subscriptions', big);
    expect(response.status).toBe(413);
    expect(response.body).toEqual({ error: { code: 'payload_too_large', message: 'The request body exceeds the limit of 65536 bytes.' } });
    // Just under the limit is parsed (and judged on its merits).
    const fits = await th.api('POST', '/v1/subscriptions', { ...big, description: 'x'.repeat(60_000) });
    expect(fits.status).not.toBe(413);
  });
});

describe('secret headers', () => {
  it('stores a header marked secret encrypted, shows it as {"secret": true} everywhere, and sends its value to the endpoint', async () => {
    const admin = await tenant();
    const token = 'Bearer rcv-SECRET-7f3a9c';
    const endpoint = await startReceiver();
    try {
      const created = await admin.api('POST', '/v1/subscriptions', {
        endpointUrl: `${endpoint.url}/hook`,
        events: ['business.created'],
        headers: { 'X-Env': 'prod', Authorization: { value: token, secret: true } },
      });
      expect(created.status).toBe(201);
      const id = String(created.body['id']);
      expect(created.body['headers']).toEqual({ 'X-Env': 'prod', Authorization: { secret: true } });
      const read = await admin.api('GET', `/v1/subscriptions/${id}`);
      expect(read.body['headers']).toEqual({ 'X-Env': 'prod', Authorization: { secret: true } });
      const answers = [created.body, read.body, (await admin.api('GET', '/v1/subscriptions')).body, (await admin.api('GET', '/v1/audit-log')).body];
      for (const answer of answers) expect(JSON.stringify(answer)).not.toContain('rcv-SECRET');
      const stored = await th.hub.store.loadSubscription(id);
      if (stored?.kind !== 'webhook') throw new Error(`subscription ${id} is not stored as a webhook`);
      expect(stored?.headers).toEqual({ 'X-Env': 'prod' });
      expect(stored?.secretHeaders).toEqual(['Authorization']);
      expect(stored?.headersSealed).toMatch(/^v1:/);
      expect(JSON.stringify(stored)).not.toContain('rcv-SECRET');

      // A delivery carries the value in clear, next to the plain header.
      expect((await admin.api('POST', '/v1/events', businessCreated())).status).toBe(202);
      const [delivered] = await endpoint.waitFor(1);
      expect(delivered?.headers).toMatchObject({ authorization: token, 'x-env': 'prod' });

      // So does a test send, whose answer shows the request with the value masked.
      const test = await admin.api<{ request: { headers: Json } }>('POST', `/v1/subscriptions/${id}/test`, { type: 'business.created' });
      expect(test.status).toBe(200);
      expect(test.body.request.headers).toMatchObject({ Authorization: '********', 'X-Env': 'prod' });
      expect(JSON.stringify(test.body)).not.toContain('rcv-SECRET');
      expect((await endpoint.waitFor(2))[1]?.headers['authorization']).toBe(token);

      // Sent back as shown, with a header added: the secret keeps its value.
      const changed = await admin.api('PATCH', `/v1/subscriptions/${id}`, { headers: { ...(read.body['headers'] as Json), 'X-Team': 'crm' } });
      expect(changed.status).toBe(200);
      expect(changed.body['headers']).toEqual({ 'X-Env': 'prod', 'X-Team': 'crm', Authorization: { secret: true } });
      expect((await admin.api('POST', `/v1/subscriptions/${id}/test`, { type: 'business.created' })).status).toBe(200);
      expect((await endpoint.waitFor(3))[2]?.headers).toMatchObject({ authorization: token, 'x-team': 'crm' });

      // Keeping a value that was never stored is refused; a header made plain again is shown again.
      const unknown = await admin.api<{ error: { details: Json[] } }>('PATCH', `/v1/subscriptions/${id}`, { headers: { 'X-Api-Key': { secret: true } } });
      expect(unknown.status).toBe(400);
      expect(unknown.body.error.details).toEqual([{ path: '/headers/X-Api-Key', message: 'is not a stored secret header, so it needs its value: {"value": "...", "secret": true}' }]);
      const plain = await admin.api('PATCH', `/v1/subscriptions/${id}`, { headers: { Authorization: { value: 'Bearer public', secret: false } } });
      expect(plain.body['headers']).toEqual({ Authorization: 'Bearer public' });
      expect(await th.hub.store.loadSubscription(id)).toMatchObject({ kind: 'webhook', headersSealed: null });
    } finally {
      await endpoint.close();
    }
    expect(logLines.join('\n')).not.toContain('rcv-SECRET');
  });

  it('refuses a secret header given without a value or with CR/LF, naming the header', async () => {
    const admin = await tenant();
    const response = await admin.api<{ error: { details: Json[] } }>('POST', '/v1/subscriptions', {
      endpointUrl: `${receiver.url}/bad-headers`,
      events: ['business.created'],
      headers: { Authorization: { secret: true }, 'X-Token': { value: 'a\r\nInjected: yes', secret: true }, 'X-Other': { value: 'x', colour: 'red' } },
    });
    expect(response.status).toBe(400);
    expect(response.body.error.details.map((d) => d['path'])).toEqual(expect.arrayContaining(['/headers/X-Other']));
    const valid = { endpointUrl: `${receiver.url}/bad-headers`, events: ['business.created'] };
    const missing = await admin.api<{ error: { details: Json[] } }>('POST', '/v1/subscriptions', { ...valid, headers: { Authorization: { secret: true } } });
    expect(missing.body.error.details).toEqual([{ path: '/headers/Authorization', message: 'is not a stored secret header, so it needs its value: {"value": "...", "secret": true}' }]);
    const injected = await admin.api<{ error: { details: Json[] } }>('POST', '/v1/subscriptions', { ...valid, headers: { 'X-Token': { value: 'a\r\nInjected: yes', secret: true } } });
    expect(injected.body.error.details).toEqual([{ path: '/headers/X-Token', message: 'value must not contain CR, LF or NUL' }]);
  });
});

describe('access logs', () => {
  it('has one line per request with method, path, status, duration, tenant and key id, and no secret anywhere', async () => {
    const admin = await tenant();
    const sub = await admin.api('POST', '/v1/subscriptions', { endpointUrl: `${receiver.url}/logs`, events: ['business.created'], headers: { Authorization: 'Bearer hdr-SECRET-456' } });
    const subId = String(sub.body['id']);
    const secret = String(sub.body['secret']);
    expect((await admin.api('GET', `/v1/subscriptions/${subId}/secret`)).body['secret']).toBe(secret);
    const created = await createKey(admin.api, 'logs', ['events:publish']);
    const published = await as(created.key)('POST', '/v1/events', businessCreated({}, { address: { city: 'Austin', state: 'TX' } }));
    expect(published.status).toBe(202);
    const connection = await admin.api('POST', '/v1/connections', { connector: 'webhook-custom', config: { url: 'https://crm.example.com/x', auth: { type: 'bearer', token: 'tok-SECRET-123' } } });
    expect(connection.status).toBe(201);
    await admin.api('GET', `/v1/subscriptions?limit=5&token=qry-SECRET-321`);
    await th.api('GET', '/v1/subscriptions', undefined, 'hh_wrong-SECRET-654');
    await receiver.waitFor(1);
    await waitUntil(() => logLines.some((l) => l.includes('"path":"/v1/subscriptions"') && l.includes('"status":401')));

    const requests = logLines.map((l) => JSON.parse(l) as Json).filter((l) => l['msg'] === 'api request' && (l['tenantId'] === undefined || l['tenantId'] === null || String(l['tenantId']).startsWith('t')));
    expect(requests).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ method: 'POST', path: '/v1/subscriptions', status: 201, durationMs: expect.any(Number), tenantId: expect.any(String), apiKeyId: expect.stringMatching(/^key_/) }),
        expect.objectContaining({ method: 'GET', path: `/v1/subscriptions/${subId}/secret`, status: 200 }),
        expect.objectContaining({ method: 'POST', path: '/v1/api-keys', status: 201 }),
        expect.objectContaining({ method: 'POST', path: '/v1/events', status: 202, apiKeyId: created.id }),
        expect.objectContaining({ method: 'POST', path: '/v1/connections', status: 201 }),
        expect.objectContaining({ method: 'GET', path: '/v1/subscriptions', status: 200 }),
        expect.objectContaining({ method: 'GET', path: '/v1/subscriptions', status: 401, tenantId: null, apiKeyId: null }),
      ]),
    );
    const all = logLines.join('\n');
    const secrets = [secret, secret.slice('whsec_'.length), created.key, admin.key, th.apiKey, 'tok-SECRET-123', 'hdr-SECRET-456', 'qry-SECRET-321', 'wrong-SECRET-654', sha256Hex(created.key)];
    for (const value of secrets) expect([value, all.includes(value)]).toEqual([value, false]);
    expect(all).not.toMatch(/whsec_[A-Za-z0-9+/=]{20,}/);
    expect(all).not.toMatch(/hh_[A-Za-z0-9_-]{20,}/);
  });
});
