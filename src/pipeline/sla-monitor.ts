import type { Clock } from '../core/clock';
import { LeasedTicker } from '../core/leased-ticker';
import { errorMessage } from '../core/errors';
import type { Logger } from '../core/logger';
import type { OperationalEvents } from '../events/operational-events';
import type { Leases } from '../integrations/ports';
import { SLA_NOTICE_PERIOD } from '../plans/model';
import type { SlaTargets } from '../plans/model';
import type { UsageCounters } from '../plans/ports';
import { addRow, emptyRow, histogramCount, quantile } from './delivery-stats';
import type { DeliveryStatsRow, StatsResolution } from './delivery-stats';
import type { DeliveryStats } from './ports';

/** How the SLA check runs (HOOKHUB_SLA_CHECK_*). */
export interface SlaCheckSettings {
  /** How often the tenants' attainment is judged. */
  intervalMs: number;
  /** The span judged each time, ending at the check. */
  windowMs: number;
  /** Fewer deliveries than this in the window (settled, or first attempts for the latency target) are not judged. */
  minDeliveries: number;
}

export interface SlaMonitorOptions {
  stats: Pick<DeliveryStats, 'listDeliveryStats' | 'listDeliveryStatsTenants'>;
  notices: Pick<UsageCounters, 'claimUsageNotice' | 'releaseUsageNotice' | 'findUsageNotices'>;
  leases: Leases;
  /** The tenant's plan and its SLA targets (the product's where the plan names none). */
  targetsOf(tenantId: string): Promise<{ plan: string; targets: SlaTargets }>;
  operational: Pick<OperationalEvents, 'emit'>;
  settings: SlaCheckSettings;
  clock: Clock;
  logger: Logger;
}

/** A target a tenant can miss, named as in the plans file and in webhook.sla_breach. */
export type SlaTargetName = 'delivery_success_percent' | 'p99_first_attempt_seconds';

/** What one tenant's deliveries achieved over a window. */
export interface SlaAttainment {
  settled: number;
  succeeded: number;
  /** Percent, two decimals; null when nothing settled. */
  deliverySuccessPercent: number | null;
  /** Seconds, three decimals; null without first attempts. */
  p99FirstAttemptSeconds: number | null;
  /** First attempts the latency figure is taken over. */
  firstAttempts: number;
}

const LEASE = 'sla-monitor';
/** Windows up to a day are read from minute rows; longer ones from hour rows. */
const MINUTE_ROWS_UP_TO_MS = 86_400_000;

/**
 * Judges each tenant's deliveries over the last window against its plan's SLA targets, on a
 * clock, one process at a time (the holder of a lease). A tenant that misses a target gets one
 * webhook.sla_breach, claimed as a usage notice so that no other process, and no later check,
 * sends it again while the breach lasts; a check that finds every target met (or too few
 * deliveries to judge) ends the breach, and the next miss is announced again.
 */
export class SlaMonitor {
  private readonly ticker: LeasedTicker;

  constructor(private readonly options: SlaMonitorOptions) {
    this.ticker = new LeasedTicker({
      lease: LEASE,
      ownerPrefix: 'sla',
      everyMs: options.settings.intervalMs,
      leases: options.leases,
      logger: options.logger,
      failureMessage: 'SLA check failed; it runs again at the next interval',
      run: () => this.check(),
    });
  }

  start(): void {
    this.ticker.start();
  }

  stop(): Promise<void> {
    return this.ticker.stop();
  }

  /** One check of every tenant with deliveries in the window or a breach open, if this process holds the lease. Returns whether it ran. */
  tick(): Promise<boolean> {
    return this.ticker.tick();
  }

