import type { Logger } from './logger';

/**
 * Retries a write that must land (a dead letter after the request was already
 * sent, say) with backoff, so a store outage delays it instead of making the
 * caller redo work that has side effects. Gives up, rethrowing, after `maxWaitMs`.
 */
export async function persist<T>(what: string, write: () => Promise<T>, logger: Logger, maxWaitMs = 10 * 60_000): Promise<T> {
  const deadline = Date.now() + maxWaitMs;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await write();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      logger.warn({ err: (err as Error).message, attempt }, `cannot store ${what} yet; retrying`);
      await new Promise((r) => setTimeout(r, Math.min(10_000, 200 * 2 ** Math.min(attempt, 6))));
    }
  }
}
