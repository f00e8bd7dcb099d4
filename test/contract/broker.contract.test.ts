import type { Broker, DeliveryJob, InboundEvent } from '../../src/broker/port';
import { AmqpBroker } from '../../src/broker/amqp/amqp-broker';
import { MemoryBroker } from '../../src/broker/memory/memory-broker';
import { silentLogger } from '../../src/core/logger';
import { waitUntil } from '../support/receiver';
import { AMQP_URL, deleteTopology, drainQueue, uniqueName } from '../support/services';

const prefixes: string[] = [];
const adapters: Array<[string, () => Broker]> = [
  ['memory', () => new MemoryBroker()],
  [
    'amqp',
    () => {
      const prefix = uniqueName('hhcontract');
      prefixes.push(prefix);
      return new AmqpBroker({ url: AMQP_URL, prefix, logger: silentLogger });
    },
  ],
];

afterAll(async () => {
  for (const prefix of prefixes) await deleteTopology(prefix);
});

const envelope = (id: string) => ({ id, type: 'business.deleted', version: '1.0', timestamp: '2026-01-01T00:00:00Z', data: { id: 'biz', deleted_at: '2026-01-01T00:00:00Z' } });
const job = (eventId: string, subscriptionId: string, attempt = 1): DeliveryJob => ({
  webhookId: `msg_${eventId}_${subscriptionId}`, tenantId: 't', subscriptionId, event: envelope(eventId), attempt,
});

describe.each(adapters)('Broker contract: %s', (_name, create) => {
  let broker: Broker;
  beforeEach(async () => {
    broker = create();
    await broker.start();
  });
  afterEach(async () => {
    await broker.close();
  });

  it('is ready once started', () => {
    expect(broker.isReady()).toBe(true);
  });

  it('hands published events to the consumer with their tenant scope', async () => {
    const seen: InboundEvent[] = [];
    await broker.consumeEvents(async (e) => {
      seen.push(e);
    }, { prefetch: 10 });
    await broker.publishEvent(envelope('e1'), null);
    await broker.publishEvent(envelope('e2'), 'acme');
    await waitUntil(() => seen.length === 2, 10_000);
    const byId = new Map(seen.map((e) => [JSON.parse(e.body.toString()).id as string, e.scopeTenantId]));
    expect(byId).toEqual(new Map([['e1', null], ['e2', 'acme']]));
  });

  it('hands a message back when its handler fails, until it succeeds', async () => {
    let calls = 0;
    await broker.consumeEvents(async () => {
      calls += 1;
      if (calls < 3) throw new Error('store down');
    }, { prefetch: 10 });
    await broker.publishEvent(envelope('retry-me'), null);
    await waitUntil(() => calls === 3, 15_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(calls).toBe(3);
  });

  it('hands every delivery job over one by one, and retries only the failed one', async () => {
    const calls = new Map<string, number>();
    await broker.consumeDeliveries(async (j) => {
      calls.set(j.subscriptionId, (calls.get(j.subscriptionId) ?? 0) + 1);
      if (j.subscriptionId === 'flaky' && calls.get('flaky') === 1) throw new Error('transient');
    }, { prefetch: 10 });
    await broker.publishDeliveries([job('e3', 'a'), job('e3', 'b'), job('e3', 'flaky'), job('e4', 'a')]);
    await waitUntil(() => (calls.get('flaky') ?? 0) === 2 && (calls.get('a') ?? 0) === 2 && calls.get('b') === 1, 15_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(Object.fromEntries(calls)).toEqual({ a: 2, b: 1, flaky: 2 });
  });

  it('brings a scheduled job back no earlier than its delay and at most about a second late', async () => {
    const arrived: Array<{ job: DeliveryJob; at: number }> = [];
    await broker.consumeDeliveries(async (j) => {
      arrived.push({ job: j, at: Date.now() });
    }, { prefetch: 10 });
    const started = Date.now();
    await broker.scheduleDelivery(job('e5', 's', 2), 1500);
    await broker.scheduleDelivery(job('e6', 's', 2), 2600);
    await waitUntil(() => arrived.length === 2, 10_000);
    const delays = Object.fromEntries(arrived.map((a) => [a.job.event.id, a.at - started]));
    expect(delays['e5']).toBeGreaterThanOrEqual(1500);
    expect(delays['e6']).toBeGreaterThanOrEqual(2600);
    // max(1 s, 10%) is the contract; 250 ms more covers a busy test machine.
    expect(delays['e5']).toBeLessThanOrEqual(1500 + 1000 + 250);
    expect(delays['e6']).toBeLessThanOrEqual(2600 + 1000 + 250);
    expect(arrived[0]!.job).toMatchObject({ attempt: 2, webhookId: 'msg_e5_s' });
  });

  it('accepts parked events and dead letters', async () => {
    await broker.parkInvalidEvent({ body: Buffer.from('{bad'), reason: 'invalid_json', problems: [{ path: '/', message: 'not JSON' }] });
    await broker.publishDeadLetter(job('e7', 's', 9), 'retries_exhausted');
    if (broker instanceof AmqpBroker) {
      const parked = await drainQueue(broker.names.invalidQueue);
      expect(parked.map((m) => m.content.toString())).toEqual(['{bad']);
      const dead = await drainQueue(broker.names.deadLetterQueue);
      expect(dead.map((m) => m.properties.headers?.['x-hookhub-reason'])).toEqual(['retries_exhausted']);
    } else {
      expect((broker as MemoryBroker).parked).toHaveLength(1);
      expect((broker as MemoryBroker).deadLetters).toHaveLength(1);
    }
  });
});
