import type { Broker, ConsumeOptions, DeliveryJob, InboundEvent, PoisonedMessage, QueueRole } from '../../src/broker/port';
import { POISON_AFTER_DELIVERIES } from '../../src/broker/port';
import { AmqpBroker } from '../../src/broker/amqp/amqp-broker';
import { MemoryBroker } from '../../src/broker/memory/memory-broker';
import { silentLogger } from '../../src/core/logger';
import { waitUntil } from '../support/receiver';
import { AMQP_URL, deleteTopology, drainQueue, uniqueName } from '../support/services';

const prefixes: string[] = [];
/** Short pauses and stall timeouts, so that a message can fail its way to the poison queue within a test. */
const STALL_MS = 1500;
const adapters: Array<[string, () => Broker]> = [
  ['memory', () => new MemoryBroker({ requeueDelayMs: 50, stallTimeoutMs: STALL_MS })],
  [
    'amqp',
    () => {
      const prefix = uniqueName('hhcontract');
      prefixes.push(prefix);
      return new AmqpBroker({ url: AMQP_URL, prefix, logger: silentLogger, handlerTries: 2, retryPauseMs: 20, stallTimeoutMs: STALL_MS });
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
    // Due a moment after the 1 s tier ends: it must still wait for its time (a 429's Retry-After: 1.15).
    await broker.scheduleDelivery(job('e7', 's', 2), 1150);
    await waitUntil(() => arrived.length === 3, 10_000);
    const delays = Object.fromEntries(arrived.map((a) => [a.job.event.id, a.at - started]));
    expect(delays['e5']).toBeGreaterThanOrEqual(1500);
    expect(delays['e6']).toBeGreaterThanOrEqual(2600);
    expect(delays['e7']).toBeGreaterThanOrEqual(1150);
    // max(1 s, 10%) is the contract; 250 ms more covers a busy test machine.
    expect(delays['e5']).toBeLessThanOrEqual(1500 + 1000 + 250);
    expect(delays['e6']).toBeLessThanOrEqual(2600 + 1000 + 250);
    expect(arrived.find((a) => a.job.event.id === 'e5')!.job).toMatchObject({ attempt: 2, webhookId: 'msg_e5_s' });
  });

  /** Consume options that collect what is reported as poison. */
  const reporting = (poisoned: PoisonedMessage[], extra: Partial<ConsumeOptions> = {}): ConsumeOptions => ({
    prefetch: 10,
    onPoisoned: async (p) => {
      poisoned.push(p);
    },
    ...extra,
  });

  it('parks an event whose handler fails on every delivery, reports it once, and keeps handling the others', async () => {
    const poisoned: PoisonedMessage[] = [];
    const calls = new Map<string, number>();
    await broker.consumeEvents(async (e) => {
      const id = JSON.parse(e.body.toString()).id as string;
      calls.set(id, (calls.get(id) ?? 0) + 1);
      if (id === 'poison') throw new Error('always fails');
    }, reporting(poisoned));
    await broker.publishEvent(envelope('poison'), 'acme');
    await broker.publishEvent(envelope('fine'), null);
    await waitUntil(() => poisoned.length === 1, 30_000, () => `calls ${JSON.stringify([...calls])}`);
    const handled = calls.get('poison');
    await new Promise((r) => setTimeout(r, 500));
    expect(calls.get('poison')).toBe(handled);
    expect(calls.get('fine')).toBe(1);
    expect(poisoned).toEqual([
      expect.objectContaining({ source: 'events', deliveries: POISON_AFTER_DELIVERIES, eventId: 'poison', eventType: 'business.deleted', scopeTenantId: 'acme', jobs: [] }),
    ]);
    if (broker instanceof AmqpBroker) {
      const parked = await drainQueue(broker.names.eventsPoisonQueue);
      expect(parked.map((m) => JSON.parse(m.content.toString()).id)).toEqual(['poison']);
      expect(parked[0]!.properties.headers).toMatchObject({ 'x-hookhub-reason': 'poison_message', 'x-hookhub-scope-tenant': 'acme', 'x-hookhub-deliveries': POISON_AFTER_DELIVERIES });
    } else {
      expect((broker as MemoryBroker).poisoned).toHaveLength(1);
    }
  });

  it('parks only the failing target of a fan-out, and marks every repeat of a job as redelivered', async () => {
    const poisoned: PoisonedMessage[] = [];
    const handovers = new Map<string, boolean[]>();
    await broker.consumeDeliveries(async (j, handover) => {
      handovers.set(j.subscriptionId, [...(handovers.get(j.subscriptionId) ?? []), handover.redelivered]);
      if (j.subscriptionId === 'poison') throw new Error('always fails');
    }, reporting(poisoned));
    await broker.publishDeliveries([job('e8', 'a'), job('e8', 'poison'), job('e8', 'b')]);
    await waitUntil(() => poisoned.length === 1, 30_000, () => `handovers ${JSON.stringify([...handovers])}`);
    expect(poisoned[0]).toMatchObject({ source: 'deliveries', deliveries: POISON_AFTER_DELIVERIES, eventId: 'e8' });
    expect(poisoned[0]!.jobs.map((j) => j.subscriptionId)).toEqual(['poison']);
    for (const target of ['a', 'b', 'poison']) {
      const seen = handovers.get(target) ?? [];
      expect(seen[0]).toBe(false);
      expect(seen.slice(1).every((redelivered) => redelivered)).toBe(true);
    }
    if (broker instanceof AmqpBroker) {
      const parked = await drainQueue(broker.names.deliveriesPoisonQueue);
      expect(parked.map((m) => JSON.parse(m.content.toString()).subscriptionId)).toEqual(['poison']);
    }
  });

  it('hands back a message whose handler does not settle, marked redelivered', async () => {
    const seen: boolean[] = [];
    await broker.consumeEvents((e) => {
      seen.push(e.redelivered);
      return seen.length === 1 ? new Promise<void>(() => undefined) : Promise.resolve();
    }, { prefetch: 10 });
    const started = Date.now();
    await broker.publishEvent(envelope('stuck'), null);
    await waitUntil(() => seen.length === 2, 15_000);
    expect(seen).toEqual([false, true]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(STALL_MS);
  });

  it('waits out failures while the store does not answer: an outage makes nothing poison', async () => {
    const poisoned: PoisonedMessage[] = [];
    let storeUp = false;
    let failures = 0;
    let handled = false;
    await broker.consumeEvents(async () => {
      if (!storeUp) {
        failures += 1;
        throw new Error('store down');
      }
      handled = true;
    }, reporting(poisoned, { dependenciesAnswer: async () => storeUp }));
    await broker.publishEvent(envelope('outage'), null);
    // Twice the failures that would make it poison if the store answered.
    await waitUntil(() => failures >= POISON_AFTER_DELIVERIES * 2 + 1, 20_000, () => `${failures} failures, ${poisoned.length} parked`);
    storeUp = true;
    await waitUntil(() => handled, 20_000);
    expect(poisoned).toEqual([]);
  });

  it('hands ordered jobs over one at a time in publish order per shard, a failed one again before the next, and a scheduled one back to its shard', async () => {
    const ordered = (n: number, key: string): DeliveryJob => ({ ...job(`o${n}`, 'sub_ordered'), ordering: { key } });
    const seen: string[] = [];
    let inFlight = 0;
    let most = 0;
    let failures = 0;
    await broker.consumeOrderedDeliveries(async (j) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 2));
      inFlight -= 1;
      // The third job fails twice: it is handed over again before the jobs behind it.
      if (j.event.id === 'o3' && failures < 2) {
        failures += 1;
        throw new Error('store down');
      }
      seen.push(j.event.id);
    }, { prefetch: 50 });
    // One key: one shard, so the shard's order is the publish order.
    await broker.publishDeliveries(Array.from({ length: 10 }, (_, i) => ordered(i, 'k')));
    await waitUntil(() => seen.length === 10, 15_000, () => seen.join(','));
    expect(seen).toEqual(Array.from({ length: 10 }, (_, i) => `o${i}`));
    expect(most).toBe(1);
    // A scheduled ordered job comes back through the delivery consumer, which hands it to its shard.
    await broker.consumeDeliveries(async (j) => void seen.push(`unordered ${j.event.id}`), { prefetch: 10 });
    await broker.scheduleDelivery({ ...ordered(10, 'k'), attempt: 2 }, 300);
    await waitUntil(() => seen.length === 11, 10_000, () => seen.join(','));
    expect(seen[10]).toBe('o10');
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

  // Queue depths (what the console's overview and /metrics show).
  const readyOf = async (role: QueueRole): Promise<number> => (await broker.queueDepths()).filter((q) => q.role === role).reduce((sum, q) => sum + q.ready, 0);

  it('tells how many messages wait in each of its queues, and follows them as they are queued and consumed', async () => {
    const depths = await broker.queueDepths();
    const roles = new Set(depths.map((q) => q.role));
    for (const role of ['router', 'deliveries', 'retry', 'invalid', 'events_poison', 'deliveries_poison', 'dead_letters'] as const) expect(roles).toContain(role);
    expect(depths.every((q) => q.ready === 0)).toBe(true);

    await broker.publishEvent(envelope('d1'), null);
    await broker.publishEvent(envelope('d2'), 'acme');
    await broker.publishDeliveries([job('d3', 'a'), job('d4', 'a'), job('d5', 'b')]);
    await broker.scheduleDelivery(job('d6', 'a', 2), 120_000);
    await broker.parkInvalidEvent({ body: Buffer.from('{bad'), reason: 'invalid_json', problems: [] });
    await broker.publishDeadLetter(job('d7', 's', 9), 'retries_exhausted');
    const expected = { router: 2, deliveries: 3, retry: 1, invalid: 1, dead_letters: 1, events_poison: 0, deliveries_poison: 0 };
    const read = async (): Promise<Record<string, number>> =>
      Object.fromEntries(await Promise.all(Object.keys(expected).map(async (role) => [role, await readyOf(role as QueueRole)] as const)));
    let seen: Record<string, number> = {};
    await waitUntil(async () => JSON.stringify((seen = await read())) === JSON.stringify(expected), 10_000, () => JSON.stringify(seen));

    await broker.consumeDeliveries(async () => undefined, { prefetch: 10 });
    await waitUntil(async () => (await readyOf('deliveries')) === 0, 10_000);
    const deliveries = (await broker.queueDepths()).find((q) => q.role === 'deliveries');
    expect(deliveries?.consumers).toBeGreaterThanOrEqual(1);
    expect(await readyOf('retry')).toBe(1);
  });
});