  private async check(): Promise<void> {
    const { stats, notices, settings } = this.options;
    const to = new Date(this.options.clock.now());
    const resolution: StatsResolution = settings.windowMs <= MINUTE_ROWS_UP_TO_MS ? 'minute' : 'hour';
    const unit = resolution === 'minute' ? 60_000 : 3_600_000;
    const from = new Date(Math.floor((to.getTime() - settings.windowMs) / unit) * unit);
    const open = new Set((await notices.findUsageNotices('sla_breach')).filter((n) => n.period === SLA_NOTICE_PERIOD).map((n) => n.tenantId));
    const tenants = new Set([...(await stats.listDeliveryStatsTenants({ resolution, from, to })), ...open]);
    for (const tenantId of tenants) {
      try {
        const rows = await stats.listDeliveryStats(tenantId, { resolution, from, to });
        await this.judge(tenantId, attainmentOf(tenantId, rows), open.has(tenantId), from, to);
      } catch (err) {
        this.options.logger.warn({ tenantId, err: errorMessage(err) }, "a tenant's SLA check failed; it is checked again at the next interval");
      }
    }
  }

  private async judge(tenantId: string, attained: SlaAttainment, inBreach: boolean, from: Date, to: Date): Promise<void> {
    const { plan, targets } = await this.options.targetsOf(tenantId);
    const missed = missedTargets(attained, targets, this.options.settings.minDeliveries);
    if (missed.length === 0) {
      if (!inBreach) return;
      await this.options.notices.releaseUsageNotice(tenantId, SLA_NOTICE_PERIOD, 'sla_breach');
      this.options.logger.info({ tenantId, plan }, 'SLA breach over: the targets are met again');
      return;
    }
    if (!(await this.options.notices.claimUsageNotice(tenantId, SLA_NOTICE_PERIOD, 'sla_breach'))) return;
    this.options.logger.info({ tenantId, plan, missed }, 'SLA breach: a target of the plan was missed');
    await this.options.operational.emit(tenantId, 'webhook.sla_breach', {
      plan,
      missed,
      attainment: {
        delivery_success_percent: attained.deliverySuccessPercent,
        p99_first_attempt_seconds: attained.p99FirstAttemptSeconds,
        settled: attained.settled,
        succeeded: attained.succeeded,
      },
      targets: { delivery_success_percent: targets.deliverySuccessPercent, p99_first_attempt_seconds: targets.p99FirstAttemptSeconds },
      window_start: from.toISOString(),
      window_end: to.toISOString(),
    });
  }
}

/** A tenant's figures over its stats rows (any subscriptions, event types and times). */
export function attainmentOf(tenantId: string, rows: readonly DeliveryStatsRow[]): SlaAttainment {
  const sum = emptyRow(tenantId, '', '', 'minute', new Date(0));
  for (const row of rows) addRow(sum, row);
  const settled = sum.counts.settled ?? 0;
  const succeeded = sum.counts.settled_succeeded ?? 0;
  const p99 = quantile(sum.firstAttempt, 0.99);
  return {
    settled,
    succeeded,
    deliverySuccessPercent: settled === 0 ? null : Math.round((succeeded / settled) * 10_000) / 100,
    p99FirstAttemptSeconds: p99 === null ? null : Math.round(p99) / 1000,
    firstAttempts: histogramCount(sum.firstAttempt),
  };
}

/** The targets missed, judged only over at least `minDeliveries` deliveries. */
export function missedTargets(attained: SlaAttainment, targets: SlaTargets, minDeliveries: number): SlaTargetName[] {
  const missed: SlaTargetName[] = [];
  if (attained.deliverySuccessPercent !== null && attained.settled >= minDeliveries && attained.deliverySuccessPercent < targets.deliverySuccessPercent) {
    missed.push('delivery_success_percent');
  }
  const p99 = attained.p99FirstAttemptSeconds;
  if (targets.p99FirstAttemptSeconds !== null && p99 !== null && attained.firstAttempts >= minDeliveries && p99 > targets.p99FirstAttemptSeconds) {
    missed.push('p99_first_attempt_seconds');
  }
  return missed;
}
