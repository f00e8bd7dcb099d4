import { randomBytes } from 'node:crypto';
import { startChildHub } from '../support/child-hub';
import type { ChildHub } from '../support/child-hub';
import { startReceiver, waitUntil } from '../support/receiver';
import type { Receiver } from '../support/receiver';
import { publishMany } from '../support/services';
import { businessCreated, startTestHub } from '../support/test-hub';
import type { TestHub } from '../support/test-hub';

const EVENTS = 100;

let th: TestHub;
let receiver: Receiver | undefined;
const children: ChildHub[] = [];

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await Promise.all(children.map((c) => c.exited));
  await receiver?.close();
  await th?.destroy();
});

it('loses no event of a batched subscription when its worker is SIGKILLed with a batch in flight and one gathering', async () => {
  // The API and router run here; the delivery worker runs as its own process.
  th = await startTestHub({ env: { HOOKHUB_ROLES: 'api,router' } });
  // Slow answers: the kill finds a batch's request in flight and the next batch gathering behind it.
  receiver = await startReceiver(() => ({ delayMs: 1500 }));
  const created = await th.api('POST', '/v1/subscriptions', { endpointUrl: receiver.url, events: ['business.created'], batch: { maxEvents: 40, maxWaitMs: 60_000 } });
  expect(created.status).toBe(201);
  const id = String(created.body['id']);
  const workerEnv = { ...th.env, HOOKHUB_ROLES: 'worker', LOG_LEVEL: 'info' };

  const first = await startChildHub(workerEnv);
  children.push(first);
  const events = Array.from({ length: EVENTS }, (_, i) => ({
    id: `evt_batchkill_${i}_${randomBytes(3).toString('hex')}`,
    version: '1.0',
    timestamp: new Date().toISOString(),
    ...businessCreated(),
  }));
  await publishMany(th.prefix, events);
  const r = receiver;
  await waitUntil(() => r.requests.length >= 1, 30_000);
  first.kill('SIGKILL');
  await first.exited;
  const beforeKill = r.requests.length;

  // What the dead worker held comes back to the next one; it need not wait a minute for company.
  expect((await th.api('PATCH', `/v1/subscriptions/${id}`, { batch: { maxEvents: 40, maxWaitMs: 200 } })).status).toBe(200);
  r.respond(() => ({ status: 200 }));
  const second = await startChildHub(workerEnv);
  children.push(second);
  const received = (): Set<string> => new Set(r.requests.flatMap((q) => (q.json['data'] as Array<{ id: string }>).map((e) => e.id)));
  await waitUntil(() => received().size === EVENTS, 60_000, () => `received ${received().size} of ${EVENTS}`);
  expect([...received()].sort()).toEqual(events.map((e) => e.id).sort());
  for (const q of r.requests) expect(q.json['type']).toBe('batch');
  const sent = r.requests.reduce((n, q) => n + (q.json['data'] as unknown[]).length, 0);
  console.log(`batch SIGKILL: ${EVENTS} events, ${beforeKill} request(s) before the kill, ${r.requests.length} requests, ${sent - EVENTS} events sent twice`);
  second.kill('SIGTERM');
  expect(await second.exited).toBe(0);
});
