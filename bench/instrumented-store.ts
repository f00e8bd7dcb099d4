import { createMongoStore } from '../src/store/mongo/mongo-store';
import type { MongoStore, MongoStoreOptions } from '../src/store/mongo/mongo-store';
import { percentile, round } from './support';

/** The hub's own MongoDB adapter with counts and latencies of its hot-path calls. */
export type InstrumentedMongoStore = MongoStore & {
  /** Attempt records MongoDB has acknowledged. */
  readonly attemptsStored: number;
  resetTimings(): void;
  /** One line per timed operation: calls, rows, latency mean/p50/p95/max. */
  describeTimings(): string[];
};

/**
 * The hub's own MongoDB adapter, timed: counts attempt records MongoDB has
 * acknowledged (a count query on FerretDB scans the collection and takes
 * seconds at 20k rows, too slow to time the end of a run with) and keeps the
 * latency of the hot-path store calls, to show which stage lags.
 */
export function instrumentMongoStore(options: MongoStoreOptions): InstrumentedMongoStore {
  const store = createMongoStore(options);
  const timings = new Map<string, { ms: number[]; items: number }>();
  let attemptsStored = 0;

  const timed = async <T>(name: string, items: number, work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await work();
    } finally {
      let entry = timings.get(name);
      if (!entry) {
        entry = { ms: [], items: 0 };
        timings.set(name, entry);
      }
      entry.ms.push(performance.now() - started);
      entry.items += items;
    }
  };

  return {
    ...store,
    get attemptsStored() {
      return attemptsStored;
    },
    async recordAttempts(records) {
      await timed('recordAttempts (insertMany)', records.length, () => store.recordAttempts(records));
      attemptsStored += records.length;
    },
    insertEvents: (events) => timed('insertEvents (insertMany)', events.length, () => store.insertEvents(events)),
    markEventsRouted: (keys, at) => timed('markEventsRouted (updateMany)', keys.length, () => store.markEventsRouted(keys, at)),
    // Reads behind the hub's subscription cache: the worker (by id) and the router (by type).
    loadSubscription: (id) => timed('loadSubscription', 1, () => store.loadSubscription(id)),
    findSubscriptionsFor: (type, scopeTenantId) => timed('findSubscriptionsFor', 1, () => store.findSubscriptionsFor(type, scopeTenantId)),
    // The delivery analytics writer's flushes (one at a time, HOOKHUB_ANALYTICS_FLUSH apart).
    addDeliveryStats: (writer, writeId, rows) => timed('addDeliveryStats (bulkWrite)', rows.length, () => store.addDeliveryStats(writer, writeId, rows)),
    resetTimings() {
      timings.clear();
    },
    describeTimings() {
      return [...timings.entries()].map(([name, t]) => {
        const sorted = Float64Array.from(t.ms).sort();
        const mean = t.ms.reduce((a, b) => a + b, 0) / Math.max(1, t.ms.length);
        return (
          `${name}: ${t.ms.length} calls, ${t.items} rows (${round(t.items / Math.max(1, t.ms.length), 1)}/call), ` +
          `latency mean ${round(mean, 1)} ms, p50 ${round(percentile(sorted, 50), 1)} ms, p95 ${round(percentile(sorted, 95), 1)} ms, ` +
          `max ${round(sorted.length > 0 ? (sorted[sorted.length - 1] as number) : NaN, 1)} ms`
        );
      });
    },
  };
}
