import { systemClock } from '../core/clock';
import type { Clock } from '../core/clock';
import { retryUntilStored } from '../core/retry-until-stored';
import { ExpressionLimitError } from '../core/sandbox/expression-sandbox';
import type { Logger } from '../core/logger';
import type { HubMetrics } from '../core/metrics';
import type { Broker, DeliveryJob, Handover } from '../broker/port';
import { isOperationalType } from '../events/catalog';
import type { OperationalEvents } from '../events/operational-events';
import type { DeadLetterReason, Subscription } from '../subscriptions/model';
import type { SubscriptionCache, LoadedSubscription } from '../subscriptions/subscription-cache';
import type { AttemptRecorder } from './attempt-recorder';
import type { HealthTally } from './health-tally';
import { EndpointLimiter, SATURATED } from './endpoint-limiter';
import type { SubscriptionMatcher } from './matcher';
import type { DeliveryLog } from './ports';
import { RedeliveryCheck } from './redelivery-check';
import { deadLettersOf, settlementOf } from './settle-stage';
import type { DeadLetterRecord } from './model';
import type { Settlement } from './settle-stage';
import { notSent } from './targets';
import type { Attempted, DeliveryTarget, DeliveryTargets, TargetResult } from './targets';

export interface DeliveryWorkerOptions {
  broker: Broker;
  store: DeliveryLog;
  subscriptions: SubscriptionCache;
  /** The kinds of sending, picked per subscription. */
  targets: DeliveryTargets;
  recorder: AttemptRecorder;
  /** Counts attempts towards each subscription's endpoint health. */
  health?: HealthTally;
  operational: OperationalEvents;
  metrics: HubMetrics;
  logger: Logger;
  perEndpointConcurrency: number;
  /** Most endpoints whose limiter state is kept while idle (HOOKHUB_CACHE_ENTRIES). */
  maxEndpoints?: number;
  /** Evaluates the filters the router left pending (quarantined ones). */
  matcher: SubscriptionMatcher;
  /**
   * Whether a delivery may go now under its tenant's plan: null to send, or why it is parked
   * (the monthly quota is used up and the plan pauses); absent: every delivery goes.
   */
  admission?: { admit(tenantId: string, eventType: string, attempt: number): Promise<string | null> };
  /** Called when an endpoint answers 410 Gone. */
  disableSubscription(tenantId: string, id: string, reason: string): Promise<void>;
  clock?: Clock;
}

/**
 * How the worker finished with a job: delivered (or found delivered), to be tried again later (a
 * retry or a deferral on the ladder), dead-lettered (with the dead letters' ids), or dropped
 * without an attempt (its subscription is gone, its filter does not match).
 */
export type JobEnd = { kind: 'done' } | { kind: 'later' } | { kind: 'dead'; deadLetterIds: string[] } | { kind: 'dropped' };

const DONE: JobEnd = { kind: 'done' };
const LATER: JobEnd = { kind: 'later' };
const DROPPED: JobEnd = { kind: 'dropped' };

/**
 * Handles one delivery job: one attempt through the subscription's target, its
 * record, and what follows (done, a retry on the ladder, or a dead letter).
 * Resolving means the job is finished with durably; throwing puts the job back
 * for another try.
 */
export class DeliveryWorker {
  private readonly limiter: EndpointLimiter;
  private readonly redeliveries: RedeliveryCheck;
  private readonly clock: Clock;
  /** The settlements of batch jobs under way: the first of a batch's jobs starts it, the others wait for it. */
  private readonly shared = new WeakMap<DeliveryJob, Promise<JobEnd>>();

  constructor(private readonly options: DeliveryWorkerOptions) {
    this.clock = options.clock ?? systemClock;
    this.limiter = new EndpointLimiter(options.perEndpointConcurrency, { clock: this.clock, ...(options.maxEndpoints ? { maxEndpoints: options.maxEndpoints } : {}) });
    this.redeliveries = new RedeliveryCheck(options.store);
  }

  async handle(pending: DeliveryJob, handover?: Handover): Promise<void> {
    await this.run(pending, handover);
  }

