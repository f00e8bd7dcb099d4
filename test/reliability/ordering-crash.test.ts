import { startChildHub } from '../support/child-hub';
import type { ChildHub } from '../support/child-hub';
import { acceptedByKey, countOf, flakyEndpoint, keyedEvents } from '../support/ordering';
import { startReceiver, waitUntil } from '../support/receiver';
import type { Receiver } from '../support/receiver';
import { publishMany } from '../support/services';
import { startTestHub } from '../support/test-hub';
import type { TestHub } from '../support/test-hub';

const EVENTS = 600;
const KEYS = 30;

let th: TestHub;
let receiver: Receiver | undefined;
const children: ChildHub[] = [];

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await Promise.all(children.map((c) => c.exited));
  await receiver?.close();
  await th?.destroy();
});

it('keeps per-key order and loses nothing when the worker of an ordered subscription is SIGKILLed mid-way', async () => {
  // The API and router run here; the delivery worker runs as its own process.
  th = await startTestHub({ env: { HOOKHUB_ROLES: 'api,router' } });
  const endpoint = flakyEndpoint(0.15);
  receiver = await startReceiver((req, nth) => {
    const answer = endpoint.responder(req, nth);
    // Answers take a little while, so the kill finds requests in flight.
    return { ...(answer ?? {}), delayMs: 10 };
  });
  const created = await th.api('POST', '/v1/subscriptions', {
    endpointUrl: receiver.url,
    events: ['business.created'],
    ordering: { key: 'data.id' },
    retryConfig: { initialDelaySeconds: 0.2, backoffMultiplier: 1, maxRetries: 20 },
  });
  expect(created.status).toBe(201);
  const workerEnv = { ...th.env, HOOKHUB_ROLES: 'worker', LOG_LEVEL: 'info' };

  const first = await startChildHub(workerEnv);
  children.push(first);
  const { events, byKey } = keyedEvents(EVENTS, KEYS, 'kill');
  await publishMany(th.prefix, events);
  const accepted = (): number => countOf(acceptedByKey(endpoint.accepted).byKey);
  await waitUntil(() => accepted() >= EVENTS / 4, 60_000, () => `accepted ${accepted()} of ${EVENTS} before the kill`);
  first.kill('SIGKILL');
  await first.exited;
  const beforeKill = accepted();

  const second = await startChildHub(workerEnv);
  children.push(second);
  await waitUntil(() => accepted() >= EVENTS, 120_000, () => `accepted ${accepted()} of ${EVENTS}`);
  const got = acceptedByKey(endpoint.accepted);
  for (const [key, ids] of byKey) expect({ key, ids: got.byKey.get(key) }).toEqual({ key, ids });
  // Only what was in flight at the kill may come twice: at most one job per ordered shard.
  expect(got.repeated.length).toBeLessThanOrEqual(Number(th.env['HOOKHUB_ORDERED_SHARDS']));
  console.log(`ordering SIGKILL: ${EVENTS} events over ${KEYS} keys, ${beforeKill} accepted before the kill, ${receiver.requests.length} requests, ${got.repeated.length} accepted twice`);
  second.kill('SIGTERM');
  expect(await second.exited).toBe(0);
}, 300_000);
