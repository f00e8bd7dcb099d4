import { newId, webhookIdFor } from '../core/ids';
import type { Logger } from '../core/logger';
import type { HubMetrics } from '../core/metrics';
import type { Broker, DeliveryJob, InboundEvent } from '../broker/port';
import { isOperationalType } from '../events/catalog';
import { eventStoreKey } from '../events/envelope';
import type { EventEnvelope } from '../events/envelope';
import type { EventValidator, ValidationProblem } from '../events/validator';
import type { Store } from '../store/port';
import type { SubscriptionCache } from '../subscriptions/subscription-cache';
import type { SubscriptionMatcher } from './matcher';

export interface EventRouterOptions {
  broker: Broker;
  store: Store;
  validator: EventValidator;
  subscriptions: SubscriptionCache;
  matcher: SubscriptionMatcher;
  metrics: HubMetrics;
  logger: Logger;
}

const RAW_LIMIT = 256 * 1024;

/**
 * The router consumer: validate → dedupe by event id → store → match → one
 * delivery job per matching subscription. The event is marked routed only after
 * the broker confirmed the jobs, so a crash in between routes it again (the
 * webhook-id stays the same, receivers dedupe) rather than losing it.
 */
export class EventRouter {
  constructor(private readonly o: EventRouterOptions) {}

  async handle(inbound: InboundEvent): Promise<void> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(inbound.body.toString('utf8'));
    } catch (err) {
      await this.park(inbound, 'invalid_json', [{ path: '/', message: `body is not JSON: ${(err as Error).message}` }]);
      return;
    }
    const check = this.o.validator.check(parsed);
    if (!check.ok) {
      await this.park(inbound, check.reason, check.problems);
      return;
    }
    const envelope = check.envelope;
    if (isOperationalType(envelope.type) && inbound.scopeTenantId === null) {
      await this.park(inbound, 'reserved_event_type', [{ path: '/type', message: `"${envelope.type}" is emitted by Hookhub only` }]);
      return;
    }
    const key = eventStoreKey(envelope.id, inbound.scopeTenantId);
    const stored = await this.o.store.insertEvent({ key, envelope, scopeTenantId: inbound.scopeTenantId, receivedAt: new Date(), routedAt: null });
    if (stored === 'duplicate') {
      const existing = await this.o.store.getEvent(key);
      if (existing?.routedAt) {
        this.o.metrics.eventsDuplicate.inc();
        return;
      }
    }
    this.o.metrics.eventsReceived.inc({ type: envelope.type });
    const jobs = await this.jobsFor(envelope, inbound.scopeTenantId);
    if (jobs.length > 0) await this.o.broker.publishDeliveries(jobs);
    await this.o.store.markEventRouted(key, new Date());
  }

  async jobsFor(envelope: EventEnvelope, scopeTenantId: string | null): Promise<DeliveryJob[]> {
    const candidates = await this.o.subscriptions.findFor(envelope.type, scopeTenantId);
    const jobs: DeliveryJob[] = [];
    for (const sub of candidates) {
      // `*` means every directory event; the hub's own events must be asked for by name.
      if (isOperationalType(envelope.type) && !sub.events.includes(envelope.type)) continue;
      if (!(await this.o.matcher.matches(sub, envelope))) continue;
      jobs.push({ webhookId: webhookIdFor(envelope.id, sub.id), tenantId: sub.tenantId, subscriptionId: sub.id, event: envelope, attempt: 1 });
    }
    return jobs;
  }

  private async park(inbound: InboundEvent, reason: string, problems: ValidationProblem[]): Promise<void> {
    this.o.metrics.eventsInvalid.inc({ source: 'amqp', reason });
    this.o.logger.warn({ reason, problems: problems.slice(0, 5) }, 'invalid event parked in the invalid-events queue; fix the publisher and republish');
    await Promise.all([
      this.o.broker.parkInvalidEvent({ body: inbound.body, reason, problems }),
      this.o.store.recordInvalidEvent({
        id: newId('inv'),
        source: 'amqp',
        tenantId: inbound.scopeTenantId,
        reason,
        problems,
        raw: inbound.body.toString('utf8').slice(0, RAW_LIMIT),
        receivedAt: new Date(),
      }),
    ]);
  }
}
