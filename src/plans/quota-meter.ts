import { systemClock } from '../core/clock';
import type { Clock } from '../core/clock';
import type { Logger } from '../core/logger';
import { isOperationalType } from '../events/catalog';
import type { OperationalEvents } from '../events/operational-events';
import { periodBounds, periodOf } from './model';
import type { Plan, UsageNotice } from './model';
import type { PlanBook } from './plan-book';
import type { UsageCounters } from './ports';

export interface QuotaMeterOptions {
  book: PlanBook;
  counters: UsageCounters;
  operational: Pick<OperationalEvents, 'emit'>;
  /** This process's own rows of the counters. */
  processId: string;
  /** How often counts are written to the store and every process's counts read back (HOOKHUB_USAGE_FLUSH_MS). */
  flushMs: number;
  /** Most tenants whose counts this process keeps (the oldest with nothing unwritten are dropped first). */
  maxTenants: number;
  logger: Logger;
  clock?: Clock;
}

interface TenantUsage {
  period: string;
  /** Every process's count at the last read. */
  stored: number;
  /** Counted here since that read. */
  local: number;
  /** Counted here and not written yet. */
  pending: number;
  /** Counted since the last flush: read back at the next one. */
  touched: boolean;
  /** Warning thresholds already claimed (or found claimed) by this process this period. */
  warned: Set<number>;
  pausedNoted: boolean;
}

const WARN_AT_PERCENT = [80, 95, 100] as const;

/** The hub's own usage alerts are not metered (nor paused): a tenant must hear that it is over its quota. */
function metered(eventType: string): boolean {
  return !isOperationalType(eventType) && eventType !== 'api.quota_warning';
}

/**
 * The monthly delivered-events quota. Each delivery is counted once, when its first
 * attempt is admitted (retries are not counted again; a replay is a new delivery).
 * Counts are kept in memory per tenant and written to the store every `flushMs`
 * as per-process rows, so the hot path never waits on a write, and every process
 * sees the others' counts within about that time: across N processes a tenant can
 * pass its quota by what they admit in one flush interval.
 *
 * At 80 %, 95 % and 100 % the tenant gets one `api.quota_warning` each per month
 * (claimed in the store, so once across processes). Past 100 %, a plan whose policy is
 * `pause` has new deliveries parked (dead letters with reason `quota_exceeded`), to be
 * resumed on an upgrade or in the next month; `deliver_and_flag` keeps delivering and
 * shows the tenant over quota in GET /v1/usage.
 */
