import cron from 'node-cron';
import type { ScheduledTask } from 'node-cron';
import type { Logger } from '../core/logger';
import type { ConsoleSessions } from '../access/ports';
import type { OAuthStates } from '../integrations/ports';
import type { Retention } from './ports';

/** An OAuth state lives 10 minutes; kept an hour past expiry so a late browser still hears "expired", not "unknown". */
export const OAUTH_STATE_GRACE_MS = 60 * 60_000;

/** Deletes OAuth linking states (and their claims) an hour after they expired, hourly at :23. */
export function scheduleOAuthStatePurge(store: Pick<OAuthStates, 'purgeOAuthStatesBefore'>, logger: Logger): ScheduledTask {
  return cron.schedule('23 * * * *', () => purgeOAuthStates(store, logger, Date.now()));
}

/** One run of the OAuth state purge; never throws (the next run tries again). */
export async function purgeOAuthStates(store: Pick<OAuthStates, 'purgeOAuthStatesBefore'>, logger: Logger, now: number): Promise<number> {
  const before = new Date(now - OAUTH_STATE_GRACE_MS);
  try {
    const purged = await store.purgeOAuthStatesBefore(before);
    if (purged > 0) logger.info({ purged, before: before.toISOString() }, 'purged expired OAuth linking states');
    return purged;
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'purge of expired OAuth linking states failed; it runs again in an hour');
    return 0;
  }
}

/** Deletes console sessions once expired, hourly at :41 (an expired one is refused before then). */
export function scheduleConsoleSessionPurge(store: Pick<ConsoleSessions, 'purgeConsoleSessionsBefore'>, logger: Logger): ScheduledTask {
  return cron.schedule('41 * * * *', async () => {
    try {
      const purged = await store.purgeConsoleSessionsBefore(new Date());
      if (purged > 0) logger.info({ purged }, 'purged expired console sessions');
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'purge of expired console sessions failed; it runs again in an hour');
    }
  });
}

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

/** Deletes attempt records and delivery stats past retention, daily at 03:17 (the store has no TTL indexes to do it). */
export function schedulePurge(store: Retention, retentionDays: number, logger: Logger): ScheduledTask {
  return cron.schedule('17 3 * * *', () => purgeDeliveries(store, retentionDays, logger, Date.now()));
}

/** One run of the retention purge: attempts, and the delivery analytics kept as long. Never throws (it runs again tomorrow). */
export async function purgeDeliveries(store: Retention, retentionDays: number, logger: Logger, now: number): Promise<void> {
  const before = new Date(now - retentionDays * 86_400_000);
  try {
    const purged = await store.purgeAttemptsBefore(before);
    logger.info({ purged, before: before.toISOString() }, 'purged old delivery attempts');
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'purge of old delivery attempts failed; it runs again tomorrow');
  }
  try {
    const purged = await store.purgeDeliveryStatsBefore(before);
    logger.info({ purged, before: before.toISOString() }, 'purged old delivery analytics');
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'purge of old delivery analytics failed; it runs again tomorrow');
  }
}
