import { createHash } from 'node:crypto';
import type { EventEnvelope } from '../events/envelope';

/** One event to one subscription, as it travels through the delivery queue. */
export interface DeliveryJob {
  webhookId: string;
  tenantId: string;
  subscriptionId: string;
  event: EventEnvelope;
  /** The number of the attempt this job will make, from 1. */
  attempt: number;
  /**
   * When the router took the event in (epoch ms): what the SLA's times to first attempt and to
   * success count from. Absent on replays and on jobs published before it existed.
   */
  acceptedAt?: number;
  /** Set on replays of a dead letter, so attempts of a replay are marked as such. */
  replayOf?: string;
  /** Set on a resend of one attempt (POST /v1/attempts/:id/resend): that attempt's id, carried by every attempt of the resend. */
  resentFrom?: string;
  /**
   * Set by the router when the subscription's filter hit a sandbox limit on this
   * event: the worker records the failure on the subscription instead of sending.
   */
  failure?: { code: string; message: string };
  /** Set by the router when the subscription's filter is quarantined: the worker evaluates it before sending. */
  filterPending?: boolean;
  /**
   * A batch (batch delivery): the events this job carries, sent as one request under `webhookId`;
   * `event` is the first of them. Its retries and replays carry the same events, so a batch keeps
   * its webhook-id and its contents.
   */
  batch?: JobBatch;
  /**
   * Per-key ordering: the value of the subscription's ordering key on this event. Jobs of one
   * subscription and key go through one ordered shard, one at a time (see docs/ordering.md).
   */
  ordering?: { key: string };
}

/**
 * How many ordered shards there are unless configured (HOOKHUB_ORDERED_SHARDS): every process of a
 * hub must use the same number, so that each sends a key to the same shard.
 */
export const ORDERED_SHARDS = 16;

/** A subscription's lane for one ordering key: the id its hold and backlog are stored under. */
export function orderingLaneId(subscriptionId: string, key: string): string {
  return createHash('sha256').update(subscriptionId).update('\0').update(key).digest('hex');
}

/** The ordered shard of a lane (from its id), of `shards`: a key's jobs always go through the same one. */
export function orderedShardOf(laneId: string, shards: number = ORDERED_SHARDS): number {
  return Number.parseInt(laneId.slice(0, 8), 16) % shards;
}

/** The events of a batch job, in the order sent. */
export interface JobBatch {
  id: string;
  events: EventEnvelope[];
}

export interface InboundEvent {
  body: Buffer;
  /** Set by the hub for events it publishes on a tenant's behalf (HTTP, operational events). */
  scopeTenantId: string | null;
  redelivered: boolean;
}

export interface ParkedEvent {
  body: Buffer;
  reason: string;
  problems: Array<{ path: string; message: string }>;
}

/** How a delivery job was handed to its handler. */
export interface Handover {
  /**
   * The job was handed over before and its message was not acknowledged (a broker
   * restart, a crash, a failed handler): its work may be done already.
   */
  redelivered: boolean;
}

/** A message set aside because handling it kept crashing, stalling or failing its consumer. */
export interface PoisonedMessage {
  source: 'events' | 'deliveries';
  /** How many times it was handed over without being settled. */
  deliveries: number;
  /** Where an operator finds it (a queue name). */
  parkedIn: string;
  /** What the message was about, as far as its body could be read. */
  eventId: string | null;
  eventType: string | null;
  scopeTenantId: string | null;
  /** Delivery messages: the jobs it carried. */
  jobs: DeliveryJob[];
}

/**
 * A message whose handler failed (threw on every try, or did not settle within
 * the stall timeout) or whose consumer died with it, on this many deliveries in
 * a row, is parked as poison instead of being handed over again.
 */
export const POISON_AFTER_DELIVERIES = 4;

