import cron from 'node-cron';
import type { ScheduledTask } from 'node-cron';
import { systemClock } from '../core/clock';
import type { Clock } from '../core/clock';
import { errorMessage } from '../core/errors';
import type { Logger } from '../core/logger';
import { periodOf } from '../plans/model';
import type { UsageCounters } from '../plans/ports';
import type { QuotaMeter } from '../plans/quota-meter';

export interface QuotaResumeOptions {
  counters: Pick<UsageCounters, 'findUsageNotices' | 'releaseUsageNotice'>;
  meter: Pick<QuotaMeter, 'pausedNow' | 'forget'>;
  /** Replays the tenant's deliveries parked by the quota; how many there were. */
  resume(tenantId: string): Promise<number>;
  logger: Logger;
  clock?: Clock;
}

/**
 * Deliveries parked because a tenant's monthly quota was used up go out again once the
 * tenant is no longer past it: at once after a plan change (the process that made it calls
 * `resumeTenant`), and within a minute in a new month or after a change made elsewhere (the
 * jobs role's sweep of the tenants marked paused).
 */
export class QuotaResume {
  private readonly clock: Clock;

  constructor(private readonly options: QuotaResumeOptions) {
    this.clock = options.clock ?? systemClock;
  }

  schedule(): ScheduledTask {
    return cron.schedule('* * * * *', () => void this.sweep());
  }

  /** Resumes the tenant's parked deliveries unless it is still past a quota that pauses; how many were resumed. */
  async resumeTenant(tenantId: string): Promise<number> {
    this.options.meter.forget(tenantId);
    if (await this.options.meter.pausedNow(tenantId)) return 0;
    // Released first: a delivery parked again while resuming marks the tenant paused anew.
    await this.options.counters.releaseUsageNotice(tenantId, periodOf(this.clock.now()), 'paused');
    return this.options.resume(tenantId);
  }

  /** One run over every tenant marked paused; never throws (the next run tries again). */
  async sweep(): Promise<number> {
    let resumed = 0;
    try {
      const current = periodOf(this.clock.now());
      const paused = await this.options.counters.findUsageNotices('paused');
      for (const { tenantId, period } of paused) {
        if (period < current) await this.options.counters.releaseUsageNotice(tenantId, period, 'paused');
      }
      for (const tenantId of new Set(paused.map((p) => p.tenantId))) resumed += await this.resumeTenant(tenantId);
    } catch (err) {
      this.options.logger.warn({ err: errorMessage(err) }, 'resuming deliveries parked by the quota failed; the sweep runs again in a minute');
    }
    return resumed;
  }
}
