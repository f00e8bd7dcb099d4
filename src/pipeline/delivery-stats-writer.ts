import type { Counter, Histogram } from 'prom-client';
import { Batcher } from '../core/batcher';
import type { Logger } from '../core/logger';
import type { HubMetrics } from '../core/metrics';
import { retry } from '../core/retry';
import { isEventType } from '../events/catalog';
import { StatsAccumulator } from './delivery-stats';
import type { AttemptFacts } from './delivery-stats';
import type { AttemptRecord } from './model';
import type { DeliveryStats } from './ports';

export interface DeliveryStatsWriterOptions {
  store: DeliveryStats;
  /** This process's name for its rows: unique among the processes writing to one store. */
  writer: string;
  metrics: HubMetrics;
  logger: Logger;
  /** Counts wait this long in memory before a write (one write at a time; 1000 ms). */
  flushMs?: number;
}

/** One event type's metric children, looked up once (no label hashing per attempt). */
interface TypeMetrics {
  byClass: Map<string, Counter.Internal>;
  settledSucceeded: Counter.Internal;
  settledFailed: Counter.Internal;
  latency: Histogram.Internal<string>;
  firstAttempt: Histogram.Internal<string>;
  toSuccess: Histogram.Internal<string>;
}

/**
 * Turns recorded attempt batches into delivery analytics: each batch is summed in memory
 * (StatsAccumulator: a map lookup and a few additions per attempt) and written as one bulk
 * upsert of the touched minute and hour rows. One write at a time: batches recorded meanwhile
 * are summed into the next, so under load the number of writes stays flat while batches grow.
 * Writes are retried until they land (the write id makes a retry add nothing twice).
 */
export class DeliveryStatsWriter {
  private readonly batcher: Batcher<readonly AttemptRecord[], void>;
  private writes = 0;
  private readonly byType = new Map<string, TypeMetrics>();

  constructor(private readonly options: DeliveryStatsWriterOptions) {
    this.batcher = new Batcher({ flush: (batches) => this.write(batches), maxBatch: 100_000, lingerMs: options.flushMs ?? 1000, concurrency: 1 });
  }

  /** Resolves once the batch's counts are stored; nothing waits for that but `drain`. */
  add(records: readonly AttemptRecord[]): Promise<void> {
    return this.batcher.add(records);
  }

  drain(): Promise<void> {
    return this.batcher.drain();
  }

  private async write(batches: Array<readonly AttemptRecord[]>): Promise<void[]> {
    const sums = new StatsAccumulator();
    for (const records of batches) {
      for (const record of records) {
        const facts = sums.add(record);
        if (facts !== null) this.count(record.eventType, facts);
      }
    }
    if (sums.size > 0) {
      const rows = sums.rows();
      const writeId = ++this.writes;
      await retry(() => this.options.store.addDeliveryStats(this.options.writer, writeId, rows), {
        baseMs: 100,
        maxMs: 5000,
        onRetry: (err) =>
          this.options.logger.warn({ err: (err as Error).message, rows: rows.length }, 'cannot store delivery analytics; keeping them and retrying'),
      });
    }
    return batches.map(() => undefined);
  }

  private count(eventType: string, facts: AttemptFacts): void {
    const m = this.metricsOf(eventType);
    const outcome = facts.failure ?? 'success';
    m.byClass.get(outcome)?.inc();
    if (facts.latencyMs !== null) m.latency.observe(facts.latencyMs / 1000);
    if (facts.firstAttemptMs !== null) m.firstAttempt.observe(facts.firstAttemptMs / 1000);
    if (facts.toSuccessMs !== null) m.toSuccess.observe(facts.toSuccessMs / 1000);
    if (facts.settled) (facts.failure === null ? m.settledSucceeded : m.settledFailed).inc();
  }

  private metricsOf(eventType: string): TypeMetrics {
    // Only the catalog's types become label values: the label stays bounded whatever arrives.
    const type = isEventType(eventType) ? eventType : 'other';
    let m = this.byType.get(type);
    if (m === undefined) {
      const { metrics } = this.options;
      const byClass = new Map<string, Counter.Internal>();
      for (const cls of ['success', '4xx', '5xx', 'timeout', 'network', 'refused', 'other', 'not_sent']) byClass.set(cls, metrics.attemptsByClass.labels(type, cls));
      m = {
        byClass,
        settledSucceeded: metrics.deliveriesSettled.labels(type, 'succeeded'),
        settledFailed: metrics.deliveriesSettled.labels(type, 'failed'),
        latency: metrics.attemptLatency.labels(type),
        firstAttempt: metrics.firstAttemptDelay.labels(type),
        toSuccess: metrics.timeToSuccess.labels(type),
      };
      this.byType.set(type, m);
    }
    return m;
  }
}
