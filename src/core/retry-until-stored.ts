import type { Logger } from './logger';
import { retry } from './retry';

/**
 * Retries a write that must land (a dead letter after the request was already
 * sent, say) with backoff, so a store outage delays it instead of making the
 * caller redo work that has side effects. Gives up, rethrowing, after `maxWaitMs`.
 */
export function retryUntilStored<T>(what: string, write: () => Promise<T>, logger: Logger, maxWaitMs = 10 * 60_000): Promise<T> {
  return retry(write, {
    ...STORE_RETRY,
    deadlineMs: maxWaitMs,
    onRetry: (err, attempt) => logger.warn({ err: (err as Error).message, attempt }, `cannot store ${what} yet; retrying`),
  });
}

/** The backoff of every write that must reach the store: 200 ms doubling to 10 s. */
export const STORE_RETRY = { baseMs: 200, maxMs: 10_000 } as const;
