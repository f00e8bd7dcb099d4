import { systemClock } from '../core/clock';
import type { Clock } from '../core/clock';
import type { SharedRateSlots } from './ports';

/** How late a claim may come back and its slot still be used (the store's own latency): the request goes that much late. */
const LATE_MS = 50;

/**
 * A connector's `rate_limit.shared`: one rate for all links of a connector (an app-wide quota),
 * shared by every worker process through the store's rate slots. Time is cut into buckets of
 * evenly spaced slots; a request may go once it has claimed a slot (an insert under a unique id,
 * which only one claim wins), so no two processes send in the same slot.
 */
export class SharedRateLimiter {
  /** Where this process looks first: slots before it are known to be taken. */
  private readonly hints = new Map<string, { bucket: number; slot: number }>();

  constructor(
    private readonly slots: SharedRateSlots,
    private readonly clock: Clock = systemClock,
  ) {}

  /**
   * Milliseconds to wait before sending under `key`, or null when no slot is free within `maxWaitMs`.
   * Time is read again after each claim: a claim that comes back after its slot's time (a slow store)
   * is not used, since sending then would put the request in a later slot's time, or a later bucket
   * whose slots other processes hold.
   */
  async acquire(key: string, requests: number, perSeconds: number, maxWaitMs: number): Promise<number | null> {
    const start = this.clock.now();
    const latest = start + maxWaitMs;
    const rate = requests / perSeconds;
    const bucketMs = rate >= 1 ? 1000 : Math.ceil(1000 / rate);
    const count = rate >= 1 ? Math.floor(rate) : 1;
    const spacing = bucketMs / count;
    const slotKey = `connector:${key}:${bucketMs}`;
    for (let bucket = Math.floor(start / bucketMs); bucket <= Math.floor(latest / bucketMs); bucket++) {
      const hint = this.hints.get(slotKey);
      const until = (bucket + 1) * bucketMs;
      for (let slot = hint && hint.bucket === bucket ? hint.slot : 0; slot < count; slot++) {
        const at = bucket * bucketMs + Math.floor(slot * spacing);
        if (at > latest) return null;
        // Slots already past are capacity that went unused; taking them now would burst.
        const now = this.clock.now();
        if (at < now) {
          slot = Math.max(slot, Math.ceil((now - bucket * bucketMs) / spacing) - 1);
          continue;
        }
        if (await this.slots.claimRateSlot(slotKey, bucket, slot)) {
          this.hints.set(slotKey, { bucket, slot: slot + 1 });
          const claimed = this.clock.now();
          if (claimed - at <= LATE_MS && claimed < until) return Math.max(0, at - claimed);
        }
      }
      this.hints.set(slotKey, { bucket: bucket + 1, slot: 0 });
    }
    return null;
  }

  /** When to come back after no slot was free: the end of the wait that was tried, at the latest one slot later. */
  static retryAfterMs(requests: number, perSeconds: number, maxWaitMs: number): number {
    return maxWaitMs + Math.ceil((perSeconds * 1000) / requests);
  }
}

/** Slots in this process only: for a hub built without a store that shares them. */
export function localRateSlots(): SharedRateSlots {
  const taken = new Map<string, number>();
  return {
    async claimRateSlot(key, bucket, slot) {
      const id = `${key}|${bucket}|${slot}`;
      if (taken.has(id)) return false;
      const now = Date.now();
      // Slots of buckets long past are never claimed again.
      if (taken.size > 10_000) for (const [old, at] of taken) if (at < now - 120_000) taken.delete(old);
      taken.set(id, now);
      return true;
    },
  };
}
