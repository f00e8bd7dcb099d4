import { waitUntil } from '../support/receiver';
import { startTestHub } from '../support/test-hub';
import type { TestHub } from '../support/test-hub';

/** Console sign-in over HTTP: the cookie stands for the key, with its scopes, for as long as the key is valid. */

let th: TestHub;

beforeAll(async () => {
  th = await startTestHub({ mode: 'embedded' });
});

afterAll(() => th.destroy());

async function signIn(apiKey: string): Promise<{ status: number; cookie: string; body: Record<string, unknown> }> {
  const res = await fetch(`${th.hub.url}/v1/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apiKey }) });
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  return { status: res.status, cookie, body: (await res.json()) as Record<string, unknown> };
}

function withCookie(cookie: string, method: string, path: string, body?: unknown, csrf?: string): Promise<Response> {
  const headers: Record<string, string> = { cookie };
  if (csrf !== undefined) headers['x-csrf-token'] = csrf;
  if (body !== undefined) headers['content-type'] = 'application/json';
  return fetch(`${th.hub.url}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
}

it('refuses a sign-in without a key or with an unknown one', async () => {
  const missing = await fetch(`${th.hub.url}/v1/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  expect(missing.status).toBe(400);
  const unknown = await signIn('hh_not_a_key');
  expect([unknown.status, unknown.cookie]).toEqual([401, '']);
});

it("acts with the key's scopes, needs the CSRF token for writes, and ends when the key is revoked", async () => {
  const made = await th.api<{ key: string; id: string }>('POST', '/v1/api-keys', { name: 'console-reader', scopes: ['subscriptions:read'] });
  const session = await signIn(made.body.key);
  expect(session.status).toBe(201);
  expect(session.body).toMatchObject({ tenantId: 'default', keyId: made.body.id, keyName: 'console-reader', scopes: ['subscriptions:read'] });
  expect(JSON.stringify(session.body)).not.toContain(made.body.key);
  const csrf = String(session.body['csrfToken']);

  expect((await withCookie(session.cookie, 'GET', '/v1/subscriptions')).status).toBe(200);
  // Its scopes, not more: a write it may not do is refused even with the token.
  const forbidden = await withCookie(session.cookie, 'POST', '/v1/subscriptions', { endpointUrl: 'https://example.com/x', events: ['business.created'] }, csrf);
  expect(forbidden.status).toBe(403);
  expect(((await forbidden.json()) as { error: { code: string } }).error.code).toBe('insufficient_scope');
  // The token is given again to the page that holds the cookie.
  const current = await withCookie(session.cookie, 'GET', '/v1/sessions/current');
  expect(((await current.json()) as { csrfToken: string }).csrfToken).toBe(csrf);

  expect((await th.api('DELETE', `/v1/api-keys/${made.body.id}`)).status).toBe(204);
  const after = await withCookie(session.cookie, 'GET', '/v1/subscriptions');
  expect(after.status).toBe(401);
});

it('lets an admin session write with the token, not without it or with another session\'s', async () => {
  const a = await signIn(th.apiKey);
  const b = await signIn(th.apiKey);
  const body = { endpointUrl: 'https://example.com/hook', events: ['business.created'] };
  const without = await withCookie(a.cookie, 'POST', '/v1/subscriptions', body);
  expect([without.status, ((await without.json()) as { error: { code: string } }).error.code]).toEqual([403, 'csrf_token_invalid']);
  expect((await withCookie(a.cookie, 'POST', '/v1/subscriptions', body, String(b.body['csrfToken']))).status).toBe(403);
  expect((await withCookie(a.cookie, 'POST', '/v1/subscriptions', body, String(a.body['csrfToken']))).status).toBe(201);
  // Signing out ends that session only.
  expect((await withCookie(a.cookie, 'DELETE', '/v1/sessions/current', undefined, String(a.body['csrfToken']))).status).toBe(204);
  expect((await withCookie(a.cookie, 'GET', '/v1/subscriptions')).status).toBe(401);
  expect((await withCookie(b.cookie, 'GET', '/v1/subscriptions')).status).toBe(200);
});

it('puts console sign-ins and sign-outs in the audit log with the key, address and browser, never a failed one', async () => {
  const made = await th.api<{ key: string; id: string }>('POST', '/v1/api-keys', { name: 'console-audited', scopes: ['subscriptions:read'] });
  const res = await fetch(`${th.hub.url}/v1/sessions`, { method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': 'audit-browser/1.0' }, body: JSON.stringify({ apiKey: made.body.key }) });
  expect(res.status).toBe(201);
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const csrf = String(((await res.json()) as Record<string, unknown>)['csrfToken']);
  expect((await signIn('hh_not_this_one')).status).toBe(401);
  expect((await withCookie(cookie, 'DELETE', '/v1/sessions/current', undefined, csrf)).status).toBe(204);
  type Entry = { action: string; resourceType: string; apiKey: { id: string; name: string }; ip: string | null; userAgent: string | null; status: number };
  let entries: Entry[] = [];
  await waitUntil(async () => {
    const log = await th.api<{ data: Entry[] }>('GET', '/v1/audit-log?resourceType=session');
    entries = log.body.data.filter((e) => e.apiKey.id === made.body.id);
    return entries.length >= 2;
  }, 10_000, () => `audit entries: ${JSON.stringify(entries)}`);
  expect(entries.map((e) => [e.action, e.status])).toEqual([['session.delete', 204], ['session.create', 201]]);
  expect(entries[1]).toMatchObject({ resourceType: 'session', apiKey: { id: made.body.id, name: 'console-audited' }, userAgent: 'audit-browser/1.0', ip: expect.stringContaining('127.0.0.1') });
});