export interface ConsumeOptions {
  prefetch: number;
  /** Told about each message parked as poison (count it, tell people); a failure here is only logged. */
  onPoisoned?: (message: PoisonedMessage) => Promise<void>;
  /**
   * Whether what handlers depend on (the store) answers. While it does not, a
   * failing handler is waited out in place and does not count toward the poison
   * limit: an outage must not turn healthy messages into poison.
   */
  dependenciesAnswer?: () => Promise<boolean>;
}

/** What the hub's queues are for; the retry ladder is one role with a queue per tier. */
export type QueueRole = 'router' | 'router_suspect' | 'deliveries' | 'deliveries_suspect' | 'retry' | 'invalid' | 'events_poison' | 'deliveries_poison' | 'dead_letters';

/** How many messages one of the hub's queues holds, as the broker tells it. */
export interface QueueDepth {
  role: QueueRole;
  /** The broker's name for the queue. */
  queue: string;
  /** Retry ladder: the delay of this tier, in seconds. */
  tierSeconds?: number;
  /** Messages waiting to be handed over. */
  ready: number;
  /** Messages handed over and not yet acknowledged; null when the broker does not say (RabbitMQ's AMQP answer has no such count). */
  unacknowledged: number | null;
  /** Consumers attached to the queue (none on the retry tiers and where messages are parked: nobody consumes those). */
  consumers: number;
}

export interface Consumer {
  cancel(): Promise<void>;
}

/**
 * The message transport. Promises: a publish resolves only once the broker has
 * the message durably (confirm); a message is redelivered unless its handler
 * resolved; a scheduled job comes back no earlier than its delay and at most
 * max(1 s, 10%) later. Does NOT promise ordering (except of the ordered shards, see
 * consumeOrderedDeliveries), exactly-once delivery, or that
 * a handler runs once per message: handlers must be idempotent.
 *
 * A handler that throws has its message put back for another try after a
 * short pause (transient trouble, e.g. the store is down). A message that keeps
 * failing, stalling or killing its consumer is parked after
 * POISON_AFTER_DELIVERIES deliveries and reported to `onPoisoned`; the others
 * keep flowing. A delivery job handed over again after its message went
 * unacknowledged comes with `redelivered: true`.
 */
export interface Broker {
  start(): Promise<void>;
  close(): Promise<void>;
  isReady(): boolean;

  publishEvent(envelope: EventEnvelope, scopeTenantId: string | null): Promise<void>;
  consumeEvents(handler: (event: InboundEvent) => Promise<void>, options: ConsumeOptions): Promise<Consumer>;
  parkInvalidEvent(event: ParkedEvent): Promise<void>;

  publishDeliveries(jobs: readonly DeliveryJob[]): Promise<void>;
  /** Publishes a job to come back after `delayMs` (the retry ladder). */
  scheduleDelivery(job: DeliveryJob, delayMs: number): Promise<void>;
  consumeDeliveries(handler: (job: DeliveryJob, handover: Handover) => Promise<void>, options: ConsumeOptions): Promise<Consumer>;
  /**
   * Consumes the ordered shards (jobs with `ordering`; publishDeliveries and scheduleDelivery send
   * them there). Each shard hands over one job at a time, in the order its jobs were published, to
   * one consumer among all processes; a job whose handler throws is handed over again before the
   * shard's next job. A job kept failing is parked as poison like any delivery. A scheduled
   * ordered job (a retry) comes back through consumeDeliveries, which hands it to its shard: a
   * worker consumes both.
   */
  consumeOrderedDeliveries(handler: (job: DeliveryJob, handover: Handover) => Promise<void>, options: ConsumeOptions): Promise<Consumer>;
  /** Copies a dead-lettered job to the dead-letter queue, for operators' tooling. */
  publishDeadLetter(job: DeliveryJob, reason: string): Promise<void>;
  /**
   * The depth of every queue of the hub (each retry tier apart), shared by all the hub's processes
   * and tenants: for operators. A snapshot, not a count to reconcile: messages move while it is read.
   */
  queueDepths(): Promise<QueueDepth[]>;
}
