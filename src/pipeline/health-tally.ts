import type { Clock } from '../core/clock';
import { newId } from '../core/ids';
import type { Logger } from '../core/logger';
import { LATENCY_BOUNDS_MS, latencyBucket } from './health-model';
import type { HealthSlice } from './health-model';
import type { EndpointHealthLog } from './ports';

export interface HealthTallyOptions {
  log: Pick<EndpointHealthLog, 'saveHealthSlices'>;
  clock: Clock;
  logger: Logger;
  sliceMs: number;
  flushMs: number;
  /** How many failure times a process remembers per subscription (the monitor's "failures in a row" threshold). */
  failureMemory: number;
  /** More subscriptions than this waiting for a flush: flush now (bounds the memory used). */
  maxPending?: number;
}

/** What one process remembers of a subscription between slices. */
interface Tail {
  tenantId: string;
  lastSuccessAt: Date | null;
  lastFailureAt: Date | null;
  recentFailures: Date[];
  /** The tally of the current slice. */
  slice: HealthSlice;
  /** Earlier slices not written yet (the slice turned before a flush). */
  finished: HealthSlice[];
  touchedAt: number;
}

/**
 * Counts this process's attempts per subscription in time slices, in memory, and writes
 * them on a short timer (off the delivery's path: `observe` only adds to counters). Each
 * process writes its own slice documents, so no two processes update the same document;
 * the monitor merges them.
 */
export class HealthTally {
  private readonly processId = newId('proc');
  private readonly tails = new Map<string, Tail>();
  private readonly dirty = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly options: HealthTallyOptions) {}

  /** One attempt that reached (or tried to reach) the endpoint, just finished after `durationMs`. */
  observe(tenantId: string, subscriptionId: string, succeeded: boolean, durationMs: number): void {
    const now = this.options.clock.now();
    const sliceStart = Math.floor(now / this.options.sliceMs) * this.options.sliceMs;
    let tail = this.tails.get(subscriptionId);
    if (!tail) {
      tail = { tenantId, lastSuccessAt: null, lastFailureAt: null, recentFailures: [], slice: emptySlice(tenantId, subscriptionId, sliceStart), finished: [], touchedAt: now };
      this.tails.set(subscriptionId, tail);
    }
    if (tail.slice.sliceStart.getTime() !== sliceStart) {
      if (this.dirty.has(subscriptionId)) tail.finished.push(tail.slice);
      tail.slice = emptySlice(tenantId, subscriptionId, sliceStart);
    }
    tail.touchedAt = now;
    tail.slice.attempts += 1;
    const bucket = latencyBucket(durationMs);
    tail.slice.latency[bucket] = (tail.slice.latency[bucket] ?? 0) + 1;
    // Attempts are ordered by when they were sent: a slow success sent before a run of failures does not end it.
    const sentAt = new Date(now - Math.max(0, Math.round(durationMs)));
    if (succeeded) {
      tail.slice.succeeded += 1;
      if (tail.lastSuccessAt === null || sentAt > tail.lastSuccessAt) tail.lastSuccessAt = sentAt;
      tail.recentFailures = tail.recentFailures.filter((f) => f > sentAt);
    } else {
      if (tail.lastFailureAt === null || sentAt > tail.lastFailureAt) tail.lastFailureAt = sentAt;
      if (tail.lastSuccessAt === null || sentAt > tail.lastSuccessAt) {
        tail.recentFailures.push(sentAt);
        tail.recentFailures.sort((a, b) => a.getTime() - b.getTime());
        if (tail.recentFailures.length > this.options.failureMemory) tail.recentFailures.shift();
      }
    }
    this.dirty.add(subscriptionId);
    if (this.dirty.size >= (this.options.maxPending ?? 10_000)) void this.flush();
    else if (!this.closed) {
      this.timer ??= setTimeout(() => {
        this.timer = null;
        void this.flush();
      }, this.options.flushMs);
      this.timer.unref();
    }
  }

  /** Writes the slices that changed; on failure they stay for the next flush. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      const ids = [...this.dirty];
      if (ids.length === 0) return;
      this.dirty.clear();
      const written = new Map<string, number>();
      const slices = ids.flatMap((id) => {
        const tail = this.tails.get(id);
        if (!tail) return [];
        written.set(id, tail.finished.length);
        const memory = { lastSuccessAt: tail.lastSuccessAt, lastFailureAt: tail.lastFailureAt, recentFailures: [...tail.recentFailures] };
        return [...tail.finished, tail.slice].map((slice) => ({ ...slice, latency: [...slice.latency], ...memory }));
      });
      try {
        await this.options.log.saveHealthSlices(this.processId, slices);
      } catch (err) {
        for (const id of ids) this.dirty.add(id);
        this.options.logger.warn({ err: (err as Error).message, subscriptions: ids.length }, 'could not save endpoint health counts; will try again');
        return;
      }
      for (const [id, count] of written) this.tails.get(id)?.finished.splice(0, count);
      this.forgetIdle();
    });
    return this.flushing;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.flush();
  }

  /**
   * A subscription quiet for two slices is forgotten once written (its memory stays in its last slice), unless
   * its last attempts failed: those failures count towards "failures in a row" when it is tried again.
   */
  private forgetIdle(): void {
    const idleBefore = this.options.clock.now() - 2 * this.options.sliceMs;
    const crowded = this.tails.size > (this.options.maxPending ?? 10_000);
    for (const [id, tail] of this.tails) {
      if (tail.touchedAt < idleBefore && !this.dirty.has(id) && (crowded || tail.recentFailures.length === 0)) this.tails.delete(id);
    }
  }
}

function emptySlice(tenantId: string, subscriptionId: string, sliceStart: number): HealthSlice {
  return {
    tenantId,
    subscriptionId,
    sliceStart: new Date(sliceStart),
    attempts: 0,
    succeeded: 0,
    latency: new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0),
    lastSuccessAt: null,
    lastFailureAt: null,
    recentFailures: [],
  };
}
