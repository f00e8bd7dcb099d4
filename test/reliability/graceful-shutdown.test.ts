import { startChildHub } from '../support/child-hub';
import type { ChildHub } from '../support/child-hub';
import { startReceiver, waitUntil } from '../support/receiver';
import type { Receiver } from '../support/receiver';
import { countDocuments, publishMany } from '../support/services';
import { businessCreated, startTestHub } from '../support/test-hub';
import type { TestHub } from '../support/test-hub';

let th: TestHub;
let receiver: Receiver;
const children: ChildHub[] = [];

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await Promise.all(children.map((c) => c.exited));
  await receiver?.close();
  await th?.destroy();
});

const envelopes = (n: number, tag: string): Array<Record<string, unknown>> =>
  Array.from({ length: n }, (_, i) => ({ id: `evt_${tag}_${i}_${Date.now()}`, version: '1.0', timestamp: new Date().toISOString(), ...businessCreated() }));

it('on SIGTERM stops consuming, finishes in-flight deliveries, records them, and exits 0', async () => {
  th = await startTestHub({ env: { HOOKHUB_ROLES: 'api,router' } });
  receiver = await startReceiver(() => ({ delayMs: 1500 }));
  await th.api('POST', '/v1/subscriptions', { endpointUrl: receiver.url, events: ['business.created'] });
  const workerEnv = { ...th.env, HOOKHUB_ROLES: 'worker', LOG_LEVEL: 'info' };
  const worker = await startChildHub(workerEnv);
  children.push(worker);

  await publishMany(th.prefix, envelopes(10, 'first'));
  await receiver.waitFor(10);
  worker.kill('SIGTERM');
  expect(await worker.exited).toBe(0);
  expect(worker.logs.some((l) => l.includes('shutting down'))).toBe(true);
  // Every request that was in flight was finished and recorded before exit.
  expect(await countDocuments(th.database, 'delivery_attempts', { status: 'succeeded' })).toBe(10);

  // Work published while no worker runs waits in the queue and nothing is sent twice.
  await publishMany(th.prefix, envelopes(5, 'second'));
  const next = await startChildHub(workerEnv);
  children.push(next);
  await receiver.waitFor(15);
  await waitUntil(async () => (await countDocuments(th.database, 'delivery_attempts', { status: 'succeeded' })) === 15);
  await new Promise((r) => setTimeout(r, 500));
  expect(receiver.requests).toHaveLength(15);
  next.kill('SIGTERM');
  expect(await next.exited).toBe(0);
});
