import type { Clock } from '../core/clock';
import { LeasedTicker } from '../core/leased-ticker';
import type { Logger } from '../core/logger';
import type { OperationalEvents } from '../events/operational-events';
import type { Leases } from '../integrations/ports';
import type { Subscription } from '../subscriptions/model';
import type { SubscriptionRepository } from '../subscriptions/repository';
import type { HealthRecord, HealthSettings, HealthStats, StoredHealthSlice } from './health-model';
import { formatDuration, freshRecord, judge, sameVerdict } from './health-verdict';
import type { EndpointHealthLog } from './ports';

export interface HealthMonitorOptions {
  log: EndpointHealthLog;
  leases: Leases;
  subscriptions: Pick<SubscriptionRepository, 'getSubscription'>;
  /** Disables a subscription the way an operator would (active: false, with the reason shown). */
  disableSubscription(tenantId: string, id: string, reason: string): Promise<void>;
  operational: Pick<OperationalEvents, 'emit'>;
  settings: HealthSettings;
  clock: Clock;
  logger: Logger;
}

const LEASE = 'endpoint-health-monitor';

/**
 * Judges every subscription with recent attempts or a state other than healthy, on a clock:
 * one process at a time (the holder of a lease), so each change of state is written, and
 * announced, once however many processes run. Announces webhook.endpoint_degraded when a
 * subscription becomes degraded or failing, webhook.endpoint_recovered when it is healthy
 * again, and disables one failing for HOOKHUB_AUTO_DISABLE_AFTER with webhook.endpoint_disabled
 * (its deliveries then become dead letters as they come up, replayable once it is re-enabled).
 */
export class HealthMonitor {
  private readonly ticker: LeasedTicker;
  private lastPurge = 0;

  constructor(private readonly options: HealthMonitorOptions) {
    this.ticker = new LeasedTicker({
      lease: LEASE,
      ownerPrefix: 'mon',
      everyMs: options.settings.evaluateMs,
      leases: options.leases,
      logger: options.logger,
      failureMessage: 'endpoint health evaluation failed; trying again at the next one',
      run: () => this.evaluateAll(),
    });
  }

  start(): void {
    this.ticker.start();
  }

  stop(): Promise<void> {
    return this.ticker.stop();
  }

  /** One evaluation, if this process holds the lease. Returns whether it did. */
  tick(): Promise<boolean> {
    return this.ticker.tick();
  }

  private async evaluateAll(): Promise<void> {
    const { log, settings, clock } = this.options;
    const now = clock.now();
    const slices = await log.listHealthSlices(new Date(now - settings.windowMs - settings.sliceMs));
    const bySubscription = new Map<string, StoredHealthSlice[]>();
    for (const slice of slices) {
      const own = bySubscription.get(slice.subscriptionId);
      if (own) own.push(slice);
      else bySubscription.set(slice.subscriptionId, [slice]);
    }
    const records = new Map<string, HealthRecord>();
    for (const r of await log.listUnhealthyRecords()) records.set(r.subscriptionId, r);
    const unknown = [...bySubscription.keys()].filter((id) => !records.has(id));
    for (const r of await log.getHealthRecords(unknown)) records.set(r.subscriptionId, r);
    const ids = new Set([...bySubscription.keys(), ...records.keys()]);
    for (const id of ids) {
      const own = bySubscription.get(id) ?? [];
      const first = own[0];
      const previous = records.get(id) ?? (first ? freshRecord(first.tenantId, id, new Date(now)) : null);
      if (previous) await this.evaluate(previous, own, now, records.has(id));
    }
    if (now - this.lastPurge >= settings.windowMs) {
      this.lastPurge = now;
      await log.purgeHealthSlices(new Date(now - 2 * settings.windowMs - settings.sliceMs));
    }
  }

