import cron from 'node-cron';
import type { ScheduledTask } from 'node-cron';
import { errorMessage } from '../core/errors';
import type { Logger } from '../core/logger';
import type { RelayService } from '../subscriptions/relay-service';

/**
 * Removes `hookhub listen` relays that have had no client for their keep, every minute. The process that
 * lost a client removes its relay on time itself; this sweep catches those whose process stopped first.
 */
export function scheduleRelaySweep(relays: Pick<RelayService, 'sweep'>, logger: Logger): ScheduledTask {
  return cron.schedule('* * * * *', () => sweepRelays(relays, logger));
}

/** One run of the sweep; never throws (the next run tries again). */
export async function sweepRelays(relays: Pick<RelayService, 'sweep'>, logger: Logger): Promise<number> {
  try {
    const removed = await relays.sweep();
    if (removed > 0) logger.info({ removed }, 'removed relays without a listen client for their keep');
    return removed;
  } catch (err) {
    logger.warn({ err: errorMessage(err) }, 'relay sweep failed; it runs again in a minute');
    return 0;
  }
}
