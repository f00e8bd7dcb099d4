import type { Clock } from '../core/clock';

/**
 * How jobs gather: at most `maxItems` per request, the first waiting at most `maxWaitMs` for company,
 * and (when given) at most `maxBytes` of items as add() sizes them (one item larger than that goes alone).
 */
export interface BatchLimits {
  maxItems: number;
  maxWaitMs: number;
  maxBytes?: number;
}

/** What a batch's one request gave every job in it: the answer, or "not sent, come back after `delayMs`" (a rate limit). */
export type BatchOutcome<R> = { kind: 'sent'; value: R } | { kind: 'deferred'; delayMs: number };

/** Sends one batch's items as one request. A throw rejects every job of the batch (each goes back to the queue as it is). */
export type BatchFlush<I, R> = (items: I[]) => Promise<BatchOutcome<R>>;

/** Timers, injected so a test drives them with a ManualClock instead of waiting. */
export interface BatchTimers {
  set(callback: () => void, delayMs: number): unknown;
  clear(handle: unknown): void;
}

export const systemTimers: BatchTimers = {
  // A batch's wait never keeps the process alive: its jobs' messages go back to the broker when it stops.
  set: (callback, delayMs) => setTimeout(callback, delayMs).unref(),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

interface Waiting<I, R> {
  item: I;
  bytes: number;
  resolve(outcome: BatchOutcome<R>): void;
  reject(reason: unknown): void;
}

/** One key's jobs: those waiting for the next request, and whether a request is in flight. */
interface Lane<I, R> {
  limits: BatchLimits;
  waiting: Array<Waiting<I, R>>;
  /** The bytes of the waiting items. */
  bytes: number;
  /** When the oldest waiting job came. */
  since: number;
  /** Sends the next batch: the flush of the job that opened it (all jobs of a key share a connection). */
  flush: BatchFlush<I, R> | null;
  timer: unknown;
  inFlight: boolean;
  /** The waiting batch refused an item that would have taken it past maxBytes: it is full, and goes as soon as it may. */
  closed: boolean;
}

/**
 * Gathers the jobs of one key (a connection's batched action, a batched subscription) into batches sent as one request:
 * a batch goes when it holds `maxItems` jobs or its first job has waited `maxWaitMs`, and one
 * request per key is in flight at a time, so a key's requests stay in order and few. Jobs that
 * come while a request is in flight form the next batch. A job that finds a full batch already
 * waiting behind the request in flight would wait for two requests: it is not taken, and resolves
 * `deferred` at once (its delivery comes back later, with the same attempt).
 */
export class BatchQueue<I, R> {
  private readonly lanes = new Map<string, Lane<I, R>>();

  constructor(
    private readonly clock: Clock,
    private readonly timers: BatchTimers = systemTimers,
  ) {}

  /** Jobs waiting (not in flight) under `key`. */
  waiting(key: string): number {
    return this.lanes.get(key)?.waiting.length ?? 0;
  }

  /** `bytes`: the item's size, counted against `limits.maxBytes`. */
  add(key: string, limits: BatchLimits, item: I, flush: BatchFlush<I, R>, bytes = 0): Promise<BatchOutcome<R>> {
    const lane = this.lanes.get(key) ?? this.open(key, limits);
    // The waiting batch has no room for this item: it goes now, or, with a request in flight, the item comes back later.
    const overflows = lane.waiting.length > 0 && lane.limits.maxBytes !== undefined && lane.bytes + bytes > lane.limits.maxBytes;
    if (lane.inFlight && (lane.waiting.length >= lane.limits.maxItems || overflows)) {
      if (overflows) lane.closed = true;
      return Promise.resolve({ kind: 'deferred', delayMs: Math.max(lane.limits.maxWaitMs, 1000) });
    }
    if (overflows) this.send(key, lane);
    return new Promise<BatchOutcome<R>>((resolve, reject) => {
      if (lane.waiting.length === 0) {
        lane.since = this.clock.now();
        lane.flush = flush;
      }
      lane.waiting.push({ item, bytes, resolve, reject });
      lane.bytes += bytes;
      this.schedule(key, lane);
    });
  }

  private open(key: string, limits: BatchLimits): Lane<I, R> {
    const lane: Lane<I, R> = { limits, waiting: [], bytes: 0, since: 0, flush: null, timer: null, inFlight: false, closed: false };
    this.lanes.set(key, lane);
    return lane;
  }

  /** Sends now when the batch is full or due; else wakes up when its first job has waited long enough. */
  private schedule(key: string, lane: Lane<I, R>): void {
    if (lane.inFlight || lane.waiting.length === 0) return;
    const due = lane.since + lane.limits.maxWaitMs - this.clock.now();
    const full = lane.closed || lane.waiting.length >= lane.limits.maxItems || (lane.limits.maxBytes !== undefined && lane.bytes >= lane.limits.maxBytes);
    if (full || due <= 0) {
      this.send(key, lane);
      return;
    }
    if (lane.timer !== null) return;
    lane.timer = this.timers.set(() => {
      lane.timer = null;
      this.schedule(key, lane);
    }, due);
  }

  private send(key: string, lane: Lane<I, R>): void {
    if (lane.timer !== null) {
      this.timers.clear(lane.timer);
      lane.timer = null;
    }
    const batch = lane.waiting.splice(0, lane.limits.maxItems);
    for (const w of batch) lane.bytes -= w.bytes;
    lane.closed = false;
    const flush = lane.flush as BatchFlush<I, R>;
    lane.inFlight = true;
    // The jobs left over (more than maxItems came) open the next batch, with their own wait counted from now.
    if (lane.waiting.length > 0) lane.since = this.clock.now();
    void flush(batch.map((w) => w.item)).then(
      (outcome) => batch.forEach((w) => w.resolve(outcome)),
      (err: unknown) => batch.forEach((w) => w.reject(err)),
    ).finally(() => {
      lane.inFlight = false;
      if (lane.waiting.length > 0) this.schedule(key, lane);
      else this.lanes.delete(key);
    });
  }
}
