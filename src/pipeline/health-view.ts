import type { Clock } from '../core/clock';
import type { HealthRecord, HealthSettings, HealthState } from './health-model';
import { statsOf } from './health-model';
import { windowSlices } from './health-verdict';
import type { EndpointHealthLog } from './ports';

/** What the API shows of a subscription's health. */
export interface HealthView {
  state: HealthState;
  since: string;
  reason: string | null;
  /** Over the window (from the end of the last outage on); null without attempts. */
  successRate: number | null;
  p95Ms: number | null;
  attempts: number;
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
}

/** The subscription fields the view depends on. */
export interface HealthSubject {
  id: string;
  tenantId: string;
  active: boolean;
  disabledReason: string | null;
  createdAt: Date;
  updatedAt: Date;
}

function later(a: Date | null, b: Date | null): Date | null {
  if (a === null) return b;
  if (b === null) return a;
  return a >= b ? a : b;
}

/**
 * Reads subscriptions' health for the API: the monitor's state, and rate, p95 and last
 * success/failure fresh from the slices (two queries for a whole page of subscriptions).
 */
export class HealthReader {
  constructor(
    private readonly log: Pick<EndpointHealthLog, 'getHealthRecords' | 'listHealthSlices'>,
    private readonly settings: HealthSettings,
    private readonly clock: Clock,
  ) {}

  async views(subjects: readonly HealthSubject[]): Promise<Map<string, HealthView>> {
    const ids = subjects.map((s) => s.id);
    const views = new Map<string, HealthView>();
    if (ids.length === 0) return views;
    const now = this.clock.now();
    const [records, slices] = await Promise.all([this.log.getHealthRecords(ids), this.log.listHealthSlices(new Date(now - this.settings.windowMs), ids)]);
    for (const subject of subjects) {
      const found = records.find((r) => r.subscriptionId === subject.id && r.tenantId === subject.tenantId) ?? null;
      const own = slices.filter((s) => s.subscriptionId === subject.id && s.tenantId === subject.tenantId);
      const stats = statsOf(windowSlices(own, found, now, this.settings));
      let lastSuccessAt = found?.lastSuccessAt ?? null;
      let lastFailureAt = found?.lastFailureAt ?? null;
      for (const s of own) {
        lastSuccessAt = later(lastSuccessAt, s.lastSuccessAt);
        lastFailureAt = later(lastFailureAt, s.lastFailureAt);
      }
      const { state, since, reason } = stateOf(subject, found);
      views.set(subject.id, {
        state,
        since: since.toISOString(),
        reason,
        successRate: stats.successRate === null ? null : Math.round(stats.successRate * 10_000) / 10_000,
        p95Ms: stats.p95Ms,
        attempts: stats.attempts,
        lastSuccessAt: lastSuccessAt?.toISOString() ?? null,
        lastFailureAt: lastFailureAt?.toISOString() ?? null,
      });
    }
    return views;
  }
}

/** A subscription switched off is disabled whatever the monitor last said; one switched on again is healthy until judged. */
function stateOf(subject: HealthSubject, record: HealthRecord | null): { state: HealthState; since: Date; reason: string | null } {
  if (!subject.active) return { state: 'disabled', since: record?.state === 'disabled' ? record.since : subject.updatedAt, reason: subject.disabledReason };
  if (record === null) return { state: 'healthy', since: subject.createdAt, reason: null };
  if (record.state === 'disabled') return { state: 'healthy', since: subject.updatedAt, reason: null };
  return record;
}
