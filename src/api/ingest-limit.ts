import { systemClock } from '../core/clock';
import type { Clock } from '../core/clock';
import { HubError } from '../core/errors';

export interface IngestLimiterOptions {
  /** Events a second this tenant may publish (its plan's, or the hub's HOOKHUB_INGEST_RATE_LIMIT). */
  rateFor(tenantId: string): Promise<number>;
  /** Most tenants tracked at once (the one idle longest is dropped first: it starts again with a full bucket). */
  maxTenants: number;
  clock?: Clock;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * The publishing limit, apart from the management API's: events a second per tenant, as a
 * token bucket holding one second's worth (so a burst of that many goes at once, then the
 * rate). A batch takes one token per event. The buckets live in this process: with several
 * API processes behind a balancer each allows the rate.
 */
export class IngestLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly clock: Clock;

  constructor(private readonly options: IngestLimiterOptions) {
    this.clock = options.clock ?? systemClock;
  }

  /** Takes up to `wanted` events' worth now: how many may go, the rate, and when the next one may. */
  async take(tenantId: string, wanted: number): Promise<{ granted: number; rate: number; retryAfterSeconds: number }> {
    const rate = await this.options.rateFor(tenantId);
    const now = this.clock.now();
    let bucket = this.buckets.get(tenantId);
    if (!bucket) {
      if (this.buckets.size >= this.options.maxTenants) {
        const oldest = this.buckets.keys().next();
        if (!oldest.done) this.buckets.delete(oldest.value);
      }
      bucket = { tokens: rate, at: now };
    } else {
      bucket.tokens = Math.min(rate, bucket.tokens + ((now - bucket.at) / 1000) * rate);
      bucket.at = now;
      this.buckets.delete(tenantId);
    }
    this.buckets.set(tenantId, bucket);
    const granted = Math.max(0, Math.min(wanted, Math.floor(bucket.tokens)));
    bucket.tokens -= granted;
    const retryAfterSeconds = Math.max(1, Math.ceil((1 - bucket.tokens) / rate));
    return { granted, rate, retryAfterSeconds };
  }
}

/** The 429 of a publish beyond the rate. */
export function ingestRateLimited(rate: number, retryAfterSeconds: number): HubError {
  return new HubError(
    'ingest_rate_limited',
    `This tenant published more than ${rate} events a second, its plan's publishing rate. Wait ${retryAfterSeconds} s (Retry-After) and publish again, spread events out, or use POST /v1/events/batch.`,
    { status: 429, details: { eventsPerSecond: rate, retryAfterSeconds } },
  );
}
