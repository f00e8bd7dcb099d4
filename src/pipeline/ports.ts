import type { Page } from '../core/page';
import type { DeadLetterReason } from '../subscriptions/model';
import type { EventEnvelope } from '../events/envelope';
import type { HealthRecord, StoredHealthSlice, HealthSlice } from './health-model';
import type { AttemptQuery, AttemptRecord, BacklogEntry, DeadLetterQuery, DeadLetterRecord, DeliveryRef, OrderedLane, StoredEvent } from './model';
import type { DeliveryStatsQuery, DeliveryStatsRow } from './delivery-stats';

/** The events the router took in: the dedupe record and routed marks (refused events go to the intake's InvalidEventLog). */
export interface EventLog {
  /** Inserts a batch; per event, 'duplicate' when one with its key was stored before. */
  insertEvents(events: StoredEvent[]): Promise<Array<'inserted' | 'duplicate'>>;
  getEvent(key: string): Promise<StoredEvent | null>;
  /** Marks events routed; an event keeps the time of its first mark. */
  markEventsRouted(keys: string[], at: Date): Promise<void>;
  /**
   * The newest events of a type that a tenant's subscriptions match (directory events and the
   * tenant's own), newest received first, at most `limit`: real data to show as samples. A look,
   * not an audit: an adapter may give up a long search and return fewer (none).
   */
  recentEvents(tenantId: string, type: string, limit: number): Promise<EventEnvelope[]>;
}

/** The delivery log: every attempt made. */
export interface AttemptLog {
  /** Batch insert; unordered, so one bad row does not hold back the rest (a row already stored is skipped). */
  recordAttempts(records: AttemptRecord[]): Promise<void>;
  /** A tenant's attempts, newest first. */
  listAttempts(tenantId: string, query: AttemptQuery): Promise<Page<AttemptRecord>>;
  /** One of a tenant's attempts; null for an unknown id or another tenant's. */
  getAttempt(tenantId: string, id: string): Promise<AttemptRecord | null>;
  /**
   * For each delivery, in order, whether a successful attempt of it is on record
   * (checked before sending a redelivered job again). Sees what recordAttempts
   * stored before the call; no more.
   */
  haveSucceeded(deliveries: readonly DeliveryRef[]): Promise<boolean[]>;
  /**
   * How many of a tenant's failed attempts have a retry due after `now` (deliveries waiting in the
   * retry ladder). Served by an index on the retry time: it reads only the retries still to come.
   * A retry past its time but not yet made (its endpoint's backlog moved aside) is not counted.
   */
  countPendingRetries(tenantId: string, now: Date): Promise<number>;
}

/**
 * Delivery analytics: counters and latency histograms per tenant, subscription, event type and
 * minute or hour, added to as attempts are recorded and summed on read (delivery-stats.ts).
 * Each writer (a process) adds to rows of its own, so no two writers ever update one row: on
 * FerretDB 1.24 concurrent `$inc`s of one document lose updates.
 */
export interface DeliveryStats {
  /**
   * Adds each row's counts and histograms to the writer's stored row of the same tenant,
   * subscription, event type, resolution and start (made when missing). `writeId` names the
   * call: a retry of it with the same id and rows skips the rows it already added to. A writer
   * makes one call at a time, with increasing ids.
   */
  addDeliveryStats(writer: string, writeId: number, rows: readonly DeliveryStatsRow[]): Promise<void>;
  /**
   * A tenant's rows of a resolution starting in [from, to), optionally of one subscription or
   * event type, each summed over the writers; in no particular order.
   */
  listDeliveryStats(tenantId: string, query: DeliveryStatsQuery): Promise<DeliveryStatsRow[]>;
  /** Every tenant with a row of this resolution starting in [from, to), each once, in no particular order. */
  listDeliveryStatsTenants(query: Pick<DeliveryStatsQuery, 'resolution' | 'from' | 'to'>): Promise<string[]>;
}

