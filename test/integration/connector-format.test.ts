import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitUntil } from '../support/receiver';
import { businessCreated, hubPerFile, waitForAttempts } from '../support/test-hub';
import type { TenantApi } from '../support/test-hub';

/**
 * What a connector's manifest says about its API's answers, through the whole pipeline (RabbitMQ's
 * retry ladder, the store's attempts and dead letters, operational events): a delay given in the
 * response body, and an answer that says the link itself is dead.
 */
const connectorsDir = mkdtempSync(path.join(os.tmpdir(), 'hh-connector-format-'));
mkdirSync(path.join(connectorsDir, 'chat-api'));
// An API like Discord's webhooks: a 429 says how long to wait in its JSON body; code 10015 says the webhook is gone.
writeFileSync(
  path.join(connectorsDir, 'chat-api', 'connector.yaml'),
  `name: chat-api
version: 1.0.0
title: Chat API
description: An API that gives its retry delay in the body and can say a link is dead.
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
    backoff: { expression: "retry_after", unit: seconds }
  - status: 404
    body: "code = 10015"
    action: broken
    message: "The webhook was deleted ({{ message }}); give the connection a new URL"
rate_limit:
  requests: 50
  per_seconds: 1
  headers: { remaining: X-Budget-Remaining, reset: X-Budget-Reset-After }
`,
);

mkdirSync(path.join(connectorsDir, 'quota-api'));
// An API with an app-wide quota (Discord's global limit): 2 requests a second for all links together.
writeFileSync(
  path.join(connectorsDir, 'quota-api', 'connector.yaml'),
  `name: quota-api
version: 1.0.0
title: Quota API
description: An API whose quota is shared by every link of the app.
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
rate_limit:
  requests: 50
  per_seconds: 1
  shared: { requests: 2, per_seconds: 1 }
`,
);

const shared = hubPerFile({ env: { HOOKHUB_CONNECTORS_DIR: connectorsDir } });
const { receiver, tenant } = shared;

afterAll(() => rmSync(connectorsDir, { recursive: true, force: true }));

// With a minute as the first step of their own schedule, a retry within seconds can only be the body's.
const SLOW_SCHEDULE = { initialDelaySeconds: 60 };

async function integration(api: TenantApi, url: string, retryConfig: Record<string, unknown> = SLOW_SCHEDULE): Promise<{ connectionId: string; integrationId: string }> {
  const connection = await api('POST', '/v1/connections', { connector: 'chat-api', config: { url } });
  expect(connection.status).toBe(201);
  const created = await api('POST', '/v1/integrations', { connection: connection.body['id'], events: ['business.created'], retryConfig });
  expect(created.status).toBe(201);
  return { connectionId: String(connection.body['id']), integrationId: String(created.body['id']) };
}

const tooMany = (retryAfter: unknown) => ({
  status: 429,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ message: 'You are being rate limited.', retry_after: retryAfter, global: false }),
});

describe('a connector whose API gives the retry delay in the response body', () => {
  it('is retried no earlier than the body says (1.5 s), and the attempt says when', async () => {
    const api = await tenant();
    const r = await receiver((_req, nth) => (nth === 1 ? tooMany(1.5) : { status: 204 }));
    const { integrationId } = await integration(api, r.url);
    await api('POST', '/v1/events', businessCreated());
    const requests = await r.waitFor(2, 15_000);
    expect(requests[1]!.at - requests[0]!.at).toBeGreaterThanOrEqual(1500);
    expect(requests[1]!.at - requests[0]!.at).toBeLessThan(5000);
    const attempts = await waitForAttempts(api, integrationId, 2);
    const first = attempts.find((a) => a['attempt'] === 1)!;
    expect(first).toMatchObject({ status: 'failed', next: 'retry', httpStatus: 429 });
    expect(Date.parse(String(first['nextAttemptAt'])) - Date.parse(String(first['createdAt']))).toBe(1500);
  });

  it("caps the body's delay at the integration's maxBackoffSeconds", async () => {
    const api = await tenant();
    const r = await receiver((_req, nth) => (nth === 1 ? tooMany(30) : { status: 204 }));
    const { integrationId } = await integration(api, r.url, { ...SLOW_SCHEDULE, maxBackoffSeconds: 1 });
    await api('POST', '/v1/events', businessCreated());
    const requests = await r.waitFor(2, 15_000);
    expect(requests[1]!.at - requests[0]!.at).toBeGreaterThanOrEqual(1000);
    expect(requests[1]!.at - requests[0]!.at).toBeLessThan(5000);
    const first = (await waitForAttempts(api, integrationId, 2)).find((a) => a['attempt'] === 1)!;
    expect(Date.parse(String(first['nextAttemptAt'])) - Date.parse(String(first['createdAt']))).toBe(1000);
  });
});

