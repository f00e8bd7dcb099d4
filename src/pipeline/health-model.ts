/**
 * Endpoint health: what the monitor keeps per subscription (not to be confused with the
 * per-endpoint concurrency limiter of endpoint-health.ts, which lives in one process only).
 */

export type HealthState = 'healthy' | 'degraded' | 'failing' | 'disabled';

/** Upper bounds (ms) of the latency buckets, log-spaced by 1.5 from 5 ms; one more bucket holds everything above. */
export const LATENCY_BOUNDS_MS: readonly number[] = Array.from({ length: 26 }, (_, i) => Math.round(5 * 1.5 ** i));

/** The bucket of a duration. */
export function latencyBucket(durationMs: number): number {
  const i = LATENCY_BOUNDS_MS.findIndex((bound) => durationMs <= bound);
  return i === -1 ? LATENCY_BOUNDS_MS.length : i;
}

/**
 * One process's tally of one subscription's attempts in one time slice, with that process's
 * memory of the subscription as of the write (its last success and failure, and the times of
 * its failures since its last success). Each process writes only its own slices.
 */
export interface HealthSlice {
  tenantId: string;
  subscriptionId: string;
  sliceStart: Date;
  attempts: number;
  succeeded: number;
  /** Attempts per latency bucket (LATENCY_BOUNDS_MS, then one for anything slower). */
  latency: number[];
  /** When the last successful attempt was sent (attempts are ordered by when they were sent). */
  lastSuccessAt: Date | null;
  lastFailureAt: Date | null;
  /** When this process's failed attempts sent after its last success were sent, oldest first, at most the configured count. */
  recentFailures: Date[];
}

/** A slice as stored, with the process that wrote it. */
export interface StoredHealthSlice extends HealthSlice {
  processId: string;
}

/** The monitor's verdict on one subscription: one document each, written by the monitor only. */
export interface HealthRecord {
  tenantId: string;
  subscriptionId: string;
  state: HealthState;
  /** When the subscription entered this state. */
  since: Date;
  /** Why it is not healthy; null when it is. */
  reason: string | null;
  lastSuccessAt: Date | null;
  lastFailureAt: Date | null;
  /** Start of the current run of failures with no success after it; null when the last attempt seen succeeded. */
  failingSince: Date | null;
  /** Rates and latencies count attempts from here on only (the end of the last outage, or a re-enable). */
  countFrom: Date;
  updatedAt: Date;
}

/** Thresholds and timings of the monitor (HOOKHUB_HEALTH_*, HOOKHUB_AUTO_DISABLE_AFTER). */
export interface HealthSettings {
  /** The sliding window success rate and latency are judged over. */
  windowMs: number;
  /** Width of one slice of the window. */
  sliceMs: number;
  /** Fewer attempts than this in the window say nothing about rate or latency. */
  minAttempts: number;
  /** Below this success rate (0–1) over the window: degraded. */
  minSuccessRate: number;
  /** Above this p95 latency over the window: degraded. */
  maxP95Ms: number;
  /** This many failures in a row: failing. */
  failingAfterFailures: number;
  /** Failures and no success for this long: failing. */
  failingAfterMs: number;
  /** Failing continuously for this long: the subscription is disabled; null: never. */
  autoDisableAfterMs: number | null;
  /** How often each process writes its tallies. */
  flushMs: number;
  /** How often the monitor judges. */
  evaluateMs: number;
}

export const DEFAULT_HEALTH_SETTINGS: HealthSettings = {
  windowMs: 5 * 60_000,
  sliceMs: 10_000,
  minAttempts: 10,
  minSuccessRate: 0.9,
  maxP95Ms: 5000,
  failingAfterFailures: 10,
  failingAfterMs: 15 * 60_000,
  autoDisableAfterMs: 5 * 24 * 3_600_000,
  flushMs: 2000,
  evaluateMs: 10_000,
};

/** Attempts, successes and latency summed over slices. */
export interface HealthStats {
  attempts: number;
  succeeded: number;
  /** null without attempts. */
  successRate: number | null;
  p95Ms: number | null;
}

/** Sums slices (of any processes) into rate and p95; the p95 is interpolated inside its bucket. */
export function statsOf(slices: readonly HealthSlice[]): HealthStats {
  let attempts = 0;
  let succeeded = 0;
  const buckets = new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);
  for (const slice of slices) {
    attempts += slice.attempts;
    succeeded += slice.succeeded;
    slice.latency.forEach((n, i) => {
      if (i < buckets.length) buckets[i] = (buckets[i] ?? 0) + n;
    });
  }
  if (attempts === 0) return { attempts, succeeded, successRate: null, p95Ms: null };
  return { attempts, succeeded, successRate: succeeded / attempts, p95Ms: percentile(buckets, 0.95) };
}

function percentile(buckets: readonly number[], q: number): number | null {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    const n = buckets[i] ?? 0;
    if (n > 0 && seen + n >= rank) {
      const low = i === 0 ? 0 : (LATENCY_BOUNDS_MS[i - 1] ?? 0);
      // Above the last bound there is no upper edge: report the bound itself.
      const high = LATENCY_BOUNDS_MS[i] ?? low;
      return Math.round(low + ((high - low) * (rank - seen)) / n);
    }
    seen += n;
  }
  return null;
}
