import type { Counter, Histogram } from 'prom-client';
import type { Logger } from '../core/logger';
import type { HubMetrics } from '../core/metrics';
import { retry } from '../core/retry';
import { isEventType } from '../events/catalog';
import { StatsAccumulator } from './delivery-stats';
import type { AttemptFacts, DeliveryStatsRow } from './delivery-stats';
import type { AttemptRecord } from './model';
import type { DeliveryStats } from './ports';

export interface DeliveryStatsWriterOptions {
  store: DeliveryStats;
  /** This process's name for its rows: unique among the processes writing to one store. */
  writer: string;
  metrics: HubMetrics;
  logger: Logger;
  /** Counts wait this long in memory before a write: at most one write per interval, one at a time (1000 ms). */
  flushMs?: number;
}

/** One event type's metric children, looked up once per type (prom-client still hashes their labels on each update). */
interface TypeMetrics {
  byClass: Map<string, Counter.Internal>;
  settledSucceeded: Counter.Internal;
  settledFailed: Counter.Internal;
  latency: Histogram.Internal<string>;
  firstAttempt: Histogram.Internal<string>;
  toSuccess: Histogram.Internal<string>;
}

/** The callers waiting for one write: every batch summed since the previous write began. */
interface Waiting {
  promise: Promise<void>;
  resolve(): void;
  reject(reason: unknown): void;
  /** When its first batch was summed (Date.now()). */
  since: number;
}

/**
 * Turns recorded attempt batches into delivery analytics. Each batch is summed into memory as it
 * arrives (StatsAccumulator: a map lookup and a few additions per attempt; the Prometheus
 * families at the same time), so no attempt record is kept for the write. The sums are written as
 * one bulk upsert of the touched minute and hour rows, at most once per `flushMs`: a write starts
 * `flushMs` after the first batch it holds was summed, and only once the previous write has ended.
 * So under load the number of writes stays flat (one per interval) while each write covers more.
 * Writes are retried until they land (the write id makes a retry add nothing twice).
 */
export class DeliveryStatsWriter {
  private sums = new StatsAccumulator();
  private waiting: Waiting | null = null;
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;
  private writes = 0;
  private readonly flushMs: number;
  private readonly byType = new Map<string, TypeMetrics>();

  constructor(private readonly options: DeliveryStatsWriterOptions) {
    this.flushMs = options.flushMs ?? 1000;
  }

  /** Sums the batch at once; resolves once its counts are stored; nothing waits for that but `drain`. */
  add(records: readonly AttemptRecord[]): Promise<void> {
    for (const record of records) {
      const facts = this.sums.add(record);
      if (facts !== null) this.count(record.eventType, facts);
    }
    if (this.waiting === null) this.waiting = waitingSince(Date.now());
    this.schedule();
    return this.waiting.promise;
  }

  /** Writes whatever is summed now, without waiting for the interval; resolves once everything added so far is stored. */
  async drain(): Promise<void> {
    for (;;) {
      if (this.writing !== null) await this.writing;
      else if (this.waiting !== null) await this.write();
      else return;
    }
  }

  private schedule(): void {
    if (this.timer !== null || this.writing !== null || this.waiting === null) return;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        void this.write();
      },
      Math.max(0, this.waiting.since + this.flushMs - Date.now()),
    );
  }

  /** Writes the sums so far (one write at a time); batches summed meanwhile wait for the next interval. */
  private write(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const sums = this.sums;
    const waiting = this.waiting;
    this.sums = new StatsAccumulator();
    this.waiting = null;
    const writing = (async () => {
      try {
        if (sums.size > 0) await this.store(sums.rows());
        waiting?.resolve();
      } catch (err) {
        waiting?.reject(err);
      }
    })();
    this.writing = writing;
    void writing.finally(() => {
      this.writing = null;
      this.schedule();
    });
    return writing;
  }

  private async store(rows: DeliveryStatsRow[]): Promise<void> {
    const writeId = ++this.writes;
    await retry(() => this.options.store.addDeliveryStats(this.options.writer, writeId, rows), {
      baseMs: 100,
      maxMs: 5000,
      onRetry: (err) => this.options.logger.warn({ err: (err as Error).message, rows: rows.length }, 'cannot store delivery analytics; keeping them and retrying'),
    });
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

function waitingSince(since: number): Waiting {
  let resolve!: () => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Callers may drop the promise: a failed write is logged by whoever awaits it, never unhandled.
  promise.catch(() => undefined);
  return { promise, resolve, reject, since };
}
