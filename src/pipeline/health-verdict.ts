import { statsOf } from './health-model';
import type { HealthRecord, HealthSettings, HealthStats, StoredHealthSlice } from './health-model';

/** The state a subscription starts in before any attempt was judged (every attempt in the window counts). */
export function freshRecord(tenantId: string, subscriptionId: string, at: Date): HealthRecord {
  return { tenantId, subscriptionId, state: 'healthy', since: at, reason: null, lastSuccessAt: null, lastFailureAt: null, failingSince: null, countFrom: new Date(0), updatedAt: at };
}

/** What the slices say beyond the record: the merged memory of every process. */
interface Evidence {
  lastSuccessAt: Date | null;
  lastFailureAt: Date | null;
  /** Failures (of any process) after the last success (and the last clean slate), oldest first. */
  failuresAfterSuccess: Date[];
  /** The last attempt (by when it was sent) failed. */
  streakOpen: boolean;
}

function later(a: Date | null, b: Date | null): Date | null {
  if (a === null) return b;
  if (b === null) return a;
  return a >= b ? a : b;
}

function evidenceOf(record: HealthRecord, slices: readonly StoredHealthSlice[]): Evidence {
  let lastSuccessAt = record.lastSuccessAt;
  let lastFailureAt = record.lastFailureAt;
  // Each process's latest slice carries its whole list of failures since its own last success.
  const latest = new Map<string, StoredHealthSlice>();
  for (const slice of slices) {
    lastSuccessAt = later(lastSuccessAt, slice.lastSuccessAt);
    lastFailureAt = later(lastFailureAt, slice.lastFailureAt);
    const seen = latest.get(slice.processId);
    if (!seen || seen.sliceStart < slice.sliceStart) latest.set(slice.processId, slice);
  }
  // Failures before a clean slate (a re-enable) belong to an outage already dealt with.
  const from = later(lastSuccessAt, record.countFrom) ?? record.countFrom;
  const failuresAfterSuccess = [...latest.values()]
    .flatMap((s) => s.recentFailures)
    .filter((t) => t > from)
    .sort((a, b) => a.getTime() - b.getTime());
  return { lastSuccessAt, lastFailureAt, failuresAfterSuccess, streakOpen: lastFailureAt !== null && lastFailureAt > from };
}

/** The statistics the API shows and the monitor judges: the window, from the record's countFrom on. */
export function windowSlices<T extends { sliceStart: Date }>(slices: readonly T[], record: Pick<HealthRecord, 'countFrom'> | null, now: number, settings: HealthSettings): T[] {
  const from = Math.max(now - settings.windowMs, record?.countFrom.getTime() ?? 0);
  return slices.filter((s) => s.sliceStart.getTime() >= from);
}

/** A duration as people write it: 5 d, 15 min, 30 s. */
export function formatDuration(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000} d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}

/**
 * Judges one subscription from its last verdict and the slices of every process (a pure
 * function of its input, `now` included). Failing: `failingAfterFailures` failures in a row, or
 * failures and no success for `failingAfterMs`; it lasts until an attempt succeeds, and the
 * outage then no longer counts against the window. Degraded: at least `minAttempts` attempts in
 * the window and a success rate or p95 latency past its threshold. Disabled is the monitor's
 * business, not this function's.
 */
export function judge(record: HealthRecord, slices: readonly StoredHealthSlice[], now: number, settings: HealthSettings): { record: HealthRecord; stats: HealthStats; consecutiveFailures: number } {
  const evidence = evidenceOf(record, slices);
  const at = new Date(now);
  // A request sent after the failures the last verdict knew of succeeded.
  const succeededAgain = evidence.lastSuccessAt !== null && (record.lastFailureAt === null || evidence.lastSuccessAt > record.lastFailureAt);
  const { streakOpen } = evidence;
  let failingSince: Date | null = null;
  if (streakOpen) {
    const kept = record.failingSince !== null && (evidence.lastSuccessAt === null || record.failingSince > evidence.lastSuccessAt) ? record.failingSince : null;
    failingSince = kept ?? evidence.failuresAfterSuccess[0] ?? evidence.lastFailureAt;
  }
  const consecutiveFailures = evidence.failuresAfterSuccess.length;
  const recovering = record.state === 'failing' && succeededAgain;
  const countFrom = recovering ? at : record.countFrom;
  const stats = statsOf(windowSlices(slices, { countFrom }, now, settings));

  let reason: string | null = null;
  let state: HealthRecord['state'] = 'healthy';
  if (consecutiveFailures >= settings.failingAfterFailures) {
    reason = `The last ${consecutiveFailures} attempts failed.`;
  } else if (failingSince !== null && now - failingSince.getTime() >= settings.failingAfterMs) {
    reason = `No attempt succeeded for ${formatDuration(settings.failingAfterMs)} while attempts failed.`;
  } else if (record.state === 'failing' && !succeededAgain) {
    reason = record.reason;
  }
  if (reason !== null) state = 'failing';
  else if (stats.attempts >= settings.minAttempts && stats.successRate !== null && stats.successRate < settings.minSuccessRate) {
    state = 'degraded';
    reason = `Success rate ${Math.round(stats.successRate * 1000) / 10} % is below ${settings.minSuccessRate * 100} % over the last ${formatDuration(settings.windowMs)}.`;
  } else if (stats.attempts >= settings.minAttempts && stats.p95Ms !== null && stats.p95Ms > settings.maxP95Ms) {
    state = 'degraded';
    reason = `p95 latency ${stats.p95Ms} ms is above ${settings.maxP95Ms} ms over the last ${formatDuration(settings.windowMs)}.`;
  }
  const next: HealthRecord = {
    tenantId: record.tenantId,
    subscriptionId: record.subscriptionId,
    state,
    since: state === record.state ? record.since : at,
    reason,
    lastSuccessAt: evidence.lastSuccessAt,
    lastFailureAt: evidence.lastFailureAt,
    failingSince,
    countFrom,
    updatedAt: at,
  };
  return { record: next, stats, consecutiveFailures };
}

/** Whether a verdict says anything new (the monitor writes only then). */
export function sameVerdict(a: HealthRecord, b: HealthRecord): boolean {
  const same = (x: Date | null, y: Date | null): boolean => (x === null ? y === null : y !== null && x.getTime() === y.getTime());
  return (
    a.state === b.state &&
    a.reason === b.reason &&
    same(a.since, b.since) &&
    same(a.lastSuccessAt, b.lastSuccessAt) &&
    same(a.lastFailureAt, b.lastFailureAt) &&
    same(a.failingSince, b.failingSince) &&
    same(a.countFrom, b.countFrom)
  );
}