  /** Handles a job as `handle` does, and says how it finished with it (what per-key ordering needs). */
  async run(pending: DeliveryJob, handover?: Handover): Promise<JobEnd> {
    // Sent and recorded, but its message's ack was lost (broker restart, crash): receivers need it once.
    // A resend goes again on purpose, success on record or not: a repeat of it is left to the receiver's dedupe by webhook-id.
    if (handover?.redelivered === true && pending.resentFrom === undefined && (await this.redeliveries.alreadySucceeded(pending))) {
      this.options.metrics.redeliveriesSkipped.inc();
      return DONE;
    }
    const job = pending.filterPending ? await this.withFilterDecided(pending) : pending;
    if (job === null) return DROPPED;
    const loaded = await this.options.subscriptions.get(job.subscriptionId);
    if (!loaded || loaded.record.tenantId !== job.tenantId) {
      this.options.logger.info({ subscriptionId: job.subscriptionId, eventId: job.event.id }, 'subscription was deleted; delivery dropped');
      return DROPPED;
    }
    const subscription = loaded.record;
    if (!subscription.active) return this.settle(job, subscription, notSent(disabledMessage(subscription), 'subscription_disabled'));
    // The subscription's filter failed on this event for good (a sandbox limit): on record, nothing sent.
    if (job.failure) return this.settle(job, subscription, notSent(job.failure.message, 'expression_failed'));
    // Past a quota that pauses: parked as a dead letter (nothing sent), replayed on an upgrade or in the next month.
    const parked = this.options.admission ? await this.options.admission.admit(job.tenantId, job.event.type, job.attempt) : null;
    if (parked !== null) return this.settle(job, subscription, notSent(parked, 'quota_exceeded'));
    const sent = await this.sendInSlot(this.options.targets.for(loaded), job, loaded);
    if (sent.kind === 'deferred') return this.defer(job, sent.delayMs);
    if (sent.settles) return this.settleOnce(sent.settles, subscription, sent);
    this.options.metrics.deliveryDuration.observe(sent.result.durationMs / 1000);
    return this.settle(job, subscription, sent);
  }

  /** A batch's jobs share one attempt: it is settled once, and each of them resolves (or throws) with that settlement. */
  private settleOnce(batch: DeliveryJob, subscription: Subscription, attempted: Attempted): Promise<JobEnd> {
    let settling = this.shared.get(batch);
    if (!settling) {
      this.options.metrics.deliveryDuration.observe(attempted.result.durationMs / 1000);
      settling = this.settle(batch, subscription, attempted);
      this.shared.set(batch, settling);
    }
    return settling;
  }

  /**
   * A job whose filter the router left to the worker (it is quarantined): null
   * when the filter does not match, the job with its failure when the filter hit
   * a limit, else the job to send. Only this job waits for the filter.
   */
  private async withFilterDecided(job: DeliveryJob): Promise<DeliveryJob | null> {
    const { filterPending: _decided, ...rest } = job;
    const loaded = await this.options.subscriptions.get(job.subscriptionId);
    if (!loaded) return rest;
    try {
      return (await this.options.matcher.matches(loaded.record, job.event)) ? rest : null;
    } catch (err) {
      if (!(err instanceof ExpressionLimitError)) throw err;
      return { ...rest, failure: { code: err.code, message: `The subscription's filter failed on this event: ${err.message}` } };
    }
  }

  /** Sends through the target holding one of its endpoint's slots, and tells the endpoint's health how it answered. */
  private async sendInSlot(target: DeliveryTarget, job: DeliveryJob, loaded: LoadedSubscription): Promise<TargetResult> {
    const key = target.slotKey(loaded);
    if (key === null) return target.send(job, loaded);
    const sent = await this.limiter.withSlot(key, () => target.send(job, loaded), (result) => {
      // Only a request that went out says anything about the endpoint; a deferral or a refusal before sending does not.
      if (result.kind === 'attempted' && result.result.errorCode !== 'not_sent') {
        this.limiter.observe(key, result.result.durationMs, result.result.status !== null);
      }
    });
    // Move the backlog of a slow, saturated endpoint aside (to a retry tier) instead of holding shared prefetch
    // slots, for as long as the limiter says: its backlog must not cycle through the broker every second.
    return sent === SATURATED ? { kind: 'deferred', delayMs: this.limiter.deferDelayMs(key) } : sent;
  }

  /** The one way a job waits without an attempt: back to the broker for `delayMs`, with the same attempt number. */
  private async defer(job: DeliveryJob, delayMs: number): Promise<JobEnd> {
    this.options.metrics.deferred.inc();
    await this.options.broker.scheduleDelivery(job, delayMs);
    return LATER;
  }

