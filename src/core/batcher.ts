export interface BatcherOptions<I, O> {
  /** Handles one batch; returns one result per item, in order. A throw fails every item of the batch. */
  flush(items: I[]): Promise<O[]>;
  maxBatch?: number;
  /** How long the first item of a batch waits for company. */
  lingerMs?: number;
  /** Flushes that may run at once; more lets the database work on batches in parallel. */
  concurrency?: number;
}

interface Pending<I, O> {
  item: I;
  resolve(value: O): void;
  reject(reason: unknown): void;
}

/**
 * Turns many concurrent single-item writes into few batch writes: up to
 * `concurrency` flushes at a time, and whatever arrives while they run forms
 * the next batch. Under load batches grow by themselves; when idle an item
 * waits at most lingerMs.
 */
export class Batcher<I, O> {
  private queue: Array<Pending<I, O>> = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly running = new Set<Promise<void>>();
  private readonly maxBatch: number;
  private readonly lingerMs: number;
  private readonly concurrency: number;

  constructor(private readonly options: BatcherOptions<I, O>) {
    this.maxBatch = options.maxBatch ?? 500;
    this.lingerMs = options.lingerMs ?? 5;
    this.concurrency = options.concurrency ?? 1;
  }

  get backlog(): number {
    return this.queue.length;
  }

  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule(this.queue.length >= this.maxBatch ? 0 : this.lingerMs);
    });
  }

  /** Resolves once everything added so far has been flushed. */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.running.size > 0) {
      if (this.running.size > 0) await Promise.race(this.running);
      else await this.run();
    }
  }

  private schedule(delayMs: number): void {
    if (this.running.size >= this.concurrency || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.run();
    }, delayMs);
  }

  private run(): Promise<void> {
    const batch = this.queue.splice(0, this.maxBatch);
    if (batch.length === 0) return Promise.resolve();
    const flushing = (async () => {
      try {
        const results = await this.options.flush(batch.map((p) => p.item));
        batch.forEach((p, i) => p.resolve(results[i] as O));
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    })();
    this.running.add(flushing);
    void flushing.finally(() => {
      this.running.delete(flushing);
      if (this.queue.length > 0) this.schedule(0);
    });
    if (this.queue.length > 0) this.schedule(this.lingerMs);
    return flushing;
  }
}
