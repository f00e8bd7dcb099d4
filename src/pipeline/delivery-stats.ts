import type { AttemptRecord } from './model';

/**
 * Delivery analytics, counted as attempts are recorded (never by reading attempts back).
 *
 * Each attempt adds to the row of its tenant, subscription, event type and minute (and, when rows
 * are written, the hour holding it): counts per outcome class, and three latency histograms with
 * fixed log-spaced buckets. Buckets being fixed, histograms of any processes and minutes merge by
 * adding counts, and a percentile read from them is off by at most one bucket's width.
 */

/** Buckets per doubling: each bucket spans a factor of 2^(1/4) ≈ 1.19. */
export const BUCKETS_PER_DOUBLING = 4;
/** The last bucket takes everything from 2^28 ms (about 3.1 days) up. */
export const LAST_BUCKET = 28 * BUCKETS_PER_DOUBLING + 1;

/** Sparse counts by bucket index: bucket 0 is [0, 1) ms, bucket i ≥ 1 is [2^((i-1)/4), 2^(i/4)) ms. */
export type Histogram = Record<number, number>;

/** The bucket a duration in milliseconds falls in. */
export function bucketOf(ms: number): number {
  if (!(ms >= 1)) return 0;
  const i = 1 + Math.floor(Math.log2(ms) * BUCKETS_PER_DOUBLING);
  return i > LAST_BUCKET ? LAST_BUCKET : i;
}

/** [lower, upper) of a bucket, in milliseconds. */
export function bucketBounds(i: number): [number, number] {
  if (i <= 0) return [0, 1];
  return [2 ** ((i - 1) / BUCKETS_PER_DOUBLING), 2 ** (i / BUCKETS_PER_DOUBLING)];
}

/**
 * The q-quantile (0 < q ≤ 1) of a histogram, as the geometric middle of the bucket holding it
 * (within a factor 2^(1/8) ≈ 1.09 of every value in that bucket), rounded to 0.1 ms; null when empty.
 */
export function quantile(h: Histogram, q: number): number | null {
  const indexes = Object.keys(h).map(Number).sort((a, b) => a - b);
  let total = 0;
  for (const i of indexes) total += h[i] ?? 0;
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (const i of indexes) {
    seen += h[i] ?? 0;
    if (seen >= rank) {
      const [lo, hi] = bucketBounds(i);
      return Math.round((i === 0 ? 0.5 : Math.sqrt(lo * hi)) * 10) / 10;
    }
  }
  return null;
}

export function histogramCount(h: Histogram): number {
  let n = 0;
  for (const k in h) n += h[k] ?? 0;
  return n;
}

export function addHistogram(into: Histogram, from: Histogram): void {
  for (const k in from) {
    const i = Number(k);
    into[i] = (into[i] ?? 0) + (from[i] ?? 0);
  }
}

/** Why an attempt failed, in the classes analytics and metrics count. */
export const FAILURE_CLASSES = ['4xx', '5xx', 'timeout', 'network', 'refused', 'other', 'not_sent'] as const;
export type FailureClass = (typeof FAILURE_CLASSES)[number];

/**
 * The class of a failed attempt: its endpoint's answer (4xx, 5xx; other: 1xx, 3xx, a 2xx the
 * target refused), or why none came (timeout, refused: the connection was refused, network: any
 * other transport error), or not_sent (nothing went out: a transform failed, the subscription was disabled).
 */
export function failureClass(a: Pick<AttemptRecord, 'httpStatus' | 'errorCode'>): FailureClass {
  const s = a.httpStatus;
  if (s !== null) return s >= 500 ? '5xx' : s >= 400 ? '4xx' : 'other';
  const code = a.errorCode;
  if (code === 'timeout') return 'timeout';
  if (code === 'ECONNREFUSED') return 'refused';
  if (code === 'not_sent') return 'not_sent';
  return 'network';
}

