import type { TrackedRecord, TrackedState } from './tracked-record';

/** How many records reached a stage, and their deals' amounts per currency ("unknown" when the CRM named none). */
export interface StageTotals {
  count: number;
  amount: Record<string, number>;
}

/** The funnel of a set of tracked records: each stage counts the records that reached it or a later one. */
export interface Funnel {
  sent: StageTotals;
  created: StageTotals;
  converted: StageTotals;
  won: StageTotals;
  lost: StageTotals;
  /** Each stage over the one before it (created/sent, converted/created, won/converted) and won/sent; null when nothing reached the one before. */
  rates: { created: number | null; converted: number | null; won: number | null; overall: number | null };
  /** From created to converted, in seconds, over the converted records. */
  timeToConvert: { count: number; medianSeconds: number | null; meanSeconds: number | null };
}

export interface RouteFunnel extends Funnel {
  /** The lead qualification's route label; null for records sent without one. */
  route: string | null;
}

const RANK: Record<TrackedState, number> = { sent: 0, created: 1, converted: 2, won: 3, lost: 3 };

function reached(record: TrackedRecord, stage: 'created' | 'converted'): boolean {
  return RANK[record.state] >= RANK[stage];
}

function totals(records: readonly TrackedRecord[], withAmount: boolean): StageTotals {
  const amount: Record<string, number> = {};
  if (withAmount) {
    for (const r of records) {
      if (r.amount === null) continue;
      const currency = r.currency ?? 'unknown';
      amount[currency] = (amount[currency] ?? 0) + r.amount;
    }
  }
  return { count: records.length, amount };
}

function rate(part: number, whole: number): number | null {
  return whole === 0 ? null : Math.round((part / whole) * 10_000) / 10_000;
}

/** The median of numbers (the mean of the two middle ones for an even count); null for none. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** The funnel of these records: counts and amounts per stage, conversion rates, time to convert. */
export function funnelOf(records: readonly TrackedRecord[]): Funnel {
  const created = records.filter((r) => reached(r, 'created'));
  const converted = records.filter((r) => reached(r, 'converted'));
  const won = records.filter((r) => r.state === 'won');
  const lost = records.filter((r) => r.state === 'lost');
  const seconds = converted
    .filter((r) => r.convertedAt !== null)
    .map((r) => Math.max(0, ((r.convertedAt as Date).getTime() - (r.createdAt ?? r.sentAt).getTime()) / 1000));
  const mean = seconds.length === 0 ? null : seconds.reduce((a, b) => a + b, 0) / seconds.length;
  return {
    sent: totals(records, false),
    created: totals(created, false),
    converted: totals(converted, true),
    won: totals(won, true),
    lost: totals(lost, true),
    rates: {
      created: rate(created.length, records.length),
      converted: rate(converted.length, created.length),
      won: rate(won.length, converted.length),
      overall: rate(won.length, records.length),
    },
    timeToConvert: { count: seconds.length, medianSeconds: median(seconds), meanSeconds: mean === null ? null : Math.round(mean) },
  };
}

/** The funnel of each route label, by label (records without a route last). */
export function funnelsByRoute(records: readonly TrackedRecord[]): RouteFunnel[] {
  const groups = new Map<string | null, TrackedRecord[]>();
  for (const r of records) {
    const group = groups.get(r.route);
    if (group) group.push(r);
    else groups.set(r.route, [r]);
  }
  const routes = [...groups.keys()].sort((a, b) => (a === null ? 1 : b === null ? -1 : a.localeCompare(b)));
  return routes.map((route) => ({ route, ...funnelOf(groups.get(route) ?? []) }));
}
