import { silentLogger } from '../../src/core/logger';
import { HubMetrics } from '../../src/core/metrics';
import { StatsAccumulator } from '../../src/pipeline/delivery-stats';
import type { DeliveryStatsRow } from '../../src/pipeline/delivery-stats';
import { DeliveryStatsWriter } from '../../src/pipeline/delivery-stats-writer';
import type { AttemptRecord } from '../../src/pipeline/model';
import type { DeliveryStats } from '../../src/pipeline/ports';
import { createMemoryStore } from '../../src/store/memory/memory-store';

const attempt = (n: number, overrides: Partial<AttemptRecord> = {}): AttemptRecord => ({
  id: `att_${n}`, tenantId: 't', subscriptionId: `sub_${n % 3}`, eventId: `evt_${n}`, eventType: 'business.created', webhookId: `msg_${n}`, attempt: 1,
  status: 'succeeded', next: 'none', nextAttemptAt: null, url: 'https://x', httpStatus: 200, durationMs: 5 + n, responseHeaders: {}, responseBody: null,
  error: null, errorCode: null, replay: false, createdAt: new Date('2026-12-01T10:00:30Z'), acceptedAt: new Date('2026-12-01T10:00:29Z'), ...overrides,
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The memory adapter, with each stats write held until the test lets it finish. */
function heldStore(): { store: DeliveryStats; writes: number[]; started: Promise<void>[]; release(): void } {
  const memory = createMemoryStore();
  const writes: number[] = [];
  const started: Array<() => void> = [];
  const startedPromises: Promise<void>[] = Array.from({ length: 10 }, (_, i) => new Promise<void>((resolve) => (started[i] = resolve)));
  let release = (): void => undefined;
  return {
    writes,
    started: startedPromises,
    release: () => release(),
    store: {
      ...memory,
      async addDeliveryStats(writer, writeId, rows) {
        writes.push(rows.length);
        const held = new Promise<void>((resolve) => (release = resolve));
        started[writes.length - 1]?.();
        await held;
        await memory.addDeliveryStats(writer, writeId, rows);
      },
    },
  };
}

const hourRows = (rows: DeliveryStatsRow[]): DeliveryStatsRow[] => rows.filter((r) => r.resolution === 'hour').sort((a, b) => a.subscriptionId.localeCompare(b.subscriptionId));

describe('DeliveryStatsWriter', () => {
  it('writes at most once per interval: counts summed while a write runs wait for the interval, not just for that write to end', async () => {
    const held = heldStore();
    const writer = new DeliveryStatsWriter({ store: held.store, writer: 'w1', metrics: new HubMetrics(), logger: silentLogger, flushMs: 200 });
    const first = writer.add([attempt(1), attempt(2)]);
    await held.started[0];
    // A batch recorded while the first write is in flight.
    const second = writer.add([attempt(3)]);
    held.release();
    await first;
    // The second write is due 200 ms after its batch was summed; a writer that starts it as soon as the first ends fails here.
    await sleep(50);
    expect(held.writes).toHaveLength(1);
    const drained = writer.drain();
    await held.started[1];
    held.release();
    await Promise.all([second, drained]);
    expect(held.writes).toHaveLength(2);
  });

  it('sums every batch of an interval into one write, with the rows and Prometheus counts of all their attempts', async () => {
    const store = createMemoryStore();
    const writes: number[] = [];
    const metrics = new HubMetrics();
    const counting: DeliveryStats = { ...store, addDeliveryStats: (w, id, rows) => (writes.push(rows.length), store.addDeliveryStats(w, id, rows)) };
    const writer = new DeliveryStatsWriter({ store: counting, writer: 'w1', metrics, logger: silentLogger, flushMs: 60_000 });
    const batches = [
      [attempt(1), attempt(2, { status: 'failed', next: 'retry', httpStatus: 503 })],
      [attempt(3, { test: true })],
      [attempt(4, { status: 'failed', next: 'dead_letter', httpStatus: null, errorCode: 'timeout', durationMs: 1500 }), attempt(5), attempt(6, { createdAt: new Date('2026-12-01T10:01:10Z') })],
    ];
    const added = batches.map((b) => writer.add(b));
    await writer.drain();
    await Promise.all(added);
    expect(writes).toHaveLength(1);

    const expected = new StatsAccumulator();
    for (const b of batches) for (const a of b) expected.add(a);
    const stored = await store.listDeliveryStats('t', { resolution: 'hour', from: new Date('2026-12-01T00:00:00Z'), to: new Date('2026-12-02T00:00:00Z') });
    expect(hourRows(stored).map((r) => [r.subscriptionId, r.counts, r.latency, r.firstAttempt, r.toSuccess])).toEqual(
      hourRows(expected.rows()).map((r) => [r.subscriptionId, r.counts, r.latency, r.firstAttempt, r.toSuccess]),
    );
    const minutes = await store.listDeliveryStats('t', { resolution: 'minute', from: new Date('2026-12-01T10:00:00Z'), to: new Date('2026-12-01T11:00:00Z') });
    expect(minutes.reduce((n, r) => n + (r.counts.attempts ?? 0), 0)).toBe(5);

    const byClass = (await metrics.attemptsByClass.get()).values.filter((v) => v.value > 0).map((v) => [v.labels['class'], v.value]);
    expect(byClass.sort()).toEqual([['5xx', 1], ['success', 3], ['timeout', 1]]);
    const settled = (await metrics.deliveriesSettled.get()).values.filter((v) => v.value > 0).map((v) => [v.labels['result'], v.value]);
    expect(settled.sort()).toEqual([['failed', 1], ['succeeded', 3]]);
  });

  it('resolves the promises of batches that add nothing (test sends) without writing', async () => {
    const store = createMemoryStore();
    const writes: number[] = [];
    const counting: DeliveryStats = { ...store, addDeliveryStats: (w, id, rows) => (writes.push(rows.length), store.addDeliveryStats(w, id, rows)) };
    const writer = new DeliveryStatsWriter({ store: counting, writer: 'w1', metrics: new HubMetrics(), logger: silentLogger, flushMs: 60_000 });
    const added = writer.add([attempt(1, { test: true })]);
    await writer.drain();
    await added;
    expect(writes).toEqual([]);
  });
});