/** The counters of a stats row; failures by class, settled deliveries, and the sum behind the average time to success. */
export const STATS_COUNTERS = [
  'attempts',
  'succeeded',
  'failed_4xx',
  'failed_5xx',
  'failed_timeout',
  'failed_network',
  'failed_refused',
  'failed_other',
  'failed_not_sent',
  /** Deliveries that ended on this attempt (succeeded, or dead-lettered), replays not counted. */
  'settled',
  'settled_succeeded',
  /** Sum of the times from accepted to success (ms) of the deliveries in the toSuccess histogram. */
  'to_success_ms',
] as const;
export type StatsCounter = (typeof STATS_COUNTERS)[number];

const FAILED_COUNTER: Record<FailureClass, StatsCounter> = {
  '4xx': 'failed_4xx',
  '5xx': 'failed_5xx',
  timeout: 'failed_timeout',
  network: 'failed_network',
  refused: 'failed_refused',
  other: 'failed_other',
  not_sent: 'failed_not_sent',
};

export type StatsResolution = 'minute' | 'hour';
export const RESOLUTION_MS: Record<StatsResolution, number> = { minute: 60_000, hour: 3_600_000 };

/** The attempts of one tenant's subscription and event type in one minute or hour. */
export interface DeliveryStatsRow {
  tenantId: string;
  subscriptionId: string;
  eventType: string;
  resolution: StatsResolution;
  /** The start of the minute or hour (UTC). */
  start: Date;
  /** Counters that are not zero. */
  counts: Partial<Record<StatsCounter, number>>;
  /** Response time of attempts that went out. */
  latency: Histogram;
  /** From the hub accepting the event to the start of its first attempt (replays not counted). */
  firstAttempt: Histogram;
  /** From the hub accepting the event to the end of its successful attempt (replays not counted). */
  toSuccess: Histogram;
}

export interface DeliveryStatsQuery {
  resolution: StatsResolution;
  /** Rows starting in [from, to). */
  from: Date;
  to: Date;
  subscriptionId?: string | undefined;
  eventType?: string | undefined;
}

export function emptyRow(tenantId: string, subscriptionId: string, eventType: string, resolution: StatsResolution, start: Date): DeliveryStatsRow {
  return { tenantId, subscriptionId, eventType, resolution, start, counts: {}, latency: {}, firstAttempt: {}, toSuccess: {} };
}

/** Adds `from`'s counts and histograms into `into`. */
export function addRow(into: DeliveryStatsRow, from: Pick<DeliveryStatsRow, 'counts' | 'latency' | 'firstAttempt' | 'toSuccess'>): void {
  for (const k in from.counts) {
    const c = k as StatsCounter;
    into.counts[c] = (into.counts[c] ?? 0) + (from.counts[c] ?? 0);
  }
  addHistogram(into.latency, from.latency);
  addHistogram(into.firstAttempt, from.firstAttempt);
  addHistogram(into.toSuccess, from.toSuccess);
}

function bump(row: DeliveryStatsRow, counter: StatsCounter, n = 1): void {
  row.counts[counter] = (row.counts[counter] ?? 0) + n;
}

function observe(h: Histogram, ms: number): void {
  const i = bucketOf(ms);
  h[i] = (h[i] ?? 0) + 1;
}

/** What one attempt adds to analytics; test sends add nothing. Separate for the metrics, which count the same things. */
export interface AttemptFacts {
  failure: FailureClass | null;
  /** Response time; null when nothing went out. */
  latencyMs: number | null;
  /** Accepted → first attempt's start, for a first attempt of an accepted event; else null. */
  firstAttemptMs: number | null;
  /** Accepted → success, for a success of an accepted event; else null. */
  toSuccessMs: number | null;
  /** The delivery ended here (not a replay): succeeded or dead-lettered. */
  settled: boolean;
}

