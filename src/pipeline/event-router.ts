import { Batcher } from '../core/batcher';
import { webhookIdFor } from '../core/ids';
import { retryUntilStored } from '../core/retry-until-stored';
import { Turns } from '../core/turns';
import type { Turn } from '../core/turns';
import type { Logger } from '../core/logger';
import type { HubMetrics } from '../core/metrics';
import type { Broker, DeliveryJob, InboundEvent } from '../broker/port';
import { isOperationalType } from '../events/catalog';
import { eventStoreKey } from '../events/envelope';
import type { EventEnvelope } from '../events/envelope';
import type { EventIntake, IntakeRefusal, IntakeScope } from '../events/intake';
import { ExpressionLimitError } from '../core/sandbox/expression-sandbox';
import type { EventLog } from './ports';
import type { StoredEvent } from './model';
import type { SubscriptionCache } from '../subscriptions/subscription-cache';
import type { SubscriptionMatcher } from './matcher';

export interface EventRouterOptions {
  broker: Broker;
  store: EventLog;
  intake: EventIntake;
  subscriptions: SubscriptionCache;
  matcher: SubscriptionMatcher;
  metrics: HubMetrics;
  logger: Logger;
  /**
   * What the hub itself does with a directory event, besides delivering it (a plan change from
   * user.subscription_changed). Run before the event is marked routed, so a failure routes it again.
   */
  reactions?: ReadonlyArray<(envelope: EventEnvelope) => Promise<void>>;
}

/**
 * A duplicate whose first copy was stored this recently but is not routed yet
 * is probably being routed right now (or the batch that stored it is being
 * retried): wait for it. An older unrouted one was left by a crashed router:
 * route it again.
 */
const CLAIM_LEASE_MS = 30_000;

export class DuplicateInProgressError extends Error {
  constructor(key: string) {
    super(`event ${key} is being routed by another consumer; checking again shortly`);
    this.name = 'DuplicateInProgressError';
  }
}

/**
 * The router consumer: validate → dedupe by event id → store → match → one
 * delivery job per matching subscription. Stores and routed-marks are batched
 * across concurrent messages. The event is marked routed only after the broker
 * confirmed the jobs, so a crash in between routes it again (the webhook-id
 * stays the same, receivers dedupe) rather than losing it.
 */
export class EventRouter {
  private readonly inserts: Batcher<StoredEvent, 'inserted' | 'duplicate'>;
  private readonly routedMarks: Batcher<string, void>;
  /**
   * Places in line for publishing ordered jobs, in the order events came: an event's turn is ready once
   * every event taken in before has published its jobs (or failed, or needed none).
   */
  private readonly turns = new Turns();

  constructor(private readonly options: EventRouterOptions) {
    this.inserts = new Batcher({ flush: (events) => options.store.insertEvents(events), maxBatch: 500, lingerMs: 20, concurrency: 2 });
    this.routedMarks = new Batcher({
      flush: async (keys) => {
        await options.store.markEventsRouted(keys, new Date());
        return keys.map(() => undefined);
      },
      maxBatch: 500,
      lingerMs: 100,
      concurrency: 2,
    });
  }

  async handle(inbound: InboundEvent): Promise<void> {
    // Taken before the first await, so turns follow the order in which the queue hands events over.
    const turn = this.turns.take();
    try {
      await this.route(inbound, turn);
    } finally {
      turn.done();
    }
  }

