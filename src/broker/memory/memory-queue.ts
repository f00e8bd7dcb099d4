import { POISON_AFTER_DELIVERIES } from '../port';

export interface MemoryQueueOptions {
  /** Pause before a failed item is handed over again. */
  requeueDelayMs?: number;
  /** A handler not settled after this long (while dependencies answer) counts as failed; its late result is ignored. */
  stallTimeoutMs?: number;
  /**
   * Hand items over in order: a failed item comes back first (after the pause), and nothing
   * else is handed over while it waits (an ordered shard, consumed with prefetch 1).
   */
  inOrder?: boolean;
}

export interface MemoryConsumeOptions<T> {
  prefetch: number;
  /** Called with an item that failed on POISON_AFTER_DELIVERIES deliveries; it is not handed over again. */
  onPoisoned?: (item: T, deliveries: number) => void;
  /** Failures while this answers false are the outage's, not the item's: they do not count. */
  dependenciesAnswer?: () => Promise<boolean>;
}

interface Entry<T> {
  item: T;
  /** Times handed over before. */
  handovers: number;
  /** Handovers that failed while dependencies answered: these count toward the poison limit. */
  failures: number;
}

type Verdict = 'done' | 'failed' | 'stalled';

/** How a handler's promise ends within `timeoutMs`; it may still settle later, unheard. */
async function settleWithin(work: Promise<void>, timeoutMs: number): Promise<Verdict> {
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<Verdict>((resolve) => {
    timer = setTimeout(() => resolve('stalled'), timeoutMs);
  });
  try {
    return await Promise.race([work.then((): Verdict => 'done', (): Verdict => 'failed'), stalled]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A queue inside one process with at-least-once consumer semantics: an item whose
 * handler throws (or stalls) is handed over again, marked redelivered, until it
 * has failed POISON_AFTER_DELIVERIES times; then it is parked as poison.
 */
export class MemoryQueue<T> {
  private readonly items: Array<Entry<T>> = [];
  private handler: ((item: T, redelivered: boolean) => Promise<void>) | null = null;
  private options: MemoryConsumeOptions<T> = { prefetch: 1 };
  private inFlight = 0;
  /** Scheduled items not yet due (what RabbitMQ keeps in the retry ladder). */
  private delayed = 0;
  /** Failed items waiting out the pause before they are handed over again. */
  private requeueing = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;
  /** In order: a failed item waits for its next try, and holds back the rest. */
  private blocked = false;
  private readonly requeueDelayMs: number;
  private readonly stallTimeoutMs: number;
  private readonly inOrder: boolean;

  constructor(options: MemoryQueueOptions = {}) {
    this.inOrder = options.inOrder ?? false;
    this.requeueDelayMs = options.requeueDelayMs ?? 500;
    this.stallTimeoutMs = options.stallTimeoutMs ?? 5 * 60_000;
  }

  get depth(): number {
    return this.items.length;
  }

  /** Items waiting to be handed over, handed over and unsettled (a failed one waiting to go again included), and scheduled for later. */
  stats(): { ready: number; unacknowledged: number; delayed: number; consumers: number } {
    return { ready: this.items.length, unacknowledged: this.inFlight + this.requeueing, delayed: this.delayed, consumers: this.handler ? 1 : 0 };
  }

  push(item: T): void {
    this.enqueue({ item, handovers: 0, failures: 0 });
  }

  pushLater(item: T, delayMs: number): void {
    this.delayed += 1;
    this.later({ item, handovers: 0, failures: 0 }, delayMs, Date.now() + delayMs, () => (this.delayed -= 1));
  }

  consume(handler: (item: T, redelivered: boolean) => Promise<void>, options: MemoryConsumeOptions<T>): () => void {
    this.handler = handler;
    this.options = options;
    this.pump();
    return () => {
      this.handler = null;
    };
  }

  close(): void {
    this.closed = true;
    this.handler = null;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private enqueue(entry: Entry<T>): void {
    if (this.closed) throw new Error('queue is closed');
    this.items.push(entry);
    this.pump();
  }

  private later(entry: Entry<T>, delayMs: number, dueAt = Date.now() + delayMs, onDue?: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.closed) return;
      // Node's timers may fire a millisecond before Date.now() reaches the due time: never early.
      const early = dueAt - Date.now();
      if (early > 0) return this.later(entry, early, dueAt, onDue);
      onDue?.();
      this.enqueue(entry);
    }, delayMs);
    this.timers.add(timer);
  }

  private pump(): void {
    while (this.handler && !this.blocked && this.inFlight < this.options.prefetch && this.items.length > 0) {
      const entry = this.items.shift() as Entry<T>;
      const handler = this.handler;
      this.inFlight += 1;
      setImmediate(() => {
        void this.run(entry, handler).finally(() => {
          this.inFlight -= 1;
          this.pump();
        });
      });
    }
  }

  private async run(entry: Entry<T>, handler: (item: T, redelivered: boolean) => Promise<void>): Promise<void> {
    const work = Promise.resolve().then(() => handler(entry.item, entry.handovers > 0));
    let verdict: Verdict;
    // A handler past the stall timeout while the store does not answer is waiting for the store: keep waiting.
    do verdict = await settleWithin(work, this.stallTimeoutMs);
    while (verdict === 'stalled' && !(await this.dependenciesAnswer()));
    if (verdict === 'done' || this.closed) return;
    const counts = verdict === 'stalled' || (await this.dependenciesAnswer());
    const next = { item: entry.item, handovers: entry.handovers + 1, failures: entry.failures + (counts ? 1 : 0) };
    if (next.failures >= POISON_AFTER_DELIVERIES) this.options.onPoisoned?.(next.item, next.failures);
    else if (this.inOrder) this.retryFirst(next);
    else {
      this.requeueing += 1;
      this.later(next, this.requeueDelayMs, Date.now() + this.requeueDelayMs, () => (this.requeueing -= 1));
    }
  }

  /** Puts a failed item back at the head after the pause, handing nothing else over meanwhile. */
  private retryFirst(entry: Entry<T>): void {
    this.blocked = true;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.blocked = false;
      if (this.closed) return;
      this.items.unshift(entry);
      this.pump();
    }, this.requeueDelayMs);
    this.timers.add(timer);
  }

  private async dependenciesAnswer(): Promise<boolean> {
    return this.options.dependenciesAnswer ? this.options.dependenciesAnswer().catch(() => false) : true;
  }
}
