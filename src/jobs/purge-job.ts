import cron from 'node-cron';
import type { ScheduledTask } from 'node-cron';
import type { Logger } from '../core/logger';
import type { Retention } from './ports';

/** Deletes rate-limit slots once they are past (every minute). */
export function scheduleRateSlotPurge(store: Retention, logger: Logger): ScheduledTask {
  return cron.schedule('* * * * *', async () => {
    try {
      await store.deleteRateSlotsBefore(new Date(Date.now() - 120_000));
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'purge of old rate-limit slots failed; it runs again in a minute');
    }
  });
}

/** Deletes attempt records past retention, daily at 03:17 (the store has no TTL indexes to do it). */
export function schedulePurge(store: Retention, retentionDays: number, logger: Logger): ScheduledTask {
  return cron.schedule('17 3 * * *', async () => {
    const before = new Date(Date.now() - retentionDays * 86_400_000);
    try {
      const purged = await store.purgeAttemptsBefore(before);
      logger.info({ purged, before: before.toISOString() }, 'purged old delivery attempts');
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'purge of old delivery attempts failed; it runs again tomorrow');
    }
  });
}
