import type { DeliveryJob } from '../broker/port';
import type { AttemptStep } from '../connectors/attempt-step';
import type { PageRequest } from '../core/page';
import type { SentRequest } from '../transport/sent-request';
import type { EventEnvelope } from '../events/envelope';
import type { DeadLetterReason, RoutingResult } from '../subscriptions/model';

/** An event as the router stored it (the dedupe record). */
export interface StoredEvent {
  /** Dedupe key: the event id, namespaced by tenant for tenant-scoped events (see eventStoreKey). */
  key: string;
  envelope: EventEnvelope;
  /** null: a directory event anyone may subscribe to; otherwise only this tenant's subscriptions match. */
  scopeTenantId: string | null;
  receivedAt: Date;
  routedAt: Date | null;
}

/** Refused events are recorded by the intake, which owns their shape. */
export type { InvalidEventRecord } from '../events/intake';

export type AttemptStatus = 'succeeded' | 'failed';
export type AttemptNext = 'none' | 'retry' | 'dead_letter';

/** One delivery attempt, as the delivery log shows it. */
export interface AttemptRecord {
  id: string;
  tenantId: string;
  subscriptionId: string;
  eventId: string;
  eventType: string;
  webhookId: string;
  attempt: number;
  status: AttemptStatus;
  /** What happens next: nothing (success), a scheduled retry, or a dead letter. */
  next: AttemptNext;
  nextAttemptAt: Date | null;
  url: string;
  httpStatus: number | null;
  durationMs: number;
  responseHeaders: Record<string, string>;
  responseBody: string | null;
  error: string | null;
  /** Why no answer came, as the transport names it (timeout, ECONNREFUSED, not_sent, ...); null with an answer. Absent on older rows. */
  errorCode?: string | null;
  /** When the hub accepted the event (the router took it in): what the SLA's times count from. Absent on replays and older rows. */
  acceptedAt?: Date | null;
  /** Webhooks: the request as sent (secret header values masked, body cut to HOOKHUB_ATTEMPT_REQUEST_BODY_BYTES). */
  request?: SentRequest | null;
  replay: boolean;
  /** A resend of one attempt (POST /v1/attempts/:id/resend): that attempt's id. Absent otherwise. */
  resentFrom?: string | null;
  /** A test send (POST /v1/subscriptions/:id/test): shown in the log, never retried. */
  test?: boolean;
  createdAt: Date;
  /** Integrations: the id the third-party API gave what was created or updated. */
  externalId?: string | null;
  /** Integrations: each request of the attempt, with credentials masked. */
  steps?: AttemptStep[];
  /** Integrations: why nothing was sent (no trigger condition held, not qualified). */
  skipped?: string | null;
  /** Integrations with lead qualification: the score, whether it qualified, and the route taken. */
  routing?: RoutingResult | null;
  /** Batch delivery: the batch this attempt sent (eventId is its first event) and the ids of its events, in order. */
  batch?: { id: string; eventIds: string[] } | null;
}

/** A delivery that will not be retried, kept for inspection and replay. */
export interface DeadLetterRecord {
  id: string;
  tenantId: string;
  subscriptionId: string;
  eventId: string;
  eventType: string;
  webhookId: string;
  event: EventEnvelope;
  reason: DeadLetterReason;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: Date;
  replayedAt: Date | null;
  replayCount: number;
  /** Batch delivery: a dead batch leaves one dead letter per event, each naming the batch, its place in it and its size. */
  batch?: DeadBatch | null;
  /**
   * Per-key ordering: the ids of the events of its key delivered after this one died (until it is
   * replayed), oldest first, at most OVERTAKERS_KEPT. Absent on dead letters of unordered deliveries.
   */
  overtakenBy?: string[];
}

/** The most overtakers a dead letter names. */
export const OVERTAKERS_KEPT = 100;

/**
 * One subscription's lane for one ordering key, stored while it holds anything: the job being
 * retried that later jobs of the key wait for, and its dead letters still collecting overtakers.
 * Written by the one consumer of the lane's shard only.
 */
export interface OrderedLane {
  /** orderingLaneId(subscriptionId, key). */
  id: string;
  tenantId: string;
  subscriptionId: string;
  key: string;
  /** The webhook-id of the job the lane waits for (retried, or released from the backlog); null: none. */
  heldBy: string | null;
  heldSince: Date | null;
  /** The sequence number of the last job added to the backlog (backlog order). */
  tail: number;
  /** Dead letters of the lane's jobs that still collect overtakers, with how many each has. */
  dead: Array<{ id: string; overtakers: number }>;
  updatedAt: Date;
}

/** A job waiting in its lane's backlog for the job the lane is held by. */
export interface BacklogEntry {
  laneId: string;
  seq: number;
  webhookId: string;
  job: DeliveryJob;
  addedAt: Date;
}

/** Where a dead letter's event was in its dead batch. */
export interface DeadBatch {
  id: string;
  index: number;
  size: number;
}

/** A page of a tenant's attempts, optionally narrowed. */
export interface AttemptQuery extends PageRequest {
  subscriptionId?: string | undefined;
  eventId?: string | undefined;
  status?: AttemptStatus | undefined;
  eventType?: string | undefined;
  /** Attempts made at or after this time. */
  since?: Date | undefined;
  /** Attempts made before this time. */
  until?: Date | undefined;
}

/** One event's delivery to one subscription (what a webhook-id stands for). */
export interface DeliveryRef {
  tenantId: string;
  subscriptionId: string;
  eventId: string;
}

/** A page of a tenant's dead letters, optionally of one subscription. */
export interface DeadLetterQuery extends PageRequest {
  subscriptionId?: string | undefined;
}
