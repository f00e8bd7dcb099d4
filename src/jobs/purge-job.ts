import cron from 'node-cron';
import type { ScheduledTask } from 'node-cron';
import type { Logger } from '../core/logger';
import type { ConsoleSessions } from '../access/ports';
import type { OAuthStates } from '../integrations/ports';
import type { Plan } from '../plans/model';
import type { TenantPlans } from '../plans/ports';
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

/** Per-plan attempt retention: each plan's `attempt_retention_days`, the hub's days where a plan names none. */
export interface PlanRetention {
  /** The plan of a tenant without one of its own (HOOKHUB_DEFAULT_PLAN). */
  defaultPlan: Pick<Plan, 'name' | 'limits'>;
  plans: ReadonlyArray<Pick<Plan, 'name' | 'limits'>>;
  tenants: Pick<TenantPlans, 'listTenantsOnPlans'>;
}

/** Deletes attempt records and delivery stats past retention, daily at 03:17 (the store has no TTL indexes to do it). */
export function schedulePurge(store: Retention, retentionDays: number, logger: Logger, plans?: PlanRetention): ScheduledTask {
  return cron.schedule('17 3 * * *', () => purgeDeliveries(store, retentionDays, logger, Date.now(), plans));
}

/**
 * One run of the retention purge: attempts, and the delivery analytics. Never throws (it runs again tomorrow).
 * Attempts are kept `retentionDays` (HOOKHUB_RETENTION_DAYS), or as long as the tenant's plan says: tenants of
 * the default plan (and of plans keeping as long) in one sweep, every other tenant on its own. The analytics
 * (counters, no event's content) are kept `retentionDays` for every tenant.
 */
export async function purgeDeliveries(store: Retention, retentionDays: number, logger: Logger, now: number, plans?: PlanRetention): Promise<void> {
  const daysOf = (plan: Pick<Plan, 'limits'>): number => plan.limits.attemptRetentionDays ?? retentionDays;
  const sweepDays = plans ? daysOf(plans.defaultPlan) : retentionDays;
  try {
    const others = plans ? plans.plans.filter((p) => p.name !== plans.defaultPlan.name && daysOf(p) !== sweepDays) : [];
    const own = others.length > 0 && plans ? await plans.tenants.listTenantsOnPlans(others.map((p) => p.name)) : [];
    const daysByPlan = new Map(others.map((p) => [p.name, daysOf(p)]));
    const before = new Date(now - sweepDays * 86_400_000);
    const purged = await store.purgeAttemptsBefore(before, own.map((t) => t.tenantId));
    logger.info({ purged, before: before.toISOString() }, 'purged old delivery attempts');
    for (const { tenantId, plan } of own) {
      const days = daysByPlan.get(plan) ?? sweepDays;
      const tenantBefore = new Date(now - days * 86_400_000);
      const count = await store.purgeTenantAttemptsBefore(tenantId, tenantBefore);
      if (count > 0) logger.info({ tenantId, plan, purged: count, before: tenantBefore.toISOString() }, "purged a tenant's old delivery attempts by its plan's retention");
    }
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'purge of old delivery attempts failed; it runs again tomorrow');
  }
  const statsBefore = new Date(now - retentionDays * 86_400_000);
  try {
    const purged = await store.purgeDeliveryStatsBefore(statsBefore);
    logger.info({ purged, before: statsBefore.toISOString() }, 'purged old delivery analytics');
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'purge of old delivery analytics failed; it runs again tomorrow');
  }
}
