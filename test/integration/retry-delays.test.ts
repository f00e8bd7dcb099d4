import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { businessCreated, hubPerFile, waitForAttempts } from '../support/test-hub';
import type { TenantApi } from '../support/test-hub';

/**
 * A delay an endpoint or an API gives in a header, decimal seconds included, is
 * waited out before the retry: through the whole pipeline (RabbitMQ's retry
 * ladder, the store's attempt records), for a plain webhook subscription and
 * for a connector's error rule and rate-limit headers.
 */
const connectorsDir = mkdtempSync(path.join(os.tmpdir(), 'hh-retry-delays-'));
mkdirSync(path.join(connectorsDir, 'paced-api'));
// An API that says how long to wait in fractional seconds, as Discord's does: on a 429 in an
// error header, and on every answer in its rate-limit headers (what is left, and until when).
writeFileSync(
  path.join(connectorsDir, 'paced-api', 'connector.yaml'),
  `name: paced-api
version: 1.0.0
title: Paced API
description: An API that answers 429 with fractional-second backoff headers.
auth: { type: none }
config:
  type: object
  required: [url]
  properties:
    url: { type: string }
actions:
  send:
    method: POST
    url: "{{ $config.url }}"
triggers:
  - event: business.created
    actions: [send]
    mapping: "{ 'name': data.name }"
errors:
  - status: 429
    action: retry
    backoff: { header: X-RateLimit-Reset-After }
rate_limit:
  requests: 50
  per_seconds: 1
  headers: { remaining: X-Budget-Remaining, reset: X-Budget-Reset-After }
`,
);

const shared = hubPerFile({ env: { HOOKHUB_CONNECTORS_DIR: connectorsDir } });
const { receiver, tenant } = shared;

afterAll(() => rmSync(connectorsDir, { recursive: true, force: true }));

/** The first attempt's record: it failed, and says when the retry goes. */
function firstAttempt(attempts: Array<Record<string, unknown>>): { createdAt: number; nextAttemptAt: number } {
  const first = attempts.find((a) => a['attempt'] === 1);
  expect(first).toMatchObject({ status: 'failed', next: 'retry', httpStatus: 429 });
  return { createdAt: Date.parse(String(first!['createdAt'])), nextAttemptAt: Date.parse(String(first!['nextAttemptAt'])) };
}

// With a minute as the first step of their own schedule, a retry within seconds can only be the header's.
const SLOW_SCHEDULE = { initialDelaySeconds: 60 };

describe('a webhook endpoint answering 429 with a decimal Retry-After', () => {
  it('is retried no earlier than the 1.5 s it asked for, and the attempt record says when', async () => {
    const api = await tenant();
    const r = await receiver((_req, nth) => (nth === 1 ? { status: 429, headers: { 'retry-after': '1.5' } } : { status: 200 }));
    const sub = await api('POST', '/v1/subscriptions', { endpointUrl: r.url, events: ['business.created'], retryConfig: SLOW_SCHEDULE });
    await api('POST', '/v1/events', businessCreated());
    const requests = await r.waitFor(2, 15_000);
    expect(requests[1]!.at - requests[0]!.at).toBeGreaterThanOrEqual(1500);
    expect(requests[1]!.at - requests[0]!.at).toBeLessThan(5000);
    const { createdAt, nextAttemptAt } = firstAttempt(await waitForAttempts(api, String(sub.body['id']), 2));
    expect(nextAttemptAt - createdAt).toBe(1500);
  });

  it('falls back to the subscription’s schedule when Retry-After is neither seconds nor an HTTP date', async () => {
    const api = await tenant();
    const r = await receiver(() => ({ status: 429, headers: { 'retry-after': '1.5.2001' } }));
    const sub = await api('POST', '/v1/subscriptions', { endpointUrl: r.url, events: ['business.created'], retryConfig: { initialDelaySeconds: 3, backoffMultiplier: 1 } });
    await api('POST', '/v1/events', businessCreated());
    const { createdAt, nextAttemptAt } = firstAttempt(await waitForAttempts(api, String(sub.body['id']), 1));
    // 3 s ± 20% jitter: the schedule, not an accidental retry at once.
    expect(nextAttemptAt - createdAt).toBeGreaterThanOrEqual(2400);
    expect(nextAttemptAt - createdAt).toBeLessThanOrEqual(3600);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(r.requests).toHaveLength(1);
  });
});