  /** Records the attempt and carries out what follows it: a retry, a dead letter, a disabled subscription. */
  private async settle(job: DeliveryJob, subscription: Subscription, attempted: Attempted): Promise<JobEnd> {
    const settlement = settlementOf(job, subscription, attempted, this.clock);
    // Only a request that went out says anything about the endpoint; a relay is a developer's terminal, not an endpoint.
    if (attempted.result.errorCode !== 'not_sent' && subscription.kind !== 'relay') {
      this.options.health?.observe(job.tenantId, job.subscriptionId, settlement.outcome.kind === 'success', attempted.result.durationMs);
    }
    this.options.metrics.deliveries.inc({ outcome: settlement.outcome.kind === 'success' ? 'success' : settlement.attempt.next });
    const recorded = this.options.recorder.record(settlement.attempt);
    // Most attempts only need their record: no other stage is started (nor awaited) for them.
    let end: JobEnd = DONE;
    if (settlement.retryInMs !== null) {
      await Promise.all([recorded, this.retry(settlement.job, settlement.retryInMs)]);
      end = LATER;
    } else if (settlement.deadReason !== null) {
      const [, deadLetterIds] = await Promise.all([recorded, this.deadLetter(settlement, settlement.deadReason)]);
      end = { kind: 'dead', deadLetterIds };
    } else await recorded;
    if (settlement.outcome.kind === 'gone') await this.disable(settlement);
    return end;
  }

  private async retry(job: DeliveryJob, retryInMs: number): Promise<void> {
    await this.options.broker.scheduleDelivery({ ...job, attempt: job.attempt + 1 }, retryInMs);
  }

  /** Stores the dead letters of a settled job and says so; resolves with their ids. */
  private async deadLetter(settlement: Settlement, reason: DeadLetterReason): Promise<string[]> {
    const { job, attempt } = settlement;
    // A dead batch leaves a dead letter per event: each can be replayed alone, or the batch whole.
    const records = deadLettersOf(settlement, reason, this.clock);
    for (const record of records) await retryUntilStored('a dead letter', () => this.options.store.insertDeadLetter(record), this.options.logger);
    this.options.metrics.deadLetters.inc({ reason });
    await this.options.broker.publishDeadLetter(job, reason);
    const record = records[0] as DeadLetterRecord;
    const about = {
      subscription_id: job.subscriptionId,
      event_id: job.event.id,
      event_type: job.event.type,
      webhook_id: job.webhookId,
      dead_letter_id: record.id,
      ...(job.batch ? { batch_id: job.batch.id, event_ids: job.batch.events.map((e) => e.id), dead_letter_ids: records.map((r) => r.id) } : {}),
    };
    if (reason === 'expression_failed') await this.emit(job, 'webhook.expression_failed', { ...about, error: attempt.error });
    if (reason === 'retries_exhausted') {
      await this.emit(job, 'webhook.delivery_exhausted', { ...about, attempts: job.attempt, last_status: attempt.httpStatus, last_error: attempt.error });
    }
    return records.map((r) => r.id);
  }

  /** The endpoint answered 410 Gone: its subscription is disabled, and its tenant told. */
  private async disable({ job, subscription }: Settlement): Promise<void> {
    await retryUntilStored('a disabled subscription', () => this.options.disableSubscription(subscription.tenantId, subscription.id, 'endpoint answered 410 Gone'), this.options.logger);
    await this.emit(job, 'webhook.endpoint_disabled', {
      subscription_id: subscription.id,
      // Only a webhook's endpoint answers 410; an integration has none.
      endpoint_url: subscription.kind === 'webhook' ? subscription.endpointUrl : null,
      reason: 'The endpoint answered 410 Gone; the subscription was disabled.',
    });
  }

  private async emit(job: DeliveryJob, type: 'webhook.delivery_exhausted' | 'webhook.endpoint_disabled' | 'webhook.expression_failed', data: Record<string, unknown>): Promise<void> {
    // Never alert about failures to deliver alerts: that could loop forever.
    if (isOperationalType(job.event.type)) return;
    await this.options.operational.emit(job.tenantId, type, data);
  }
}

/** Why a job for a disabled subscription is dead-lettered, and how to have it delivered after all. */
function disabledMessage(subscription: Subscription): string {
  const why = subscription.disabledReason ? ` (${subscription.disabledReason})` : '';
  return `subscription is disabled${why}; re-enable it and replay the dead letter`;
}
