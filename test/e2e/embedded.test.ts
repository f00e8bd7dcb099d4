import { startChildHub } from '../support/child-hub';
import type { ChildHub } from '../support/child-hub';
import { startReceiver } from '../support/receiver';
import type { Receiver } from '../support/receiver';

let hub: ChildHub | null = null;
let receiver: Receiver;

afterAll(async () => {
  hub?.kill('SIGTERM');
  if (hub) expect(await hub.exited).toBe(0);
  await receiver?.close();
});

it('`npm start` with no services runs embedded, says so, prints a key, and delivers', async () => {
  receiver = await startReceiver();
  hub = await startChildHub({ PORT: '0', HOST: '127.0.0.1' });
  const modeLines = hub.logs.filter((l) => l.includes('"msg":"embedded mode'));
  expect(modeLines).toHaveLength(1);
  const keyLine = hub.logs.find((l) => l.includes('generated API key'));
  const key = /(hh_[A-Za-z0-9_-]+)/.exec(keyLine ?? '')?.[1];
  expect(key).toBeDefined();
  const base = `http://127.0.0.1:${hub.port()}`;
  const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  expect((await call('GET', '/readyz')).body).toMatchObject({ status: 'ready', mode: 'embedded' });
  const sub = await call('POST', '/v1/subscriptions', { endpointUrl: `${receiver.url}/hook`, events: ['review.created'] });
  expect(sub.status).toBe(201);
  const event = await call('POST', '/v1/events', {
    type: 'review.created',
    data: { id: 'rev_1', business_id: 'biz_1', rating: 5, created_at: '2026-11-28T10:00:00Z' },
  });
  expect(event.status).toBe(202);
  const [delivery] = await receiver.waitFor(1);
  expect(delivery!.json).toMatchObject({ id: event.body['id'], type: 'review.created', data: { rating: 5 } });
});
