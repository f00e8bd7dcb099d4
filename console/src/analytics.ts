import { api, isMissingRoute, listAll } from './api';
import type { Json } from './api';

/** One time bucket of deliveries, as the overview and subscription pages chart it. */
export interface Bucket {
  /** Seconds since the epoch. */
  start: number;
  attempts: number;
  succeeded: number;
  failed: number;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
}

export interface DeliveryStats {
  buckets: Bucket[];
  /** Where the numbers come from: the analytics API, or the attempts the delivery log lists. */
  source: 'analytics' | 'attempts';
  /** When from attempts: whether more attempts were in the range than were read. */
  partial: boolean;
}

export const RANGES = { '1h': 3600, '6h': 6 * 3600, '24h': 86_400, '7d': 7 * 86_400 } as const;
export type RangeName = keyof typeof RANGES;

export function intervalFor(range: RangeName): 'minute' | 'hour' | 'day' {
  return RANGES[range] <= 6 * 3600 ? 'minute' : RANGES[range] <= 86_400 ? 'hour' : 'day';
}

const STEP = { minute: 60, hour: 3600, day: 86_400 };

/**
 * Deliveries per bucket: GET /v1/analytics/deliveries where the hub has it, else computed from the
 * newest attempts of GET /v1/deliveries (at most 1,000; marked partial beyond that).
 */
export async function deliveryStats(range: RangeName, subscriptionId?: string, nowMs = Date.now()): Promise<DeliveryStats> {
  const to = new Date(nowMs);
  const from = new Date(nowMs - RANGES[range] * 1000);
  const interval = intervalFor(range);
  const sub = subscriptionId ? `&subscriptionId=${encodeURIComponent(subscriptionId)}` : '';
  try {
    const answer = await api<{ data?: Json[]; buckets?: Json[] }>('GET', `/v1/analytics/deliveries?from=${from.toISOString()}&to=${to.toISOString()}&interval=${interval}${sub}`);
    const rows = answer.data ?? answer.buckets ?? [];
    return { buckets: fill(rows.map(bucketOf), from, to, STEP[interval]), source: 'analytics', partial: false };
  } catch (err) {
    if (!isMissingRoute(err)) throw err;
  }
  const attempts = await listAll<Json>(`/v1/deliveries?${sub.slice(1)}`, 1000);
  const step = STEP[interval];
  const byBucket = new Map<number, { ok: number; failed: number; ms: number[] }>();
  let partial = attempts.more;
  for (const a of attempts.data) {
    const at = Date.parse(String(a['createdAt'])) / 1000;
    if (at < from.getTime() / 1000) {
      partial = false;
      continue;
    }
    const start = Math.floor(at / step) * step;
    const b = byBucket.get(start) ?? { ok: 0, failed: 0, ms: [] };
    if (a['status'] === 'succeeded') b.ok += 1;
    else b.failed += 1;
    if (typeof a['durationMs'] === 'number') b.ms.push(a['durationMs']);
    byBucket.set(start, b);
  }
  const buckets = [...byBucket.entries()].map(([start, b]) => ({ start, attempts: b.ok + b.failed, succeeded: b.ok, failed: b.failed, p50Ms: quantile(b.ms, 0.5), p95Ms: quantile(b.ms, 0.95), p99Ms: quantile(b.ms, 0.99) }));
  return { buckets: fill(buckets, from, to, step), source: 'attempts', partial };
}

/** Every bucket of the range, in order: empty ones count zero (and have no latency). */
function fill(buckets: Bucket[], from: Date, to: Date, step: number): Bucket[] {
  const byStart = new Map(buckets.map((b) => [b.start, b]));
  const out: Bucket[] = [];
  const first = Math.floor(from.getTime() / 1000 / step) * step;
  for (let t = first; t <= to.getTime() / 1000; t += step) {
    out.push(byStart.get(t) ?? { start: t, attempts: 0, succeeded: 0, failed: 0, p50Ms: null, p95Ms: null, p99Ms: null });
    byStart.delete(t);
  }
  // Buckets the API answered off the grid are kept, not dropped.
  return [...out, ...byStart.values()].sort((a, b) => a.start - b.start);
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Reads a bucket of the analytics API, tolerant of how failures and latencies are grouped. */
function bucketOf(row: Json): Bucket {
  const startRaw = row['start'] ?? row['bucket'] ?? row['from'] ?? row['at'];
  const start = typeof startRaw === 'number' ? startRaw : Date.parse(String(startRaw)) / 1000;
  const failedRaw = row['failed'];
  const failed = typeof failedRaw === 'number' ? failedRaw : failedRaw && typeof failedRaw === 'object' ? Object.values(failedRaw as Json).reduce<number>((s, v) => s + (num(v) ?? 0), 0) : 0;
  const latency = (row['latency'] ?? row['latencyMs'] ?? {}) as Json;
  const succeeded = num(row['succeeded']) ?? 0;
  return {
    start,
    attempts: num(row['attempts']) ?? succeeded + failed,
    succeeded,
    failed,
    p50Ms: num(row['p50Ms']) ?? num(latency['p50']) ?? num(latency['p50Ms']),
    p95Ms: num(row['p95Ms']) ?? num(latency['p95']) ?? num(latency['p95Ms']),
    p99Ms: num(row['p99Ms']) ?? num(latency['p99']) ?? num(latency['p99Ms']),
  };
}

export function quantile(values: number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? null;
}

export function successRate(buckets: Bucket[]): number | null {
  const attempts = buckets.reduce((s, b) => s + b.attempts, 0);
  return attempts === 0 ? null : buckets.reduce((s, b) => s + b.succeeded, 0) / attempts;
}

/** Health of a subscription as GET /v1/subscriptions/:id reports it (when the hub reports it). */
export interface Health {
  state: 'healthy' | 'degraded' | 'failing' | 'disabled' | string;
  since?: string | null;
  reason?: string | null;
  successRate?: number | null;
  p95Ms?: number | null;
  lastSuccessAt?: string | null;
  lastFailureAt?: string | null;
}

export function healthOf(subscription: Json): Health | null {
  const h = subscription['health'];
  return h && typeof h === 'object' ? (h as Health) : null;
}