export function attemptFacts(a: AttemptRecord): AttemptFacts {
  const failure = a.status === 'succeeded' ? null : failureClass(a);
  const accepted = a.replay || a.acceptedAt == null ? null : a.acceptedAt.getTime();
  const end = a.createdAt.getTime();
  return {
    failure,
    latencyMs: failure === 'not_sent' ? null : a.durationMs,
    firstAttemptMs: accepted !== null && a.attempt === 1 && failure !== 'not_sent' ? Math.max(0, end - a.durationMs - accepted) : null,
    toSuccessMs: accepted !== null && failure === null ? Math.max(0, end - accepted) : null,
    settled: !a.replay && a.next !== 'retry',
  };
}

/**
 * Sums attempts into minute rows, in memory, between two writes; `rows()` adds the hour rows
 * made from them. One map lookup per attempt; nothing is kept once taken.
 */
export class StatsAccumulator {
  private readonly minutes = new Map<string, DeliveryStatsRow>();

  get size(): number {
    return this.minutes.size;
  }

  /** Adds an attempt (test sends are skipped); returns its facts, or null for a test send. */
  add(a: AttemptRecord): AttemptFacts | null {
    if (a.test === true) return null;
    const minute = a.createdAt.getTime() - (a.createdAt.getTime() % 60_000);
    const key = `${a.tenantId}\n${a.subscriptionId}\n${a.eventType}\n${minute}`;
    let row = this.minutes.get(key);
    if (row === undefined) {
      row = emptyRow(a.tenantId, a.subscriptionId, a.eventType, 'minute', new Date(minute));
      this.minutes.set(key, row);
    }
    const facts = attemptFacts(a);
    bump(row, 'attempts');
    if (facts.failure === null) bump(row, 'succeeded');
    else bump(row, FAILED_COUNTER[facts.failure]);
    if (facts.latencyMs !== null) observe(row.latency, facts.latencyMs);
    if (facts.firstAttemptMs !== null) observe(row.firstAttempt, facts.firstAttemptMs);
    if (facts.toSuccessMs !== null) {
      observe(row.toSuccess, facts.toSuccessMs);
      bump(row, 'to_success_ms', facts.toSuccessMs);
    }
    if (facts.settled) {
      bump(row, 'settled');
      if (facts.failure === null) bump(row, 'settled_succeeded');
    }
    return facts;
  }

  /** The minute rows, and the hour rows they add up to. */
  rows(): DeliveryStatsRow[] {
    const hours = new Map<string, DeliveryStatsRow>();
    for (const m of this.minutes.values()) {
      const hour = m.start.getTime() - (m.start.getTime() % 3_600_000);
      const key = `${m.tenantId}\n${m.subscriptionId}\n${m.eventType}\n${hour}`;
      let row = hours.get(key);
      if (row === undefined) {
        row = emptyRow(m.tenantId, m.subscriptionId, m.eventType, 'hour', new Date(hour));
        hours.set(key, row);
      }
      addRow(row, m);
    }
    return [...this.minutes.values(), ...hours.values()];
  }
}

/** Counts, success rate and latency percentiles of a set of rows, as the API shows them. */
export interface StatsSummary {
  attempts: number;
  succeeded: number;
  failed: Record<FailureClass, number>;
  /** succeeded / attempts; null without attempts. */
  successRate: number | null;
  latencyMs: { p50: number; p95: number; p99: number } | null;
}

export function summarize(row: Pick<DeliveryStatsRow, 'counts' | 'latency'>): StatsSummary {
  const c = (k: StatsCounter): number => row.counts[k] ?? 0;
  const failed = {} as Record<FailureClass, number>;
  for (const f of FAILURE_CLASSES) failed[f] = c(FAILED_COUNTER[f]);
  const attempts = c('attempts');
  const p50 = quantile(row.latency, 0.5);
  return {
    attempts,
    succeeded: c('succeeded'),
    failed,
    successRate: attempts === 0 ? null : round4(c('succeeded') / attempts),
    latencyMs: p50 === null ? null : { p50, p95: quantile(row.latency, 0.95) as number, p99: quantile(row.latency, 0.99) as number },
  };
}

export function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
