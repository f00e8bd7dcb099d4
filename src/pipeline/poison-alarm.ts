import type { Logger } from '../core/logger';
import type { HubMetrics } from '../core/metrics';
import type { DeliveryJob, PoisonedMessage } from '../broker/port';
import { isOperationalType } from '../events/catalog';
import type { OperationalEvents } from '../events/operational-events';

export interface PoisonAlarmOptions {
  metrics: HubMetrics;
  logger: Logger;
  operational: OperationalEvents;
}

/**
 * Announces a message the broker set aside as poison: counted
 * (hookhub_poison_messages_total), logged at error level for operators, and,
 * for each delivery it carried, told to the tenant concerned with a
 * webhook.delivery_quarantined event. A router message may name no tenant: the
 * log line and the metric are then the whole announcement.
 */
export class PoisonAlarm {
  constructor(private readonly options: PoisonAlarmOptions) {}

  async raise(poisoned: PoisonedMessage): Promise<void> {
    this.options.metrics.poisonMessages.inc({ source: poisoned.source });
    // The body came from a message that broke its consumer: take from it only what is well formed.
    const jobs = poisoned.jobs.filter(wellFormed);
    this.options.logger.error(
      {
        source: poisoned.source,
        parkedIn: poisoned.parkedIn,
        deliveries: poisoned.deliveries,
        eventId: poisoned.eventId,
        eventType: poisoned.eventType,
        scopeTenantId: poisoned.scopeTenantId,
        targets: jobs.slice(0, 20).map((j) => ({ tenantId: j.tenantId, subscriptionId: j.subscriptionId, webhookId: j.webhookId })),
      },
      `a message crashed, stalled or failed its consumer on ${poisoned.deliveries} deliveries and was parked in ${poisoned.parkedIn}; ` +
        'it will not be retried. Look for the cause in the logs of those deliveries, fix it, then move the message back to its queue (or delete it)',
    );
    for (const job of jobs) {
      // Never alert about a failure to deliver an alert: that could loop.
      if (isOperationalType(job.event.type)) continue;
      await this.options.operational.emit(job.tenantId, 'webhook.delivery_quarantined', {
        subscription_id: job.subscriptionId,
        event_id: job.event.id,
        event_type: job.event.type,
        webhook_id: job.webhookId,
        deliveries: poisoned.deliveries,
        reason:
          `Handling this delivery crashed, stalled or failed the delivery worker ${poisoned.deliveries} times, ` +
          'so it was set aside for the operators instead of being tried again. Other deliveries are not affected.',
      });
    }
  }
}

function wellFormed(job: DeliveryJob): boolean {
  const j = job as Partial<Record<keyof DeliveryJob, unknown>>;
  const event = j.event as { id?: unknown; type?: unknown } | null | undefined;
  return (
    typeof j.tenantId === 'string' &&
    typeof j.subscriptionId === 'string' &&
    typeof j.webhookId === 'string' &&
    typeof event?.id === 'string' &&
    typeof event.type === 'string'
  );
}