  private async route(inbound: InboundEvent, turn: Turn): Promise<void> {
    const scope: IntakeScope = { source: 'amqp', tenantId: inbound.scopeTenantId };
    const accepted = this.options.intake.acceptBytes(inbound.body, scope);
    if (!('ok' in accepted)) {
      await this.park(inbound, scope, accepted);
      return;
    }
    const envelope = accepted.ok;
    const key = eventStoreKey(envelope.id, inbound.scopeTenantId);
    const receivedAt = new Date();
    const stored = await this.inserts.add({ key, envelope, scopeTenantId: inbound.scopeTenantId, receivedAt, routedAt: null });
    if (stored === 'duplicate') {
      const existing = await this.options.store.getEvent(key);
      if (existing?.routedAt) {
        this.options.metrics.eventsDuplicate.inc();
        return;
      }
      if (existing && Date.now() - existing.receivedAt.getTime() < CLAIM_LEASE_MS) throw new DuplicateInProgressError(key);
    }
    this.options.metrics.eventsReceived.inc({ type: envelope.type });
    // Only the directory's own events (no tenant scope) change what the hub does for a tenant.
    if (inbound.scopeTenantId === null) for (const react of this.options.reactions ?? []) await react(envelope);
    const jobs = await this.jobsFor(envelope, inbound.scopeTenantId, receivedAt.getTime());
    // Jobs of ordered subscriptions wait for the events taken in before to send theirs; the sends
    // go out in call order (one channel), so the next event's turn comes once these are sent, not confirmed.
    if (jobs.some((job) => job.ordering)) await turn.ready;
    const published = jobs.length > 0 ? this.options.broker.publishDeliveries(jobs) : Promise.resolve();
    turn.done();
    await published;
    // The jobs are out: from here on, failing would only route the event twice.
    await retryUntilStored('that an event was routed', () => this.routedMarks.add(key), this.options.logger);
  }

  /** Flushes pending batch writes (shutdown). */
  async drain(): Promise<void> {
    await this.inserts.drain();
    await this.routedMarks.drain();
  }

  /** The jobs of an event; `acceptedAt` (epoch ms), when given, rides on each for the SLA's times. */
  async jobsFor(envelope: EventEnvelope, scopeTenantId: string | null, acceptedAt?: number): Promise<DeliveryJob[]> {
    const candidates = await this.options.subscriptions.findFor(envelope.type, scopeTenantId);
    // Filters are evaluated together: the sandbox takes them in one batch.
    const decisions = await Promise.all(
      candidates.map(async (sub): Promise<DeliveryJob | null> => {
        // `*` means every directory event; the hub's own events must be asked for by name.
        if (isOperationalType(envelope.type) && !sub.events.includes(envelope.type)) return null;
        const job: DeliveryJob = { webhookId: webhookIdFor(envelope.id, sub.id), tenantId: sub.tenantId, subscriptionId: sub.id, event: envelope, attempt: 1 };
        if (acceptedAt !== undefined) job.acceptedAt = acceptedAt;
        try {
          const decision = await this.options.matcher.decide(sub, envelope);
          if (decision === 'no_match') return null;
          if (sub.kind === 'webhook' && sub.ordering) job.ordering = { key: await this.options.matcher.orderingKey(sub.ordering.key, envelope) };
          return decision === 'pending' ? { ...job, filterPending: true } : job;
        } catch (err) {
          if (!(err instanceof ExpressionLimitError)) throw err;
          // One subscription's filter failed for good: it gets the failure on record, every other one its delivery.
          return { ...job, failure: { code: err.code, message: `The subscription's filter failed on this event: ${err.message}` } };
        }
      }),
    );
    return decisions.filter((job): job is DeliveryJob => job !== null);
  }

  /** A refused event is recorded, and its bytes parked in the invalid-events queue for the publisher to fix and republish. */
  private async park(inbound: InboundEvent, scope: IntakeScope, refused: IntakeRefusal): Promise<void> {
    const { invalid: reason, problems } = refused;
    this.options.logger.warn({ reason, problems: problems.slice(0, 5) }, 'invalid event parked in the invalid-events queue; fix the publisher and republish');
    await Promise.all([
      this.options.broker.parkInvalidEvent({ body: inbound.body, reason, problems }),
      this.options.intake.record(refused, inbound.body.toString('utf8'), scope),
    ]);
  }
}
