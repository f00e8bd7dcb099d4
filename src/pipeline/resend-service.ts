import { HubError, NotFoundError } from '../core/errors';
import type { Broker, DeliveryJob } from '../broker/port';
import { eventStoreKey } from '../events/envelope';
import type { EventEnvelope } from '../events/envelope';
import type { SubscriptionRepository } from '../subscriptions/repository';
import type { AttemptRecord } from './model';
import type { AttemptLog, EventLog } from './ports';

/** What a resend was handed to the broker as: where its attempts will show in the delivery log. */
export interface ResendReceipt {
  /** The attempt resent; every attempt of the resend carries it as `resentFrom`. */
  resentFrom: string;
  subscriptionId: string;
  eventId: string;
  /** The webhook-id the resend goes under: the original's (a single event resent to a subscription that now batches joins a new batch, with that batch's). */
  webhookId: string;
  batchId: string | null;
}

/**
 * Sends an attempt's event (or batch) again to that attempt's subscription or integration, and to
 * nothing else: no matching, the subscription's current payload shaping, signing and retry policy,
 * and the original webhook-id so that receivers which processed it already can tell.
 */
export class ResendService {
  constructor(
    private readonly store: Pick<AttemptLog, 'getAttempt'> & Pick<EventLog, 'getEvent'> & Pick<SubscriptionRepository, 'getSubscription'>,
    private readonly broker: Broker,
  ) {}

  async resend(tenantId: string, attemptId: string): Promise<ResendReceipt> {
    const attempt = await this.store.getAttempt(tenantId, attemptId);
    if (!attempt) throw new NotFoundError('attempt', attemptId);
    if (attempt.test === true) {
      throw new HubError('attempt_not_resendable', `Attempt ${attemptId} was a test send (sample data, never retried); send another with POST /v1/subscriptions/${attempt.subscriptionId}/test.`, {
        status: 409,
      });
    }
    await this.requireActiveSubscription(tenantId, attempt);
    const events = await this.eventsOf(tenantId, attempt);
    const job: DeliveryJob = {
      webhookId: attempt.webhookId,
      tenantId,
      subscriptionId: attempt.subscriptionId,
      event: events[0] as EventEnvelope,
      attempt: 1,
      resentFrom: attempt.id,
      ...(attempt.batch ? { batch: { id: attempt.batch.id, events } } : {}),
    };
    try {
      await this.broker.publishDeliveries([job]);
    } catch (cause) {
      throw new HubError('broker_unavailable', 'The resend could not be handed to the message broker; nothing was sent. Try again.', { status: 503, cause });
    }
    return { resentFrom: attempt.id, subscriptionId: attempt.subscriptionId, eventId: attempt.eventId, webhookId: job.webhookId, batchId: attempt.batch?.id ?? null };
  }

  private async requireActiveSubscription(tenantId: string, attempt: AttemptRecord): Promise<void> {
    const sub = await this.store.getSubscription(tenantId, attempt.subscriptionId);
    if (!sub) {
      throw new HubError('subscription_deleted', `The subscription or integration ${attempt.subscriptionId} of attempt ${attempt.id} was deleted; there is nothing to resend to.`, { status: 409 });
    }
    if (!sub.active) {
      const plural = sub.kind === 'integration' ? 'integrations' : 'subscriptions';
      throw new HubError(
        'subscription_inactive',
        `${sub.kind === 'integration' ? 'Integration' : 'Subscription'} ${sub.id} is disabled${sub.disabledReason ? ` (${sub.disabledReason})` : ''}. ` +
          `Re-enable it with PATCH /v1/${plural}/${sub.id} {"active": true}, then resend.`,
        { status: 409 },
      );
    }
  }

  /** The attempt's events as stored (a batch's in batch order): a tenant's own events under its namespace, else directory events. */
  private async eventsOf(tenantId: string, attempt: AttemptRecord): Promise<EventEnvelope[]> {
    const ids = attempt.batch?.eventIds ?? [attempt.eventId];
    const events: EventEnvelope[] = [];
    for (const id of ids) {
      const stored = (await this.store.getEvent(eventStoreKey(id, tenantId))) ?? (await this.store.getEvent(id));
      if (!stored || (stored.scopeTenantId !== null && stored.scopeTenantId !== tenantId)) {
        throw new HubError('event_not_stored', `Event ${id} of attempt ${attempt.id} is no longer stored (past retention), so it cannot be sent again.`, {
          status: 410,
          details: { eventId: id },
        });
      }
      events.push(stored.envelope);
    }
    return events;
  }
}
