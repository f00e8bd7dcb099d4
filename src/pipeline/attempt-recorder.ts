import { retry } from '../core/retry';
import { Batcher } from '../core/batcher';
import type { Logger } from '../core/logger';
import type { AttemptRecord } from './model';
import type { AttemptLog } from './ports';
import type { DeliveryStatsWriter } from './delivery-stats-writer';

export interface AttemptRecorderOptions {
  store: AttemptLog;
  logger: Logger;
  /** Delivery analytics, counted from each batch as it is written. */
  stats?: DeliveryStatsWriter;
  maxBatch?: number;
}

/**
 * Writes attempt records in batches (unordered insertMany, a few at a time)
 * instead of one round trip per delivery. `record` resolves once the row is
 * stored, so a message is acked only after its attempt is durable. When the
 * store is down the batch is retried until it lands: callers wait, and since
 * their messages stay unacked, the broker's prefetch bounds what piles up.
 * Each batch also feeds the delivery analytics, summed in memory and written on
 * their own schedule (HOOKHUB_ANALYTICS_FLUSH): records do not wait for them, and
 * a crash loses at most the counts of that last interval.
 */
export class AttemptRecorder {
  private readonly batcher: Batcher<AttemptRecord, void>;

  constructor(private readonly options: AttemptRecorderOptions) {
    this.batcher = new Batcher({ flush: (records) => this.write(records), maxBatch: options.maxBatch ?? 500, lingerMs: 50, concurrency: 3 });
  }

  record(record: AttemptRecord): Promise<void> {
    return this.batcher.add(record);
  }

  get backlog(): number {
    return this.batcher.backlog;
  }

  async drain(): Promise<void> {
    await this.batcher.drain();
    await this.options.stats?.drain();
  }

  /** Never gives up: the deliveries behind these records have happened, so their records wait for the store. */
  private async write(records: AttemptRecord[]): Promise<void[]> {
    // Retried until stored (see DeliveryStatsWriter): a failure here is only the writer shutting down.
    this.options.stats?.add(records).catch((err: unknown) => this.options.logger.warn({ err: (err as Error).message }, 'delivery analytics of a batch of attempts were not stored'));
    await this.writeAttempts(records);
    return records.map(() => undefined);
  }

  private async writeAttempts(records: AttemptRecord[]): Promise<void> {
    await retry(() => this.options.store.recordAttempts(records), {
      baseMs: 100,
      maxMs: 5000,
      onRetry: (err) =>
        this.options.logger.warn(
          { err: (err as Error).message, batch: records.length, waiting: this.batcher.backlog },
          'cannot store delivery attempts; keeping them and retrying (deliveries pause until the store answers)',
        ),
    });
  }
}