  private async evaluate(previous: HealthRecord, slices: StoredHealthSlice[], now: number, stored: boolean): Promise<void> {
    const { log } = this.options;
    if (previous.state === 'disabled') return this.afterDisabled(previous, now);
    const { record: next, stats, consecutiveFailures } = judge(previous, slices, now, this.options.settings);
    if (next.state === previous.state) {
      if (stored && sameVerdict(previous, next)) return;
      await log.saveHealthRecord(next);
      if (next.state === 'failing') await this.disableIfDue(next, now);
      return;
    }
    // A change of state: the subscription decides whether it is announced (gone: forgotten; off: disabled, quietly).
    const subscription = await this.options.subscriptions.getSubscription(previous.tenantId, previous.subscriptionId);
    if (!subscription) return log.deleteHealthRecord(previous.subscriptionId);
    if (!subscription.active) return log.saveHealthRecord({ ...next, state: 'disabled', since: new Date(now), reason: subscription.disabledReason });
    await log.saveHealthRecord(next);
    await this.announce(subscription, previous, next, stats, consecutiveFailures);
    if (next.state === 'failing') await this.disableIfDue(next, now);
  }

  /** Disabled by the monitor, by a 410 or by hand: once re-enabled, it starts again from a clean slate. */
  private async afterDisabled(previous: HealthRecord, now: number): Promise<void> {
    const subscription = await this.options.subscriptions.getSubscription(previous.tenantId, previous.subscriptionId);
    if (!subscription) return this.options.log.deleteHealthRecord(previous.subscriptionId);
    if (!subscription.active) return;
    const at = new Date(now);
    await this.options.log.saveHealthRecord({ ...previous, state: 'healthy', since: at, reason: null, failingSince: null, countFrom: at, updatedAt: at });
  }

  private async disableIfDue(record: HealthRecord, now: number): Promise<void> {
    const after = this.options.settings.autoDisableAfterMs;
    if (after === null || record.failingSince === null || now - record.failingSince.getTime() < after) return;
    const subscription = await this.options.subscriptions.getSubscription(record.tenantId, record.subscriptionId);
    if (!subscription) return this.options.log.deleteHealthRecord(record.subscriptionId);
    const reason = `every attempt failed for ${formatDuration(after)} (since ${record.failingSince.toISOString()})`;
    if (subscription.active) await this.options.disableSubscription(record.tenantId, record.subscriptionId, reason);
    const at = new Date(now);
    await this.options.log.saveHealthRecord({ ...record, state: 'disabled', since: at, reason, updatedAt: at });
    if (!subscription.active) return;
    this.options.logger.info({ subscriptionId: record.subscriptionId, tenantId: record.tenantId, failingSince: record.failingSince }, 'subscription disabled: its endpoint kept failing');
    await this.options.operational.emit(record.tenantId, 'webhook.endpoint_disabled', {
      subscription_id: record.subscriptionId,
      endpoint_url: endpointOf(subscription),
      reason: `Every attempt failed for ${formatDuration(after)} (since ${record.failingSince.toISOString()}); the subscription was disabled. Its pending deliveries become dead letters: fix the endpoint, re-enable the subscription (PATCH {"active": true}) and replay them.`,
      failing_since: record.failingSince.toISOString(),
    });
  }

  private async announce(subscription: Subscription, previous: HealthRecord, next: HealthRecord, stats: HealthStats, consecutiveFailures: number): Promise<void> {
    const about = {
      subscription_id: subscription.id,
      endpoint_url: endpointOf(subscription),
      state: next.state,
      previous_state: previous.state,
      success_rate: stats.successRate,
      p95_ms: stats.p95Ms,
      last_success_at: next.lastSuccessAt?.toISOString() ?? null,
      last_failure_at: next.lastFailureAt?.toISOString() ?? null,
    };
    this.options.logger.info({ subscriptionId: subscription.id, tenantId: subscription.tenantId, from: previous.state, to: next.state, reason: next.reason }, 'endpoint health changed');
    if (next.state === 'healthy') {
      await this.options.operational.emit(subscription.tenantId, 'webhook.endpoint_recovered', { ...about, unhealthy_since: previous.since.toISOString() });
    } else {
      await this.options.operational.emit(subscription.tenantId, 'webhook.endpoint_degraded', { ...about, reason: next.reason, consecutive_failures: consecutiveFailures });
    }
  }
}

/** A webhook's URL; an integration has none (it calls its connector's API). */
function endpointOf(subscription: Subscription): string | null {
  return subscription.kind === 'integration' ? null : subscription.kind === 'webhook' ? subscription.endpointUrl : null;
}
