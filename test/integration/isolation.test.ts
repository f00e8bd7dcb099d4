import { startReceiver, waitUntil } from '../support/receiver';
import type { Receiver } from '../support/receiver';
import { businessCreated, startTestHub } from '../support/test-hub';
import type { TestHub } from '../support/test-hub';

let th: TestHub;
const receivers: Receiver[] = [];

afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await th?.destroy();
});

it('a slow endpoint does not hold up deliveries to a healthy one, and still gets everything', async () => {
  // Small limits so the slow endpoint saturates them at once.
  th = await startTestHub({ env: { HOOKHUB_PREFETCH: '10', HOOKHUB_ENDPOINT_CONCURRENCY: '4' } });
  const slow = await startReceiver(() => ({ delayMs: 1200 }));
  const healthy = await startReceiver();
  receivers.push(slow, healthy);
  await th.api('POST', '/v1/subscriptions', { endpointUrl: slow.url, events: ['business.created'] });
  await th.api('POST', '/v1/subscriptions', { endpointUrl: healthy.url, events: ['business.created'] });

  const events = 40;
  // One request, so that how long publishing takes on a busy machine does not count.
  const published = await th.api('POST', '/v1/events/batch', { events: Array.from({ length: events }, () => businessCreated()) });
  expect(published.status).toBe(200);
  const ids = (published.body['data'] as Array<{ id: string }>).map((answer) => answer.id);
  expect(ids).toHaveLength(events);

  await healthy.waitFor(events, 30_000);
  // The slow endpoint needs 40 × 1.2 s / 4 = 12 s at least; the healthy one finished long before.
  expect(slow.requests.length).toBeLessThan(events / 2);
  const deferred = (await th.hub.metrics.deferred.get()).values[0]?.value ?? 0;
  expect(deferred).toBeGreaterThan(0);

  const slowIds = (): Set<string> => new Set(slow.requests.map((q) => String(q.json['id'])));
  await waitUntil(() => ids.every((id) => slowIds().has(id)), 60_000, () => `${slowIds().size}/${events} at the slow endpoint`);
});
