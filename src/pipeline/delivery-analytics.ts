import { emptyRow, addRow, histogramCount, quantile, round4, summarize } from './delivery-stats';
import type { DeliveryStatsRow, StatsResolution, StatsSummary } from './delivery-stats';
import type { SlaTargets } from './sla-targets';

/** The buckets GET /v1/analytics/deliveries answers in, and the stored rows each is summed from. */
export const INTERVALS = { minute: { ms: 60_000, rows: 'minute' }, hour: { ms: 3_600_000, rows: 'hour' }, day: { ms: 86_400_000, rows: 'hour' } } as const satisfies Record<
  string,
  { ms: number; rows: StatsResolution }
>;
export type Interval = keyof typeof INTERVALS;

/** A series holds at most this many buckets (a day of minutes, two months of hours, four years of days). */
export const MAX_BUCKETS = 1500;

export interface SeriesBucket extends StatsSummary {
  start: string;
}

/** The first bucket's start: `from` rounded down to the interval (UTC). */
export function seriesStart(from: Date, interval: Interval): Date {
  const ms = INTERVALS[interval].ms;
  return new Date(Math.floor(from.getTime() / ms) * ms);
}

/** How many buckets [from, to) spans at this interval. */
export function bucketCount(from: Date, to: Date, interval: Interval): number {
  const ms = INTERVALS[interval].ms;
  return Math.max(0, Math.ceil((to.getTime() - seriesStart(from, interval).getTime()) / ms));
}

/** Every bucket from seriesStart(from) up to `to`, empty ones included, oldest first; and the totals over them. */
export function deliverySeries(rows: readonly DeliveryStatsRow[], from: Date, to: Date, interval: Interval): { buckets: SeriesBucket[]; totals: StatsSummary } {
  const ms = INTERVALS[interval].ms;
  const first = seriesStart(from, interval).getTime();
  const count = bucketCount(from, to, interval);
  const sums: DeliveryStatsRow[] = [];
  for (let i = 0; i < count; i++) sums.push(emptyRow('', '', '', INTERVALS[interval].rows, new Date(first + i * ms)));
  const total = emptyRow('', '', '', INTERVALS[interval].rows, new Date(first));
  for (const row of rows) {
    const i = Math.floor((row.start.getTime() - first) / ms);
    const sum = sums[i];
    if (sum === undefined) continue;
    addRow(sum, row);
    addRow(total, row);
  }
  return { buckets: sums.map((s) => ({ start: s.start.toISOString(), ...summarize(s) })), totals: summarize(total) };
}

/** One subscription's (or the whole tenant's) delivery record against its SLA targets. */
export interface SlaReport {
  /** Deliveries that ended in the window: succeeded, or dead-lettered after their retries (replays not counted). */
  settled: number;
  /** Of those, how many succeeded, on whichever attempt. */
  succeeded: number;
  /** succeeded / settled; null when nothing settled. */
  successRate: number | null;
  /** From the hub accepting the event to the start of its first attempt. */
  timeToFirstAttemptMs: { p50: number; p99: number } | null;
  /** From the hub accepting the event to its successful attempt's answer, retries included. */
  timeToSuccessMs: { average: number; p50: number; p99: number } | null;
  /** Whether each target is met; null when there is nothing to judge it by. */
  meetsTargets: { successRate: boolean | null; averageTimeToDelivery: boolean | null; p99TimeToFirstAttempt: boolean | null };
}

export function slaReport(row: DeliveryStatsRow, targets: SlaTargets): SlaReport {
  const settled = row.counts.settled ?? 0;
  const succeeded = row.counts.settled_succeeded ?? 0;
  const successRate = settled === 0 ? null : round4(succeeded / settled);
  const first50 = quantile(row.firstAttempt, 0.5);
  const successes = histogramCount(row.toSuccess);
  const average = successes === 0 ? null : Math.round((row.counts.to_success_ms ?? 0) / successes);
  return {
    settled,
    succeeded,
    successRate,
    timeToFirstAttemptMs: first50 === null ? null : { p50: first50, p99: quantile(row.firstAttempt, 0.99) as number },
    timeToSuccessMs: average === null ? null : { average, p50: quantile(row.toSuccess, 0.5) as number, p99: quantile(row.toSuccess, 0.99) as number },
    meetsTargets: {
      successRate: successRate === null ? null : successRate >= targets.successRate,
      averageTimeToDelivery: average === null ? null : average < targets.averageTimeToDeliveryMs,
      // Only plans name this target; null without one, or without attempts to judge by.
      p99TimeToFirstAttempt: first50 === null || targets.p99TimeToFirstAttemptMs === undefined ? null : (quantile(row.firstAttempt, 0.99) as number) <= targets.p99TimeToFirstAttemptMs,
    },
  };
}

/** The tenant's SLA over its rows: per subscription (most settled first), and in all. */
export function slaBySubscription(tenantId: string, rows: readonly DeliveryStatsRow[], targets: SlaTargets): { tenant: SlaReport; subscriptions: Array<SlaReport & { subscriptionId: string }> } {
  const bySub = new Map<string, DeliveryStatsRow>();
  const all = emptyRow(tenantId, '', '', 'hour', new Date(0));
  for (const row of rows) {
    let sum = bySub.get(row.subscriptionId);
    if (!sum) bySub.set(row.subscriptionId, (sum = emptyRow(tenantId, row.subscriptionId, '', row.resolution, new Date(0))));
    addRow(sum, row);
    addRow(all, row);
  }
  const subscriptions = [...bySub.values()]
    .map((sum) => ({ subscriptionId: sum.subscriptionId, ...slaReport(sum, targets) }))
    .sort((a, b) => b.settled - a.settled || a.subscriptionId.localeCompare(b.subscriptionId));
  return { tenant: slaReport(all, targets), subscriptions };
}
