import { startTestHub } from '../support/test-hub';
import type { TestHub } from '../support/test-hub';

/**
 * Guessing API keys from one address: after HOOKHUB_AUTH_FAILURE_LIMIT failed authentications in a
 * minute, the address is refused before any key is looked up; other addresses and valid keys are not.
 * The hub sits behind a proxy on loopback here (HOOKHUB_TRUST_PROXY=loopback), which names each
 * client's address in X-Forwarded-For.
 */
let th: TestHub;

beforeAll(async () => {
  th = await startTestHub({ mode: 'embedded', env: { HOOKHUB_AUTH_FAILURE_LIMIT: '5', HOOKHUB_TRUST_PROXY: 'loopback' } });
});

afterAll(() => th.destroy());

type ErrorBody = { error: { code: string; message: string; details: { retryAfterSeconds: number; limit: number } } };

async function call(from: string, path: string, key: string | null, init: RequestInit = {}): Promise<{ status: number; retryAfter: string | null; body: ErrorBody }> {
  const headers: Record<string, string> = { 'x-forwarded-for': from, ...(key === null ? {} : { authorization: `Bearer ${key}` }) };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${th.hub.url}${path}`, { ...init, headers });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as ErrorBody };
}

it('refuses an address after 5 failed authentications in a minute, valid key or not, with 429 and Retry-After', async () => {
  const guesser = '203.0.113.7';
  for (let i = 0; i < 5; i += 1) expect((await call(guesser, '/v1/subscriptions', `hh_guess_${i}`)).status).toBe(401);
  const refused = await call(guesser, '/v1/subscriptions', 'hh_guess_6');
  expect(refused.status).toBe(429);
  expect(refused.body.error.code).toBe('too_many_failed_authentications');
  expect(refused.body.error.message).toContain('More than 5 requests from this address failed authentication');
  expect(refused.body.error.details.limit).toBe(5);
  expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
  expect(Number(refused.retryAfter)).toBeLessThanOrEqual(60);
  expect(refused.retryAfter).toBe(String(refused.body.error.details.retryAfterSeconds));
  // The whole address is held off: a valid key, a missing key and the console's sign-in too.
  expect((await call(guesser, '/v1/subscriptions', th.apiKey)).status).toBe(429);
  expect((await call(guesser, '/v1/subscriptions', null)).status).toBe(429);
  expect((await call(guesser, '/v1/sessions', null, { method: 'POST', body: JSON.stringify({ apiKey: 'hh_guess_7' }) })).status).toBe(429);

  // Another address is not: its valid key works, and its own failures are its own.
  const other = '203.0.113.8';
  expect((await call(other, '/v1/subscriptions', th.apiKey)).status).toBe(200);
  expect((await call(other, '/v1/subscriptions', 'hh_typo')).status).toBe(401);
});

it('counts only failed authentications: answers a valid key gets, errors included, never add up to a refusal', async () => {
  const client = '203.0.113.9';
  for (let i = 0; i < 12; i += 1) expect((await call(client, '/v1/subscriptions', th.apiKey)).status).toBe(200);
  // 404s and 400s of an authenticated client are not failed authentications.
  for (let i = 0; i < 6; i += 1) expect((await call(client, '/v1/subscriptions/sub_missing', th.apiKey)).status).toBe(404);
  expect((await call(client, '/v1/subscriptions', th.apiKey, { method: 'POST', body: '{}' })).status).toBe(400);
  // Console sign-ins that fail count like keys that fail.
  for (let i = 0; i < 5; i += 1) expect((await call(client, '/v1/sessions', null, { method: 'POST', body: JSON.stringify({ apiKey: `hh_wrong_${i}` }) })).status).toBe(401);
  expect((await call(client, '/v1/subscriptions', th.apiKey)).status).toBe(429);
});
