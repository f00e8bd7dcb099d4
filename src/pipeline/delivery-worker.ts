import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage, UnrecoverableError } from '../core/errors';
import { newId } from '../core/ids';
import { retryUntilStored } from '../core/retry-until-stored';
import { ExpressionLimitError } from '../core/sandbox/expression-sandbox';
import type { Logger } from '../core/logger';
import type { HubMetrics } from '../core/metrics';
import type { Broker, DeliveryJob, Handover } from '../broker/port';
import { isOperationalType } from '../events/catalog';
import type { DeadLetterReason, Store, AttemptRecord } from '../store/port';
import type { SubscriptionCache, LoadedSubscription } from '../subscriptions/subscription-cache';
import type { SubscriptionMatcher } from './matcher';
import type { IntegrationDeliverer, IntegrationDelivery } from '../integrations/integration-target';
import type { AttemptRecorder } from './attempt-recorder';
import { EndpointLimiter, endpointKey } from './endpoint-limiter';
import type { HttpResult, HttpSender, SendOptions } from '../transport/http-sender';
import type { OperationalEvents } from '../events/operational-events';
import { classify } from '../transport/outcome';
import type { Outcome } from '../transport/outcome';
import type { PayloadBuilder } from '../webhooks/payload';
import { RedeliveryCheck } from './redelivery-check';
import { retryDelayMs } from '../transport/retry-policy';
import { SubscriptionRateLimiter } from '../webhooks/subscription-rate-limiter';
import { buildWebhookRequest } from '../webhooks/webhook-request';

export interface DeliveryWorkerOptions {
  broker: Broker;
  store: Store;
  subscriptions: SubscriptionCache;
  sender: HttpSender;
  payloads: PayloadBuilder;
  recorder: AttemptRecorder;
  operational: OperationalEvents;
  metrics: HubMetrics;
  logger: Logger;
  perEndpointConcurrency: number;
  /** Evaluates the filters the router left pending (quarantined ones). */
  matcher: SubscriptionMatcher;
  /** Runs connector actions for integrations. */
  integrations: IntegrationDeliverer;
  /** Called when an endpoint answers 410 Gone. */
  disableSubscription(tenantId: string, id: string, reason: string): Promise<void>;
}

/** How long a job waits when its subscription's rate limit has no room. */
const DEFER_MS = 1000;
/** The longest a job holds its place waiting for its subscription's rate limit before going back to the queue. */
const RATE_WAIT_MS = 2000;

/**
 * Handles one delivery job: one HTTP attempt, its record, and what follows
 * (done, a retry on the ladder, or a dead letter). Resolving means the job is
 * finished with durably; throwing puts the job back for another try.
 */
export class DeliveryWorker {
  private readonly limiter: EndpointLimiter;
  private readonly rates: SubscriptionRateLimiter;
  private readonly redeliveries: RedeliveryCheck;

  constructor(private readonly o: DeliveryWorkerOptions) {
    this.limiter = new EndpointLimiter(o.perEndpointConcurrency);
    this.rates = new SubscriptionRateLimiter(o.store);
    this.redeliveries = new RedeliveryCheck(o.store);
  }

