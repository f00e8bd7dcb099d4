import type { AttemptRecord, StoredEvent, SubscriptionRecord } from '../src/store/port';
import { MongoStore } from '../src/store/mongo/mongo-store';
import { percentile, round } from './support';

/**
 * The hub's own MongoDB adapter, timed: counts attempt records MongoDB has
 * acknowledged (a count query on FerretDB scans the collection and takes
 * seconds at 20k rows, too slow to time the end of a run with) and keeps the
 * latency of the hot-path store calls, to show which stage lags.
 */
export class InstrumentedMongoStore extends MongoStore {
  attemptsStored = 0;
  private readonly timings = new Map<string, { ms: number[]; items: number }>();

  override async recordAttempts(records: AttemptRecord[]): Promise<void> {
    await this.timed('recordAttempts (insertMany)', records.length, () => super.recordAttempts(records));
    this.attemptsStored += records.length;
  }

  override insertEvents(events: StoredEvent[]): Promise<Array<'inserted' | 'duplicate'>> {
    return this.timed('insertEvents (insertMany)', events.length, () => super.insertEvents(events));
  }

  override markEventsRouted(keys: string[], at: Date): Promise<void> {
    return this.timed('markEventsRouted (updateMany)', keys.length, () => super.markEventsRouted(keys, at));
  }

  // Reads behind the hub's subscription cache: the worker (by id) and the router (by type).
  override loadSubscription(id: string): Promise<SubscriptionRecord | null> {
    return this.timed('loadSubscription', 1, () => super.loadSubscription(id));
  }

  override findSubscriptionsFor(type: string, scopeTenantId: string | null): Promise<SubscriptionRecord[]> {
    return this.timed('findSubscriptionsFor', 1, () => super.findSubscriptionsFor(type, scopeTenantId));
  }

  resetTimings(): void {
    this.timings.clear();
  }

  /** One line per timed operation: calls, rows, latency mean/p50/p95/max. */
  describeTimings(): string[] {
    return [...this.timings.entries()].map(([name, t]) => {
      const sorted = Float64Array.from(t.ms).sort();
      const mean = t.ms.reduce((a, b) => a + b, 0) / Math.max(1, t.ms.length);
      return (
        `${name}: ${t.ms.length} calls, ${t.items} rows (${round(t.items / Math.max(1, t.ms.length), 1)}/call), ` +
        `latency mean ${round(mean, 1)} ms, p50 ${round(percentile(sorted, 50), 1)} ms, p95 ${round(percentile(sorted, 95), 1)} ms, ` +
        `max ${round(sorted.length > 0 ? (sorted[sorted.length - 1] as number) : NaN, 1)} ms`
      );
    });
  }

  private async timed<T>(name: string, items: number, work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await work();
    } finally {
      let entry = this.timings.get(name);
      if (!entry) {
        entry = { ms: [], items: 0 };
        this.timings.set(name, entry);
      }
      entry.ms.push(performance.now() - started);
      entry.items += items;
    }
  }
}