describe("a retry held back by the connection's rate-limit pause", () => {
  it('says in nextAttemptAt when it really goes: the pause (2.5 s), later than the backoff (0.5 s)', async () => {
    const api = await tenant();
    const r = await receiver((_req, nth) =>
      nth === 1 ? { ...tooMany(0.5), headers: { 'content-type': 'application/json', 'x-budget-remaining': '0', 'x-budget-reset-after': '2.5' } } : { status: 204 },
    );
    const { integrationId } = await integration(api, r.url);
    await api('POST', '/v1/events', businessCreated());
    const requests = await r.waitFor(2, 15_000);
    const waited = requests[1]!.at - requests[0]!.at;
    expect(waited).toBeGreaterThanOrEqual(2500);
    const first = (await waitForAttempts(api, integrationId, 2)).find((a) => a['attempt'] === 1)!;
    const nextAttemptAt = Date.parse(String(first['nextAttemptAt']));
    expect(nextAttemptAt - Date.parse(String(first['createdAt']))).toBeGreaterThanOrEqual(2400);
    // The retry went when the record said, not seconds after it.
    expect(requests[1]!.at - nextAttemptAt).toBeGreaterThanOrEqual(-50);
    expect(requests[1]!.at - nextAttemptAt).toBeLessThan(1000);
  });
});

describe('a connector whose API says the link is dead (an error rule with action broken)', () => {
  const unknownWebhook = { status: 404, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message: 'Unknown Webhook', code: 10015 }) };

  it('marks the connection broken, parks its deliveries with the reason, alerts, and replays them once the link is fixed', async () => {
    const api = await tenant();
    const dead = await receiver(() => unknownWebhook);
    const alerts = await receiver(() => ({ status: 204 }));
    const { connectionId, integrationId } = await integration(api, dead.url);
    expect((await api('POST', '/v1/subscriptions', { endpointUrl: alerts.url, events: ['connection.broken'] })).status).toBe(201);

    const first = businessCreated({}, { name: 'First Bistro' });
    await api('POST', '/v1/events', first);
    const [alert] = await alerts.waitFor(1, 15_000);
    expect(alert!.json).toMatchObject({
      type: 'connection.broken',
      data: { connection_id: connectionId, connector: 'chat-api', reason: 'send: The webhook was deleted (Unknown Webhook); give the connection a new URL', fix: expect.stringContaining(`PATCH /v1/connections/${connectionId}`) },
    });
    const view = (await api('GET', `/v1/connections/${connectionId}`)).body;
    expect(view).toMatchObject({ status: 'broken', lastError: 'send: The webhook was deleted (Unknown Webhook); give the connection a new URL' });

    // A later delivery is parked without a request to the dead link.
    const second = businessCreated({}, { name: 'Second Bistro' });
    await api('POST', '/v1/events', second);
    let parked: Array<Record<string, unknown>> = [];
    await waitUntil(async () => {
      parked = (await api('GET', `/v1/dead-letters?subscriptionId=${integrationId}`)).body['data'] as Array<Record<string, unknown>>;
      return parked.length === 2;
    });
    for (const letter of parked) {
      expect(letter).toMatchObject({ reason: 'connection_broken', lastError: expect.stringContaining('The webhook was deleted (Unknown Webhook)') });
    }
    expect(dead.requests).toHaveLength(1);
    // One alert for the link, not one per delivery.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(alerts.requests).toHaveLength(1);

    // A new URL fixes the link: the connection is active again and both parked deliveries go, to the new URL.
    const fixed = await receiver(() => ({ status: 204 }));
    const patched = await api('PATCH', `/v1/connections/${connectionId}`, { config: { url: fixed.url } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ status: 'active', lastError: null });
    const resumed = await fixed.waitFor(2, 15_000);
    expect(resumed.map((r) => r.json['name']).sort()).toEqual(['First Bistro', 'Second Bistro']);
    expect(dead.requests).toHaveLength(1);
  });
});

describe('a connector with a limit shared by all its links (rate_limit.shared)', () => {
  it('sends no more than the shared rate across two connections, and every delivery arrives', async () => {
    const api = await tenant();
    const r = await receiver(() => ({ status: 204 }));
    for (let i = 0; i < 2; i++) {
      const connection = await api('POST', '/v1/connections', { connector: 'quota-api', config: { url: r.url } });
      expect(connection.status).toBe(201);
      expect((await api('POST', '/v1/integrations', { connection: connection.body['id'], events: ['business.created'] })).status).toBe(201);
    }
    for (let i = 0; i < 3; i++) await api('POST', '/v1/events', businessCreated({}, { name: `Bistro ${i}` }));
    const requests = await r.waitFor(6, 20_000);
    const times = requests.map((q) => q.at).sort((a, b) => a - b);
    // Two a second: any three requests span about a second (slots 500 ms apart; a slot may start up to 50 ms early).
    for (let i = 2; i < times.length; i++) expect(times[i]! - times[i - 2]!).toBeGreaterThanOrEqual(900);
    expect(requests.map((q) => q.json['name']).sort()).toEqual(['Bistro 0', 'Bistro 0', 'Bistro 1', 'Bistro 1', 'Bistro 2', 'Bistro 2']);
  });
});