  async handle(pending: DeliveryJob, handover: Handover = { redelivered: false }): Promise<void> {
    // Sent and recorded, but its message's ack was lost (broker restart, crash): receivers need it once.
    if (handover.redelivered && (await this.redeliveries.alreadySucceeded(pending))) {
      this.o.metrics.redeliveriesSkipped.inc();
      return;
    }
    const job = await this.withFilterDecided(pending);
    if (job === null) return;
    const loaded = await this.o.subscriptions.get(job.subscriptionId);
    if (!loaded || loaded.record.tenantId !== job.tenantId) {
      this.o.logger.info({ subscriptionId: job.subscriptionId, eventId: job.event.id }, 'subscription was deleted; delivery dropped');
      return;
    }
    if (!loaded.record.active) {
      const error = `subscription is disabled${loaded.record.disabledReason ? ` (${loaded.record.disabledReason})` : ''}; re-enable it and replay the dead letter`;
      await this.recordAndSettle(job, loaded, failedWithoutRequest(error), { kind: 'permanent', reason: error }, 'subscription_disabled');
      return;
    }
    if (job.failure) {
      // The subscription's filter failed on this event for good (a sandbox limit): on record, nothing sent.
      await this.recordAndSettle(job, loaded, failedWithoutRequest(job.failure.message), { kind: 'permanent', reason: job.failure.message }, 'expression_failed');
      return;
    }
    const integration = loaded.record.integration;
    const key = integration ? `connection:${integration.connectionId}` : endpointKey(loaded.record.endpointUrl);
    if (!(await this.limiter.acquire(key))) {
      // Move the backlog of a slow, saturated endpoint aside (to a retry tier) instead of holding shared prefetch
      // slots, for as long as the limiter says: its backlog must not cycle through the broker every second.
      this.o.metrics.deferred.inc();
      await this.o.broker.scheduleDelivery(job, this.limiter.deferDelayMs(key));
      return;
    }
    if (integration) {
      let delivery: IntegrationDelivery;
      try {
        delivery = await this.o.integrations.deliver(job, loaded.record);
        if (delivery.kind === 'done') this.limiter.observe(key, delivery.result.durationMs, delivery.result.status !== null);
      } finally {
        this.limiter.release(key);
      }
      if (delivery.kind === 'defer') {
        this.o.metrics.deferred.inc();
        await this.o.broker.scheduleDelivery(job, delivery.delayMs);
        return;
      }
      this.o.metrics.deliveryDuration.observe(delivery.result.durationMs / 1000);
      const { externalId, steps, url, skipped, routing } = delivery;
      await this.recordAndSettle(job, loaded, delivery.result, delivery.outcome, delivery.deadReason ?? 'permanent_failure', {
        externalId,
        steps,
        url,
        skipped: skipped ?? null,
        routing: routing ?? null,
      });
      return;
    }
    const rate = loaded.record.rateLimit;
    if (rate) {
      // The subscription's own rate, shared by every worker: wait for a slot, or queue the job again.
      const wait = await this.rates.acquire(loaded.record.id, rate.requestsPerSecond, RATE_WAIT_MS).catch((err: unknown) => {
        this.limiter.release(key);
        throw err;
      });
      if (wait === null) {
        this.limiter.release(key);
        this.o.metrics.deferred.inc();
        await this.o.broker.scheduleDelivery(job, DEFER_MS);
        return;
      }
      if (wait > 0) await sleep(wait);
    }
    let result: HttpResult;
    let outcome: Outcome;
    let permanentReason: DeadLetterReason = 'permanent_failure';
    try {
      const request = await buildWebhookRequest(this.o.payloads, loaded.record, loaded.secrets, job.webhookId, job.event, job.attempt);
      result = await this.o.sender.send(request.url, request.headers, request.body, 'POST', sendOptions(loaded));
      this.limiter.observe(key, result.durationMs, result.status !== null);
      if (rate && result.status === 429) this.rates.slowDown(loaded.record.id);
      outcome = classify(result);
    } catch (err) {
      if (!(err instanceof UnrecoverableError)) throw err;
      result = failedWithoutRequest(errorMessage(err));
      outcome = { kind: 'permanent', reason: errorMessage(err) };
      if (err instanceof ExpressionLimitError) permanentReason = 'expression_failed';
    } finally {
      this.limiter.release(key);
    }
    this.o.metrics.deliveryDuration.observe(result.durationMs / 1000);
    await this.recordAndSettle(job, loaded, result, outcome, permanentReason);
  }

  /**
   * A job whose filter the router left to the worker (it is quarantined): null
   * when the filter does not match, the job with its failure when the filter hit
   * a limit, else the job to send. Only this job waits for the filter.
   */
  private async withFilterDecided(job: DeliveryJob): Promise<DeliveryJob | null> {
    if (!job.filterPending) return job;
    const { filterPending: _decided, ...rest } = job;
    const loaded = await this.o.subscriptions.get(job.subscriptionId);
    if (!loaded) return rest;
    try {
      return (await this.o.matcher.matches(loaded.record, job.event)) ? rest : null;
    } catch (err) {
      if (!(err instanceof ExpressionLimitError)) throw err;
      return { ...rest, failure: { code: err.code, message: `The subscription's filter failed on this event: ${err.message}` } };
    }
  }

