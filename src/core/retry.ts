import type { Clock } from './clock';
import { systemClock } from './clock';

/** How `retry` backs off: `baseMs · 2^(n-1)`, capped at `maxMs`, for at most `tries` calls or until `deadlineMs` has passed. */
export interface RetryOptions {
  baseMs: number;
  maxMs: number;
  /** Calls in all, the first included; unbounded when absent. */
  tries?: number;
  /** Stop retrying once this long has passed since the first call; unbounded when absent. */
  deadlineMs?: number;
  /** Called before each pause: log here. Returning `false` stops retrying and rethrows the error. */
  onRetry?: (err: unknown, failures: number, pauseMs: number) => boolean | void | Promise<boolean | void>;
  clock?: Clock;
  sleep?: (ms: number) => Promise<void>;
}

/** The pause after the n-th consecutive failure (n ≥ 1). */
export function backoffMs(failures: number, options: Pick<RetryOptions, 'baseMs' | 'maxMs'>): number {
  return Math.min(options.maxMs, options.baseMs * 2 ** Math.min(failures - 1, 30));
}

const sleepFor = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Calls `fn` until it succeeds, pausing with exponential backoff between failures; rethrows the
 * last error once `tries` or `deadlineMs` is spent or `onRetry` says stop. The one retry loop of
 * the hub: every "retry until stored" and "retry a broker operation" goes through it.
 */
export async function retry<T>(fn: () => Promise<T>, options: RetryOptions): Promise<T> {
  const clock = options.clock ?? systemClock;
  const sleep = options.sleep ?? sleepFor;
  const started = clock.now();
  for (let failures = 1; ; failures += 1) {
    try {
      return await fn();
    } catch (err) {
      if (options.tries !== undefined && failures >= options.tries) throw err;
      if (options.deadlineMs !== undefined && clock.now() - started > options.deadlineMs) throw err;
      const pauseMs = backoffMs(failures, options);
      if ((await options.onRetry?.(err, failures, pauseMs)) === false) throw err;
      await sleep(pauseMs);
    }
  }
}
