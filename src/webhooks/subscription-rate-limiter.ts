import { systemClock } from '../core/clock';
import type { Clock } from '../core/clock';
import type { RateSlots } from './rate-slots';

/** A 429 halves the rate for a while; each minute without one gives back a fifth of what was taken. */
const PENALTY_FLOOR = 0.05;
const RECOVERY_MS = 60_000;

/**
 * Per-subscription request rates shared by every worker process. Time is cut
 * into buckets with a number of slots; a delivery may go once it has inserted
 * a slot id of a bucket (an insert under a unique id, which every
 * MongoDB-protocol server makes atomic). A delivery that finds no slot soon is
 * put back on the queue: the excess waits, nothing fails or is dropped.
 */
export class SubscriptionRateLimiter {
  private readonly penalties = new Map<string, { factor: number; at: number }>();
  private readonly hints = new Map<string, { bucket: number; slot: number }>();

  constructor(
    private readonly store: RateSlots,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Milliseconds to wait before sending, or null when no slot is free within `maxWaitMs`. */
  async acquire(subscriptionId: string, requestsPerSecond: number, maxWaitMs: number, now = this.clock.now()): Promise<number | null> {
    const rate = requestsPerSecond * this.factor(subscriptionId, now);
    const bucketMs = rate >= 1 ? 1000 : Math.ceil(1000 / rate);
    const slots = rate >= 1 ? Math.floor(rate) : 1;
    const first = Math.floor(now / bucketMs);
    const last = Math.floor((now + maxWaitMs) / bucketMs);
    for (let bucket = first; bucket <= last; bucket++) {
      const hint = this.hints.get(subscriptionId);
      // Slots already past are capacity that went unused; taking them now would burst.
      const spacing = bucketMs / slots;
      const firstUsable = Math.max(0, Math.ceil((now - bucket * bucketMs - 50) / spacing));
      let slot = Math.max(firstUsable, hint && hint.bucket === bucket ? hint.slot : 0);
      for (; slot < slots; slot++) {
        // Even spacing inside the bucket, so a rate of 10/s is not 10 at once every second.
        const at = bucket * bucketMs + Math.floor((slot * bucketMs) / slots);
        if (at - now > maxWaitMs) break;
        if (await this.store.claimRateSlot(`${subscriptionId}:${bucketMs}`, bucket, slot)) {
          this.hints.set(subscriptionId, { bucket, slot: slot + 1 });
          return Math.max(0, at - now);
        }
      }
      this.hints.set(subscriptionId, { bucket: bucket + 1, slot: 0 });
    }
    return null;
  }

  /** The endpoint answered 429: slow down further, for this process, until it recovers. */
  slowDown(subscriptionId: string, now = this.clock.now()): void {
    const factor = Math.max(PENALTY_FLOOR, this.factor(subscriptionId, now) / 2);
    this.penalties.set(subscriptionId, { factor, at: now });
  }

  factor(subscriptionId: string, now = this.clock.now()): number {
    const penalty = this.penalties.get(subscriptionId);
    if (!penalty) return 1;
    const recovered = penalty.factor + ((1 - penalty.factor) * (now - penalty.at)) / (5 * RECOVERY_MS);
    if (recovered >= 1) {
      this.penalties.delete(subscriptionId);
      return 1;
    }
    return recovered;
  }
}