  private async recordAndSettle(
    job: DeliveryJob,
    loaded: LoadedSubscription,
    result: HttpResult,
    outcome: Outcome,
    permanentReason: DeadLetterReason = 'permanent_failure',
    extra: Partial<Pick<AttemptRecord, 'externalId' | 'steps' | 'url' | 'skipped' | 'routing'>> = {},
  ): Promise<void> {
    const sub = loaded.record;
    const retriesUsed = job.attempt - 1;
    let next: AttemptRecord['next'] = 'none';
    let delayMs: number | null = null;
    let deadReason: DeadLetterReason | null = null;
    if (outcome.kind === 'retry') {
      if (retriesUsed >= sub.retryConfig.maxRetries) deadReason = 'retries_exhausted';
      else delayMs = retryDelayMs(sub.retryConfig, job.attempt, outcome.retryAfterMs);
    } else if (outcome.kind === 'gone') deadReason = 'endpoint_gone';
    else if (outcome.kind === 'permanent') deadReason = permanentReason;
    if (delayMs !== null) next = 'retry';
    if (deadReason !== null) next = 'dead_letter';

    this.o.metrics.deliveries.inc({ outcome: outcome.kind === 'success' ? 'success' : next });
    const attempt: AttemptRecord = {
      id: newId('att'),
      tenantId: job.tenantId,
      subscriptionId: job.subscriptionId,
      eventId: job.event.id,
      eventType: job.event.type,
      webhookId: job.webhookId,
      attempt: job.attempt,
      status: outcome.kind === 'success' ? 'succeeded' : 'failed',
      next,
      nextAttemptAt: delayMs === null ? null : new Date(Date.now() + delayMs),
      url: sub.endpointUrl,
      httpStatus: result.status,
      durationMs: result.durationMs,
      responseHeaders: result.headers,
      responseBody: result.body,
      error: result.error ?? (outcome.kind === 'permanent' ? outcome.reason : null),
      replay: job.replayOf !== undefined,
      createdAt: new Date(),
      ...extra,
    };
    const work: Array<Promise<void>> = [this.o.recorder.record(attempt)];
    if (delayMs !== null) work.push(this.o.broker.scheduleDelivery({ ...job, attempt: job.attempt + 1 }, delayMs));
    if (deadReason !== null) work.push(this.deadLetter(job, deadReason, attempt));
    await Promise.all(work);

    if (outcome.kind === 'gone') {
      await retryUntilStored('a disabled subscription', () => this.o.disableSubscription(sub.tenantId, sub.id, 'endpoint answered 410 Gone'), this.o.logger);
      await this.emit(job, 'webhook.endpoint_disabled', {
        subscription_id: sub.id,
        endpoint_url: sub.endpointUrl,
        reason: 'The endpoint answered 410 Gone; the subscription was disabled.',
      });
    }
  }

  private async deadLetter(job: DeliveryJob, reason: DeadLetterReason, attempt: AttemptRecord): Promise<void> {
    const id = newId('dl');
    const record = {
      id,
      tenantId: job.tenantId,
      subscriptionId: job.subscriptionId,
      eventId: job.event.id,
      eventType: job.event.type,
      webhookId: job.webhookId,
      event: job.event,
      reason,
      attempts: job.attempt,
      lastStatus: attempt.httpStatus,
      lastError: attempt.error,
      createdAt: new Date(),
      replayedAt: null,
      replayCount: 0,
    };
    await retryUntilStored('a dead letter', () => this.o.store.insertDeadLetter(record), this.o.logger);
    this.o.metrics.deadLetters.inc({ reason });
    await this.o.broker.publishDeadLetter(job, reason);
    const about = { subscription_id: job.subscriptionId, event_id: job.event.id, event_type: job.event.type, webhook_id: job.webhookId, dead_letter_id: id };
    if (reason === 'expression_failed') await this.emit(job, 'webhook.expression_failed', { ...about, error: attempt.error });
    if (reason === 'retries_exhausted') {
      await this.emit(job, 'webhook.delivery_exhausted', { ...about, attempts: job.attempt, last_status: attempt.httpStatus, last_error: attempt.error });
    }
  }

  private async emit(job: DeliveryJob, type: 'webhook.delivery_exhausted' | 'webhook.endpoint_disabled' | 'webhook.expression_failed', data: Record<string, unknown>): Promise<void> {
    // Never alert about failures to deliver alerts: that could loop forever.
    if (isOperationalType(job.event.type)) return;
    await this.o.operational.emit(job.tenantId, type, data);
  }
}

/** The subscription's network rules for the sender: allowed addresses and its client certificate. */
function sendOptions(loaded: LoadedSubscription): SendOptions | undefined {
  const allowedIps = loaded.record.allowedIps ?? [];
  if (allowedIps.length === 0 && !loaded.tls) return undefined;
  return { ...(allowedIps.length ? { allowedIps } : {}), ...(loaded.tls ? { tls: loaded.tls } : {}) };
}

function failedWithoutRequest(error: string): HttpResult {
  return { status: null, headers: {}, body: null, durationMs: 0, error, errorCode: 'not_sent' };
}