/** Deliveries that will not be retried, for inspection and replay. */
export interface DeadLetters {
  /** Fails with code 11000 when the id is taken. */
  insertDeadLetter(record: DeadLetterRecord): Promise<void>;
  getDeadLetter(tenantId: string, id: string): Promise<DeadLetterRecord | null>;
  /** A tenant's dead letters, newest first. */
  listDeadLetters(tenantId: string, query: DeadLetterQuery): Promise<Page<DeadLetterRecord>>;
  /** Dead letters of one subscription created in [since, until), not yet replayed, oldest first. */
  findDeadLettersBetween(tenantId: string, subscriptionId: string, since: Date, until: Date): Promise<DeadLetterRecord[]>;
  /** Not yet replayed dead letters of these subscriptions with this reason (parked deliveries), oldest first. */
  findDeadLettersByReason(tenantId: string, subscriptionIds: string[], reason: DeadLetterReason): Promise<DeadLetterRecord[]>;
  /** The dead letters of one dead batch (every event of it, replayed or not), in batch order. */
  findDeadLettersOfBatch(tenantId: string, batchId: string): Promise<DeadLetterRecord[]>;
  /** Sets replayedAt and counts the replay. */
  markDeadLetterReplayed(tenantId: string, id: string, at: Date): Promise<void>;
  /** A tenant's dead letters not yet replayed, counted by reason (reasons with none are absent). */
  countDeadLettersByReason(tenantId: string): Promise<Partial<Record<DeadLetterReason, number>>>;
  /** Adds an event id to the overtakers of a dead letter not yet replayed (per-key ordering); none: nothing happens. */
  addOvertaker(tenantId: string, id: string, eventId: string): Promise<void>;
}

/**
 * Per-key ordering: the lanes that hold something and their backlogs. Each lane is written by the
 * one consumer of its shard, one job at a time: nothing here needs atomic read-modify-write.
 * Does NOT promise anything about concurrent writers of one lane.
 */
export interface OrderedLanes {
  getLane(id: string): Promise<OrderedLane | null>;
  /** Stores the lane, replacing its earlier state. */
  saveLane(lane: OrderedLane): Promise<void>;
  deleteLane(id: string): Promise<void>;
  /** Adds a job to its lane's backlog; a job (webhook-id) already there stays as it is. */
  addToBacklog(entry: BacklogEntry): Promise<void>;
  /** The lane's waiting job with the lowest sequence number, or null. */
  firstInBacklog(laneId: string): Promise<BacklogEntry | null>;
  removeFromBacklog(laneId: string, webhookId: string): Promise<void>;
}

/** What the delivery pipeline writes and reads about deliveries. */
export type DeliveryLog = AttemptLog & DeadLetters;

/**
 * Endpoint health: each process's attempt tallies per subscription and time slice, and the
 * monitor's verdict per subscription. Slices are written by their process only (whole documents,
 * no shared counters); verdicts by the monitor holding the endpoint-health lease. Nothing here
 * promises atomic read-modify-write.
 */
export interface EndpointHealthLog {
  /** Saves this process's slices; each replaces the process's earlier one for its subscription and slice start. */
  saveHealthSlices(processId: string, slices: readonly HealthSlice[]): Promise<void>;
  /** The slices of every process that start at or after `since`, of these subscriptions only when given. */
  listHealthSlices(since: Date, subscriptionIds?: readonly string[]): Promise<StoredHealthSlice[]>;
  /** Removes slices that started before `before`. */
  purgeHealthSlices(before: Date): Promise<void>;
  /** Saves a verdict, replacing the subscription's earlier one. */
  saveHealthRecord(record: HealthRecord): Promise<void>;
  /** The verdicts of these subscriptions, in no particular order (none for an id never judged). */
  getHealthRecords(subscriptionIds: readonly string[]): Promise<HealthRecord[]>;
  /** Every verdict whose state is not healthy. */
  listUnhealthyRecords(): Promise<HealthRecord[]>;
  /** Forgets a subscription's verdict (the subscription is gone). */
  deleteHealthRecord(subscriptionId: string): Promise<void>;
}
