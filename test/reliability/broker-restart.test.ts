import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startReceiver, waitUntil } from '../support/receiver';
import type { Receiver } from '../support/receiver';
import { businessCreated, startTestHub } from '../support/test-hub';
import type { TestHub } from '../support/test-hub';

const run = promisify(execFile);

let th: TestHub;
let receiver: Receiver;

afterAll(async () => {
  // Leave the broker running whatever happened.
  await run('rabbitmqctl', ['start_app']).catch(() => undefined);
  await run('rabbitmqctl', ['await_startup']).catch(() => undefined);
  await receiver?.close();
  await th?.destroy();
});

async function readiness(): Promise<{ status: number; body: { checks: { broker: string } } }> {
  const response = await fetch(`${th.hub.url}/readyz`);
  return { status: response.status, body: (await response.json()) as { checks: { broker: string } } };
}

it('rides out a RabbitMQ restart under load: reports it, reconnects, re-declares, loses nothing', async () => {
  th = await startTestHub();
  receiver = await startReceiver(() => ({ delayMs: 5 }));
  await th.api('POST', '/v1/subscriptions', { endpointUrl: receiver.url, events: ['business.created'] });
  const publish = async (): Promise<string> => {
    const { status, body } = await th.api('POST', '/v1/events', businessCreated());
    if (status !== 202) throw new Error(`publish answered ${status}: ${JSON.stringify(body)}`);
    return String(body['id']);
  };
  const accepted: string[] = [];
  for (let i = 0; i < 5; i += 1) accepted.push(...(await Promise.all(Array.from({ length: 10 }, publish))));

  await run('rabbitmqctl', ['stop_app']);
  await waitUntil(async () => (await readiness()).status === 503, 20_000);
  expect((await readiness()).body.checks.broker).toBe('down');
  // Publishes made during the outage wait for the broker instead of failing or vanishing.
  const during = Promise.all(Array.from({ length: 20 }, publish));
  await new Promise((r) => setTimeout(r, 1000));
  await run('rabbitmqctl', ['start_app']);
  await run('rabbitmqctl', ['await_startup']);
  accepted.push(...(await during));
  await waitUntil(async () => (await readiness()).status === 200, 30_000);

  // Consumers came back: new events flow too.
  accepted.push(...(await Promise.all(Array.from({ length: 10 }, publish))));
  const delivered = (): Set<string> => new Set(receiver.requests.map((q) => String(q.json['id'])));
  await waitUntil(() => accepted.every((id) => delivered().has(id)), 60_000, () => `${accepted.filter((id) => !delivered().has(id)).length} of ${accepted.length} not delivered`);
  expect(accepted).toHaveLength(80);
});
