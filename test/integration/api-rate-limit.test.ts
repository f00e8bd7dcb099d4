import { EventValidator } from '../../src/events/validator';
import { startReceiver } from '../support/receiver';
import type { Receiver } from '../support/receiver';
import { startTestHub } from '../support/test-hub';
import type { TestHub } from '../support/test-hub';

type Json = Record<string, unknown>;

let th: TestHub;
let receiver: Receiver;

beforeAll(async () => {
  [th, receiver] = await Promise.all([startTestHub({ env: { HOOKHUB_API_RATE_LIMIT: '10' } }), startReceiver()]);
});

afterAll(async () => {
  await receiver.close();
  await th.destroy();
});

it('limits each key per minute with IETF headers, 429 in the error format, and tells the tenant through its webhooks', async () => {
  const key = await th.keyForTenant('ratelimited');
  const other = await th.keyForTenant('ratelimited');
  // Request 1: the tenant subscribes to the hub's API usage events.
  const sub = await th.api('POST', '/v1/subscriptions', { endpointUrl: `${receiver.url}/usage`, events: ['api.quota_warning', 'api.rate_limit_exceeded'] }, key);
  expect(sub.status).toBe(201);
  expect(sub.headers.get('ratelimit-policy')).toMatch(/q=10;\s*w=60/);
  expect(sub.headers.get('ratelimit')).toMatch(/r=9;\s*t=\d+/);

  for (let n = 2; n <= 10; n += 1) expect((await th.api('GET', '/v1/subscriptions', undefined, key)).status).toBe(200);
  const refused = await th.api<{ error: { code: string; message: string; details: { retryAfterSeconds: number } } }>('GET', '/v1/subscriptions', undefined, key);
  expect(refused.status).toBe(429);
  expect(refused.body.error.code).toBe('rate_limited');
  expect(refused.body.error.message).toContain('more than 10 requests in a minute');
  const retryAfter = refused.body.error.details.retryAfterSeconds;
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(refused.headers.get('retry-after')).toBe(String(retryAfter));
  expect(refused.headers.get('ratelimit')).toMatch(/r=0/);
  for (let n = 0; n < 5; n += 1) expect((await th.api('GET', '/v1/subscriptions', undefined, key)).status).toBe(429);

  // The limit is per key: another key of the same tenant is not held back.
  expect((await th.api('GET', '/v1/subscriptions', undefined, other)).status).toBe(200);

  // 80% (8th request), 95% (10th) and the first refusal: three events, however often the key was refused.
  await receiver.waitFor(3, 30_000);
  await new Promise((r) => setTimeout(r, 1000));
  const received = receiver.requests.map((r) => r.json as Json & { data: Json });
  expect(received).toHaveLength(3);
  const warnings = received.filter((e) => e['type'] === 'api.quota_warning').map((e) => e.data).sort((a, b) => Number(a['threshold_percent']) - Number(b['threshold_percent']));
  expect(warnings).toEqual([
    expect.objectContaining({ api_key_id: expect.stringMatching(/^key_/), quota: 10, used: 8, threshold_percent: 80, period_end: expect.any(String), occurred_at: expect.any(String) }),
    expect.objectContaining({ quota: 10, used: 10, threshold_percent: 95 }),
  ]);
  const exceeded = received.find((e) => e['type'] === 'api.rate_limit_exceeded')?.data;
  expect(exceeded).toEqual(
    expect.objectContaining({ api_key_id: warnings[0]!['api_key_id'], endpoint: 'GET /v1/subscriptions', limit: 10, window_seconds: 60, retry_after_seconds: expect.any(Number), occurred_at: expect.any(String) }),
  );
  // The data is valid for the event types' schemas (the router would have parked it otherwise, but say it plainly).
  const validator = new EventValidator();
  for (const event of received) {
    const { webhook: _webhook, created: _created, ...rest } = event;
    const check = validator.check({ ...rest, version: '1.0', timestamp: event['created'] });
    expect(check.ok ? 'valid' : JSON.stringify(check)).toBe('valid');
  }
});
