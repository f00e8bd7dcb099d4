import type { Logger } from '../core/logger';
import type { AttemptRecord, Store } from '../store/port';

export interface AttemptRecorderOptions {
  store: Store;
  logger: Logger;
  maxBatch?: number;
  flushIntervalMs?: number;
}

interface Pending {
  record: AttemptRecord;
  resolve: () => void;
}

/**
 * Writes attempt records in batches (one unordered insertMany per tick) instead
 * of one round trip per delivery. `record` resolves once the row is stored, so a
 * message is acked only after its attempt is durable. When the store is down
 * the batch is kept and retried: callers wait, and since their messages stay
 * unacked the broker's prefetch bounds how much piles up.
 */
export class AttemptRecorder {
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private failures = 0;
  private readonly maxBatch: number;
  private readonly flushIntervalMs: number;

  constructor(private readonly options: AttemptRecorderOptions) {
    this.maxBatch = options.maxBatch ?? 500;
    this.flushIntervalMs = options.flushIntervalMs ?? 10;
  }

  record(record: AttemptRecord): Promise<void> {
    return new Promise((resolve) => {
      this.queue.push({ record, resolve });
      if (this.queue.length >= this.maxBatch) this.schedule(0);
      else this.schedule(this.flushIntervalMs);
    });
  }

  get backlog(): number {
    return this.queue.length;
  }

  /** Writes everything buffered; used on shutdown. */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.flushing) {
      if (this.flushing) await this.flushing;
      else await this.flush();
    }
  }

  private schedule(delayMs: number): void {
    if (this.timer || this.flushing) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, delayMs);
  }

  private flush(): Promise<void> {
    const batch = this.queue.slice(0, this.maxBatch);
    if (batch.length === 0) return Promise.resolve();
    this.flushing = (async () => {
      try {
        await this.options.store.recordAttempts(batch.map((p) => p.record));
        this.queue = this.queue.slice(batch.length);
        this.failures = 0;
        for (const pending of batch) pending.resolve();
      } catch (err) {
        this.failures += 1;
        this.options.logger.warn(
          { err: (err as Error).message, buffered: this.queue.length },
          'cannot store delivery attempts; keeping them and retrying (deliveries pause until the store answers)',
        );
        await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** Math.min(this.failures, 6))));
      } finally {
        this.flushing = null;
      }
      if (this.queue.length > 0) this.schedule(0);
    })();
    return this.flushing;
  }
}
