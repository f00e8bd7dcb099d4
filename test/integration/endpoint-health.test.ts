import { waitUntil } from '../support/receiver';
import { businessCreated, hubPerFile } from '../support/test-hub';

// Endpoint health through the API: the health a subscription shows, the alerts it raises once per
// change, and the auto-disable after HOOKHUB_AUTO_DISABLE_AFTER (short here), whose pending
// deliveries become dead letters that are delivered by a replay once it is re-enabled.

const hub = hubPerFile({
  env: {
    HOOKHUB_HEALTH_WINDOW: '5s',
    HOOKHUB_HEALTH_SLICE: '250ms',
    HOOKHUB_HEALTH_FLUSH: '100ms',
    HOOKHUB_HEALTH_EVALUATE: '200ms',
    HOOKHUB_HEALTH_MIN_ATTEMPTS: '3',
    HOOKHUB_HEALTH_FAILING_AFTER_FAILURES: '3',
    HOOKHUB_AUTO_DISABLE_AFTER: '4s',
  },
});

const receiver = hub.receiver;

interface Health {
  state: string;
  since: string;
  reason: string | null;
  successRate: number | null;
  p95Ms: number | null;
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
}

it('shows health with every subscription: healthy with its figures once attempts succeed', async () => {
  const ok = await receiver();
  const created = await hub.th.api('POST', '/v1/subscriptions', { endpointUrl: `${ok.url}/hook`, events: ['business.created'] });
  const id = created.body['id'] as string;
  const fresh = await hub.th.api('GET', `/v1/subscriptions/${id}`);
  expect(fresh.body['health']).toEqual({
    state: 'healthy', since: created.body['createdAt'], reason: null, successRate: null, p95Ms: null, attempts: 0, lastSuccessAt: null, lastFailureAt: null,
  });
  for (let i = 0; i < 3; i++) expect((await hub.th.api('POST', '/v1/events', businessCreated())).status).toBe(202);
  await ok.waitFor(3);
  let health: Health | undefined;
  await waitUntil(async () => {
    health = (await hub.th.api('GET', `/v1/subscriptions/${id}`)).body['health'] as Health;
    return health.successRate === 1 && (health as unknown as { attempts: number }).attempts === 3;
  }, 20_000, () => JSON.stringify(health));
  expect(health).toMatchObject({ state: 'healthy', successRate: 1, lastFailureAt: null });
  expect(typeof health!.p95Ms).toBe('number');
  expect(Date.parse(health!.lastSuccessAt!)).toBeGreaterThan(Date.parse(created.body['createdAt'] as string));
  const listed = await hub.th.api<{ data: Array<{ id: string; health: Health }> }>('GET', '/v1/subscriptions');
  expect(listed.body.data.find((s) => s.id === id)?.health).toMatchObject({ state: 'healthy', successRate: 1 });
});

it('announces failing once, disables the subscription after HOOKHUB_AUTO_DISABLE_AFTER, dead-letters its pending deliveries, and replays them once re-enabled', async () => {
  const alerts = await receiver();
  await hub.th.api('POST', '/v1/subscriptions', { endpointUrl: `${alerts.url}/alerts`, events: ['webhook.endpoint_degraded', 'webhook.endpoint_recovered', 'webhook.endpoint_disabled'] });
  const endpoint = await receiver(() => ({ status: 500 }));
  const created = await hub.th.api('POST', '/v1/subscriptions', {
    endpointUrl: `${endpoint.url}/hook`,
    events: ['business.created'],
    retryConfig: { maxRetries: 20, initialDelaySeconds: 0.5, backoffMultiplier: 1, maxBackoffSeconds: 1 },
  });
  const id = created.body['id'] as string;
  const started = new Date();
  for (let i = 0; i < 3; i++) expect((await hub.th.api('POST', '/v1/events', businessCreated())).status).toBe(202);

  const types = (): string[] => alerts.requests.map((r) => `${String(r.json['type'])}:${String((r.json['data'] as Record<string, unknown>)['state'] ?? '')}`);
  await waitUntil(() => types().includes('webhook.endpoint_disabled:'), 30_000, () => `alerts so far: ${types().join(', ')}`);
  const disabled = (await hub.th.api('GET', `/v1/subscriptions/${id}`)).body;
  expect(disabled['active']).toBe(false);
  expect(disabled['disabledReason']).toMatch(/^every attempt failed for 4 s \(since /);
  expect(disabled['health']).toMatchObject({ state: 'disabled', reason: disabled['disabledReason'], lastSuccessAt: null });
  const alert = alerts.requests.find((r) => r.json['type'] === 'webhook.endpoint_disabled')!;
  expect(alert.json['data']).toMatchObject({ subscription_id: id, endpoint_url: `${endpoint.url}/hook` });
  expect(String((alert.json['data'] as Record<string, unknown>)['reason'])).toMatch(/re-enable the subscription/);

  // The retries still on the ladder come back to a disabled subscription: dead letters, nothing sent.
  type DeadLetter = { id: string; reason: string; webhookId: string };
  let dead: DeadLetter[] = [];
  await waitUntil(async () => {
    dead = (await hub.th.api<{ data: DeadLetter[] }>('GET', `/v1/dead-letters?subscriptionId=${id}`)).body.data;
    return dead.length === 3;
  });
  expect(dead.map((d) => d.reason)).toEqual(['subscription_disabled', 'subscription_disabled', 'subscription_disabled']);
  const sentWhileDisabled = endpoint.requests.length;

  // Fixed, re-enabled and replayed: every event arrives, under its original webhook-id.
  endpoint.respond(() => ({ status: 204 }));
  expect((await hub.th.api('PATCH', `/v1/subscriptions/${id}`, { active: true })).status).toBe(200);
  const replay = await hub.th.api('POST', `/v1/subscriptions/${id}/replay`, { since: started.toISOString() });
  expect(replay.body).toMatchObject({ replayed: 3 });
  await endpoint.waitFor(sentWhileDisabled + 3);
  const replayedIds = endpoint.requests.slice(sentWhileDisabled).map((r) => r.headers['webhook-id']).sort();
  expect(replayedIds).toEqual(dead.map((d) => d.webhookId).sort());
  // Healthy again with a success on record (the 5 s window may already have emptied again on a slow machine).
  let recovered = {} as Health;
  await waitUntil(async () => {
    recovered = (await hub.th.api('GET', `/v1/subscriptions/${id}`)).body['health'] as Health;
    return recovered.state === 'healthy' && recovered.lastSuccessAt !== null;
  }, 45_000, () => JSON.stringify(recovered));
  // Its latest attempt is a success; the window may still hold the failures of before (then successRate is below 1).
  expect(Date.parse(recovered.lastSuccessAt!)).toBeGreaterThan(Date.parse(recovered.lastFailureAt ?? '1970-01-01T00:00:00Z'));

  // One alert per change: failing once, disabled once (re-enabling is the tenant's own act, not announced).
  expect(types().sort()).toEqual(['webhook.endpoint_degraded:failing', 'webhook.endpoint_disabled:']);
});