describe('a connector whose API answers 429 with a decimal backoff header', () => {
  async function integration(api: TenantApi, url: string): Promise<string> {
    const connection = await api('POST', '/v1/connections', { connector: 'paced-api', config: { url } });
    expect(connection.status).toBe(201);
    const created = await api('POST', '/v1/integrations', { connection: connection.body['id'], events: ['business.created'], retryConfig: SLOW_SCHEDULE });
    expect(created.status).toBe(201);
    return String(created.body['id']);
  }

  it("is retried no earlier than the error rule's backoff header says (1.5 s)", async () => {
    const api = await tenant();
    const r = await receiver((_req, nth) => (nth === 1 ? { status: 429, headers: { 'x-ratelimit-reset-after': '1.5' } } : { status: 200 }));
    const id = await integration(api, r.url);
    await api('POST', '/v1/events', businessCreated());
    const requests = await r.waitFor(2, 15_000);
    expect(requests[1]!.at - requests[0]!.at).toBeGreaterThanOrEqual(1500);
    expect(requests[1]!.at - requests[0]!.at).toBeLessThan(5000);
    const { createdAt, nextAttemptAt } = firstAttempt(await waitForAttempts(api, id, 2));
    expect(nextAttemptAt - createdAt).toBe(1500);
  });

  it('waits for the rate-limit reset when it is later than the backoff (the longer of the two wins)', async () => {
    const api = await tenant();
    // The error header says 0.5 s; the rate-limit headers say the budget is spent for 2.5 s.
    const r = await receiver((_req, nth) =>
      nth === 1 ? { status: 429, headers: { 'x-ratelimit-reset-after': '0.5', 'x-budget-remaining': '0', 'x-budget-reset-after': '2.5' } } : { status: 200 },
    );
    const connection = await api('POST', '/v1/connections', { connector: 'paced-api', config: { url: r.url } });
    await api('POST', '/v1/integrations', { connection: connection.body['id'], events: ['business.created'], retryConfig: SLOW_SCHEDULE });
    await api('POST', '/v1/events', businessCreated());
    const requests = await r.waitFor(2, 15_000);
    expect(requests[1]!.at - requests[0]!.at).toBeGreaterThanOrEqual(2500);
    expect(requests[1]!.at - requests[0]!.at).toBeLessThan(6000);
  });

  it("caps the backoff at the integration's maxBackoffSeconds, while the rate-limit pause still holds the retry", async () => {
    const api = await tenant();
    // The backoff asks for 8.5 s, cut to 1 s; the budget is spent for 2.5 s.
    const r = await receiver((_req, nth) =>
      nth === 1 ? { status: 429, headers: { 'x-ratelimit-reset-after': '8.5', 'x-budget-remaining': '0', 'x-budget-reset-after': '2.5' } } : { status: 200 },
    );
    const connection = await api('POST', '/v1/connections', { connector: 'paced-api', config: { url: r.url } });
    const created = await api('POST', '/v1/integrations', { connection: connection.body['id'], events: ['business.created'], retryConfig: { ...SLOW_SCHEDULE, maxBackoffSeconds: 1 } });
    await api('POST', '/v1/events', businessCreated());
    const requests = await r.waitFor(2, 15_000);
    expect(requests[1]!.at - requests[0]!.at).toBeGreaterThanOrEqual(2500);
    expect(requests[1]!.at - requests[0]!.at).toBeLessThan(6000);
    const { createdAt, nextAttemptAt } = firstAttempt(await waitForAttempts(api, String(created.body['id']), 2));
    expect(nextAttemptAt - createdAt).toBeGreaterThanOrEqual(1000);
  });
});
