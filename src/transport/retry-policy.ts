/** How a subscription's failed deliveries are retried. */
export interface RetryConfig {
  maxRetries: number;
  initialDelaySeconds: number;
  backoffMultiplier: number;
  maxBackoffSeconds: number;
}

export const DEFAULT_RETRY_CONFIG: RetryConfig = Object.freeze({
  maxRetries: 8,
  initialDelaySeconds: 5,
  backoffMultiplier: 5,
  maxBackoffSeconds: 36_000,
});

/** ±20%: spreads retries of many deliveries that failed together. */
export const JITTER = 0.2;

/**
 * Delay before retry number `retry` (1 = the first retry): exponential with a
 * cap and jitter. A `Retry-After` from the endpoint replaces the computed delay
 * but is still capped by maxBackoffSeconds.
 */
export function retryDelayMs(config: RetryConfig, retry: number, retryAfterMs: number | null, random: () => number = Math.random): number {
  const capMs = config.maxBackoffSeconds * 1000;
  if (retryAfterMs !== null) return Math.min(Math.max(retryAfterMs, 0), capMs);
  const base = config.initialDelaySeconds * 1000 * config.backoffMultiplier ** (retry - 1);
  const jittered = base * (1 + (random() * 2 - 1) * JITTER);
  return Math.round(Math.min(jittered, capMs));
}

/** Parses Retry-After: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | null {
  if (value === undefined || value.trim() === '') return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}