export class QuotaMeter {
  private readonly tenants = new Map<string, TenantUsage>();
  private readonly loading = new Map<string, Promise<TenantUsage>>();
  private readonly clock: Clock;
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  /** Flushes and usage reads run one at a time, so a read never falls between a flush taking the counts and the store having them. */
  private turn: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: QuotaMeterOptions) {
    this.clock = options.clock ?? systemClock;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.flush(), this.options.flushMs);
    this.timer.unref();
  }

  /** Writes what is counted (shutdown). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }

  /**
   * Whether a delivery may go now: null to send it (counted when it is a first attempt),
   * or why it is parked (its tenant is past a quota whose policy is `pause`).
   */
  async admit(tenantId: string, eventType: string, attempt: number): Promise<string | null> {
    if (attempt !== 1 || !metered(eventType)) return null;
    const [{ plan }, usage] = await Promise.all([this.options.book.planOf(tenantId), this.usageOf(tenantId)]);
    const quota = plan.limits.deliveredEventsPerMonth;
    const used = usage.stored + usage.local;
    if (quota !== null && used >= quota && plan.overQuota === 'pause') {
      if (!usage.pausedNoted) {
        usage.pausedNoted = true;
        void this.claim(tenantId, usage.period, 'paused');
        this.options.logger.info({ tenantId, plan: plan.name, quota }, 'monthly delivery quota used up: deliveries parked until an upgrade or the next month');
      }
      const { end } = periodBounds(usage.period);
      return `not sent: the ${plan.name} plan's ${quota} delivered events for ${usage.period} are used up, and its policy is to pause. Parked: it is sent on an upgrade, or from ${end.toISOString()}.`;
    }
    usage.local += 1;
    usage.pending += 1;
    usage.touched = true;
    if (quota !== null) this.warnIfCrossed(tenantId, plan, usage, quota, used + 1);
    return null;
  }

  /** This month's deliveries of a tenant, every process's (this one's unwritten counts included). */
  used(tenantId: string): Promise<{ period: string; deliveries: number }> {
    return this.inTurn(async () => {
      const period = periodOf(this.clock.now());
      const stored = await this.options.counters.getUsage(tenantId, period);
      const here = this.tenants.get(tenantId);
      return { period, deliveries: stored.deliveries + (here && here.period === period ? here.pending : 0) };
    });
  }

  /** Whether the tenant is past a quota that pauses its deliveries, on every process's counts. */
  async pausedNow(tenantId: string): Promise<boolean> {
    const { plan } = await this.options.book.planOf(tenantId);
    const quota = plan.limits.deliveredEventsPerMonth;
    if (quota === null || plan.overQuota !== 'pause') return false;
    return (await this.used(tenantId)).deliveries >= quota;
  }

  /** After a plan change or at a new month: this process's view of the tenant is read again. */
  forget(tenantId: string): void {
    const usage = this.tenants.get(tenantId);
    if (usage && usage.pending === 0) this.tenants.delete(tenantId);
    else if (usage) usage.pausedNoted = false;
  }

  /** Writes the counts of this process and reads back every process's, for the tenants counted since the last flush. */
  flush(): Promise<void> {
    this.flushing ??= this.inTurn(() => this.flushNow()).finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    const run = this.turn.then(work, work);
    this.turn = run.catch(() => undefined);
    return run;
  }

  private async flushNow(): Promise<void> {
    const touched = [...this.tenants.entries()].filter(([, u]) => u.touched || u.pending > 0);
    if (touched.length === 0) return;
    const deltas = touched.filter(([, u]) => u.pending > 0).map(([tenantId, u]) => ({ tenantId, period: u.period, metric: 'deliveries' as const, count: u.pending }));
    const written = new Map(touched.map(([tenantId, u]) => [tenantId, u.pending]));
    for (const [, u] of touched) {
      u.pending = 0;
      u.touched = false;
    }
    try {
      if (deltas.length > 0) await this.options.counters.addUsage(this.options.processId, deltas);
    } catch (err) {
      for (const [tenantId, u] of touched) u.pending += written.get(tenantId) ?? 0;
      this.options.logger.warn({ err: (err as Error).message, tenants: deltas.length }, 'could not write usage counts; trying again at the next flush');
      return;
    }
    await Promise.all(
      touched.map(async ([tenantId, u]) => {
        try {
          const stored = await this.options.counters.getUsage(tenantId, u.period);
          u.stored = stored.deliveries;
          u.local = u.pending;
        } catch {
          // Read again at the next flush.
          u.touched = true;
        }
      }),
    );
  }

  private async usageOf(tenantId: string): Promise<TenantUsage> {
    const period = periodOf(this.clock.now());
    const known = this.tenants.get(tenantId);
    if (known && known.period === period) return known;
    const loading = this.loading.get(tenantId);
    if (loading) return loading;
    const load = (async () => {
      // Counts of the month that ended are written first.
      if (known && known.pending > 0) await this.flush();
      const stored = await this.options.counters.getUsage(tenantId, period);
      const usage: TenantUsage = { period, stored: stored.deliveries, local: 0, pending: 0, touched: false, warned: new Set(), pausedNoted: false };
      this.keep(tenantId, usage);
      return usage;
    })().finally(() => this.loading.delete(tenantId));
    this.loading.set(tenantId, load);
    return load;
  }

  private keep(tenantId: string, usage: TenantUsage): void {
    this.tenants.delete(tenantId);
    if (this.tenants.size >= this.options.maxTenants) {
      for (const [id, u] of this.tenants) {
        if (u.pending === 0) {
          this.tenants.delete(id);
          break;
        }
      }
    }
    this.tenants.set(tenantId, usage);
  }

  private warnIfCrossed(tenantId: string, plan: Plan, usage: TenantUsage, quota: number, used: number): void {
    for (const percent of WARN_AT_PERCENT) {
      if (usage.warned.has(percent) || used < Math.ceil((quota * percent) / 100)) continue;
      usage.warned.add(percent);
      const notice = `warned_${percent}` as UsageNotice;
      void this.claim(tenantId, usage.period, notice).then((first) => {
        if (!first) return;
        return this.options.operational.emit(tenantId, 'api.quota_warning', {
          quota_name: 'delivered_events_per_month',
          plan: plan.name,
          quota,
          used,
          threshold_percent: percent,
          period_end: periodBounds(usage.period).end.toISOString(),
          over_quota_policy: plan.overQuota,
        });
      });
    }
  }

  private async claim(tenantId: string, period: string, notice: UsageNotice): Promise<boolean> {
    try {
      return await this.options.counters.claimUsageNotice(tenantId, period, notice);
    } catch (err) {
      this.options.logger.warn({ tenantId, notice, err: (err as Error).message }, 'could not record a usage notice');
      return false;
    }
  }
}
