import type { DeliveryJob } from '../broker/port';
import type { AttemptRecord } from './model';
import type { DeadLetterReason, SubscriptionKind } from '../subscriptions/model';
import type { LoadedOf, LoadedSubscription } from '../subscriptions/subscription-cache';
import { notSentResult } from '../transport/http-sender';
import type { HttpResult } from '../transport/http-sender';
import type { Outcome } from '../transport/outcome';

/** What an attempt adds to its record beyond the HTTP exchange (an integration's steps, external id, routing). */
export type AttemptExtras = Partial<Pick<AttemptRecord, 'externalId' | 'steps' | 'url' | 'skipped' | 'routing' | 'request' | 'batch'>>;

/** The target tried the job: what to record, and what follows (done, retry, dead letter) as the worker decides. */
export interface Attempted {
  kind: 'attempted';
  /** `errorCode: 'not_sent'` when nothing went out: the endpoint's health learns nothing from it. */
  result: HttpResult;
  outcome: Outcome;
  extras?: AttemptExtras;
  /** Why a permanent failure is dead-lettered; default `permanent_failure`. */
  deadReason?: DeadLetterReason;
  /** For a retry: the target sends nothing for this long (its connection's rate-limit pause), so the retry goes no earlier. */
  notBeforeMs?: number;
  /**
   * The job this attempt was made for, when it is not the one handed to `send`: a batch job carrying
   * this job's event with others. Every job of the batch gets the same object; the worker settles it
   * once (one record; its retry or dead letter carries the whole batch), and each job is finished
   * with (its message acked) only when that settlement is done.
   */
  settles?: DeliveryJob;
}

/** The target did not try the job (its own rate limit, no client connected): it comes back after `delayMs`, same attempt. */
export interface Deferred {
  kind: 'deferred';
  delayMs: number;
}

export type TargetResult = Attempted | Deferred;

/**
 * One kind of sending, between the worker and the wire. The worker looks up the
 * subscription, holds one slot of `slotKey` in the endpoint limiter around
 * `send`, feeds the answer's timing to that slot's health, and settles what
 * `send` returns: records the attempt and retries, dead-letters or defers the
 * job. A target never schedules, records or releases anything itself.
 *
 * `send` throws only for trouble that should put the job back as it is (the
 * store does not answer); anything about the delivery itself is a result.
 *
 * Targets live on the floor below the worker (webhooks/, integrations/) and do
 * not import this file: they match it by shape, and the composition root checks
 * that when it registers them.
 *
 * Batches (many jobs, one request) fit the same seam: the target takes each job
 * into a pending batch and resolves every job's `send` when the batch's request
 * answers, with that one result and `settles`, the batch job, so the batch is
 * settled (recorded, retried, dead-lettered) once; a job that finds no room
 * resolves `deferred`. Its `slotKey` is null: a slot per job would cap a batch at
 * the endpoint's few slots, so it bounds its requests (batches) in flight itself.
 * The next kinds fit too:
 * - A relay target for `hookhub listen` keys its slots by the connected client
 *   (e.g. `listen:<subscription id>`, not a URL); `send` writes the job to that
 *   client and resolves with its acknowledgement, or `deferred` while no client
 *   is connected.
 */
export interface DeliveryTarget<L extends LoadedSubscription = LoadedSubscription> {
  /**
   * What this subscription's deliveries share a concurrency limit with (an
   * endpoint's origin, a connection, a client); null: the worker holds no slot
   * per job, and the target bounds its own requests.
   */
  slotKey(subscription: L): string | null;
  send(job: DeliveryJob, subscription: L): Promise<TargetResult>;
}

/**
 * The targets of this hub by kind of subscription, registered in the
 * composition root: a new kind of sending is a new target file, a new kind in
 * the subscription model, and one `register` line, never an edit of the worker.
 */
export class DeliveryTargets {
  // Each target is stored under the kind it takes (register checks that), so `for` hands it only subscriptions of that kind.
  private readonly byKind = new Map<SubscriptionKind, DeliveryTarget<never>>();

  /** `target` takes subscriptions of `kind` only: the webhook target needs no check that it got no integration. */
  register<K extends SubscriptionKind>(kind: K, target: DeliveryTarget<LoadedOf<K>>): this {
    if (this.byKind.has(kind)) throw new Error(`a delivery target for ${kind} subscriptions is registered already`);
    this.byKind.set(kind, target);
    return this;
  }

  /** The target for this subscription's kind; throws (the job goes back to the queue) when this hub has none for it. */
  for<L extends LoadedSubscription>(subscription: L): DeliveryTarget<L> {
    const kind = subscription.record.kind;
    const target = this.byKind.get(kind);
    if (!target) throw new Error(`no delivery target for ${kind} subscriptions in this hub`);
    return target as DeliveryTarget<L>;
  }
}

/** An attempt that sent nothing, failed for good for `reason`. */
export function notSent(reason: string, deadReason?: DeadLetterReason): Attempted {
  return {
    kind: 'attempted',
    result: notSentResult(reason),
    outcome: { kind: 'permanent', reason },
    ...(deadReason ? { deadReason } : {}),
  };
}
