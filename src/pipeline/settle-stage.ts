import type { DeliveryJob } from '../broker/port';
import type { Clock } from '../core/clock';
import { newId } from '../core/ids';
import type { DeadLetterReason, Subscription } from '../subscriptions/model';
import type { Outcome } from '../transport/outcome';
import { retryDelayMs } from '../transport/retry-policy';
import type { AttemptRecord, DeadLetterRecord } from './model';
import type { Attempted } from './targets';

/**
 * What one attempt comes to, decided before anything is written: the state the
 * worker's settle stages (record, retry, dead letter, disable) each act on.
 */
export interface Settlement {
  job: DeliveryJob;
  subscription: Subscription;
  outcome: Outcome;
  attempt: AttemptRecord;
  /** The next attempt comes back after this long; null when there is none. */
  retryInMs: number | null;
  /** Why the job is dead-lettered; null when it is not. */
  deadReason: DeadLetterReason | null;
}

/** Decides what follows an attempt (done, a retry on the subscription's ladder, or a dead letter) and its record. */
export function settlementOf(job: DeliveryJob, subscription: Subscription, attempted: Attempted, clock: Clock): Settlement {
  const { result, outcome } = attempted;
  let retryInMs: number | null = null;
  let deadReason: DeadLetterReason | null = null;
  if (outcome.kind === 'retry') {
    if (job.attempt - 1 >= subscription.retryConfig.maxRetries) deadReason = 'retries_exhausted';
    // A retry sooner than the target can send would only be deferred again: it goes, and says it goes, when the target can.
    else retryInMs = Math.max(retryDelayMs(subscription.retryConfig, job.attempt, outcome.retryAfterMs), attempted.notBeforeMs ?? 0);
  } else if (outcome.kind === 'gone') deadReason = 'endpoint_gone';
  else if (outcome.kind === 'permanent') deadReason = attempted.deadReason ?? 'permanent_failure';
  const now = clock.now();
  const attempt: AttemptRecord = {
    id: newId('att'),
    tenantId: job.tenantId,
    subscriptionId: job.subscriptionId,
    eventId: job.event.id,
    eventType: job.event.type,
    webhookId: job.webhookId,
    attempt: job.attempt,
    status: outcome.kind === 'success' ? 'succeeded' : 'failed',
    next: deadReason !== null ? 'dead_letter' : retryInMs !== null ? 'retry' : 'none',
    nextAttemptAt: retryInMs === null ? null : new Date(now + retryInMs),
    // An integration's target gives the URL it called in its extras (below).
    url: subscription.kind === 'webhook' ? subscription.endpointUrl : '',
    httpStatus: result.status,
    durationMs: result.durationMs,
    responseHeaders: result.headers,
    responseBody: result.body,
    error: result.error ?? (outcome.kind === 'permanent' ? outcome.reason : null),
    errorCode: result.errorCode,
    // A resend is a replay too: a fresh series under the original webhook-id, outside the SLA's counts.
    replay: job.replayOf !== undefined || job.resentFrom !== undefined,
    createdAt: new Date(now),
  };
  if (job.resentFrom !== undefined) attempt.resentFrom = job.resentFrom;
  if (job.acceptedAt !== undefined) attempt.acceptedAt = new Date(job.acceptedAt);
  if (attempted.extras !== undefined) Object.assign(attempt, attempted.extras);
  return { job, subscription, outcome, attempt, retryInMs, deadReason };
}

/** The dead letters of a settled job: one, or for a batch one per event (same time, each with its place in the batch). */
export function deadLettersOf(settlement: Settlement, reason: DeadLetterReason, clock: Clock): DeadLetterRecord[] {
  const record = deadLetterOf(settlement, reason, clock);
  const batch = settlement.job.batch;
  if (!batch) return [record];
  return batch.events.map((event, index) => ({
    ...record,
    id: index === 0 ? record.id : newId('dl'),
    eventId: event.id,
    eventType: event.type,
    event,
    batch: { id: batch.id, index, size: batch.events.length },
  }));
}

/** The dead letter of a settled job, kept with its event so that it can be replayed. */
export function deadLetterOf({ job, attempt }: Settlement, reason: DeadLetterReason, clock: Clock): DeadLetterRecord {
  return {
    id: newId('dl'),
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
    createdAt: new Date(clock.now()),
    replayedAt: null,
    replayCount: 0,
  };
}
