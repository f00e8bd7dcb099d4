import { systemClock } from '../core/clock';
import type { Clock } from '../core/clock';
import type { RateSlots } from './rate-slots';

/** A 429 halves the rate for a while; each minute without one gives back a fifth of what was taken. */
const PENALTY_FLOOR = 0.05;
const RECOVERY_MS = 60_000;

/** How late a slot may still be used: a slot just past is taken as if it were now. */
const LATE_MS = 50;

/** A slot a request holds: it may go from `at` until `until` (the end of the slot's bucket), not before, not after. */
export interface RateSlot {
  at: number;
  until: number;
}

/**
 * Per-subscription request rates shared by every worker process. Time is cut
 * into buckets with a number of slots; a delivery may go once it has inserted
 * a slot id of a bucket (an insert under a unique id, which every
 * MongoDB-protocol server makes atomic), at the slot's time and within its
 * bucket, so no bucket sees more requests than it has slots whatever the
 * number of processes. A delivery that finds no slot soon is put back on the
 * queue: the excess waits, nothing fails or is dropped.
 */
export class SubscriptionRateLimiter {
  private readonly penalties = new Map<string, { factor: number; at: number }>();
  private readonly hints = new Map<string, { bucket: number; slot: number }>();

  constructor(
    private readonly store: RateSlots,
    private readonly clock: Clock = systemClock,
  ) {}

  /**
   * A slot of the subscription's rate within `maxWaitMs` from now, or null when none is free. Time is read
   * again after each claim: a claim that comes back after its slot's time (a slow store) does not use it,
   * since going then would put the request in a later slot's time, or a later bucket.
   */
  async acquire(subscriptionId: string, requestsPerSecond: number, maxWaitMs: number): Promise<RateSlot | null> {
    const start = this.clock.now();
    // One grid of slots for the subscription's rate, the same in every process. A process slowed down by 429s
    // takes only its share of the grid's slots, evenly spread: whatever their shares, the processes together
    // stay within the grid.
    const share = this.factor(subscriptionId, start);
    const bucketMs = requestsPerSecond >= 1 ? 1000 : Math.ceil(1000 / requestsPerSecond);
    const slots = requestsPerSecond >= 1 ? Math.floor(requestsPerSecond) : 1;
    // Even spacing inside the bucket, so a rate of 10/s is not 10 at once every second.
    const spacing = bucketMs / slots;
    const latest = start + maxWaitMs;
    for (let bucket = Math.floor(start / bucketMs); bucket <= Math.floor(latest / bucketMs); bucket++) {
      const hint = this.hints.get(subscriptionId);
      const until = (bucket + 1) * bucketMs;
      for (let slot = hint && hint.bucket === bucket ? hint.slot : 0; slot < slots; slot++) {
        const at = bucket * bucketMs + Math.floor((slot * bucketMs) / slots);
        if (at > latest) break;
        if (!within(share, bucket * slots + slot)) continue;
        // Slots already past are capacity that went unused; taking them now would burst.
        const now = this.clock.now();
        if (now - at > LATE_MS || now >= until) {
          slot = Math.max(slot, Math.ceil((now - bucket * bucketMs - LATE_MS) / spacing) - 1);
          continue;
        }
        if (await this.store.claimRateSlot(`${subscriptionId}:${bucketMs}`, bucket, slot)) {
          this.hints.set(subscriptionId, { bucket, slot: slot + 1 });
          const claimed = this.clock.now();
          if (claimed - at <= LATE_MS && claimed < until) return { at, until };
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

/** Whether slot number `n` of a grid is one of the evenly spread `share` (0..1] of its slots. */
function within(share: number, n: number): boolean {
  return share >= 1 || Math.floor((n + 1) * share) > Math.floor(n * share);
}
