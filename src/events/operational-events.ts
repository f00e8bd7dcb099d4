import { systemClock } from '../core/clock';
import type { Clock } from '../core/clock';
import { newId } from '../core/ids';
import type { Logger } from '../core/logger';
import type { DirectoryEventType, OperationalEventType } from './catalog';
import { CURRENT_EVENT_VERSION } from './envelope';
import type { EventEnvelope } from './envelope';

/** Where events are published on a tenant's behalf; the broker is one (declared here so events/ needs no broker). */
export interface EventPublisher {
  publishEvent(envelope: EventEnvelope, scopeTenantId: string | null): Promise<void>;
}

/**
 * API usage events: published by the hub, yet directory types (a `*` subscription
 * receives them), so they are not reserved.
 */
export type ApiUsageEventType = Extract<DirectoryEventType, `api.${string}`>;

/** Every event type the hub publishes about itself. */
export type HubEventType = OperationalEventType | ApiUsageEventType;

/**
 * The only builder of the hub's own events (webhook.delivery_exhausted,
 * api.quota_warning, ...): publishes them through the same pipeline as
 * directory events, scoped to the tenant they concern, so a tenant can route
 * alerts to any endpoint it likes.
 */
export class OperationalEvents {
  constructor(
    private readonly publisher: EventPublisher,
    private readonly logger: Logger,
    private readonly clock: Clock = systemClock,
  ) {}

  /** The envelope of a hub event: a new id, the current version, and `occurred_at` in its data. */
  envelope(type: HubEventType, data: Record<string, unknown>): EventEnvelope {
    const now = new Date(this.clock.now()).toISOString();
    return { id: newId('evt'), type, version: CURRENT_EVENT_VERSION, timestamp: now, data: { ...data, occurred_at: now } };
  }

  /** Publishes a hub event to its tenant. Never throws: a failure is only logged. */
  async emit(tenantId: string, type: HubEventType, data: Record<string, unknown>): Promise<void> {
    try {
      await this.publisher.publishEvent(this.envelope(type, data), tenantId);
    } catch (err) {
      // The fact itself is already stored (dead letter, disabled subscription) or answered (429); the alert is best effort.
      this.logger.warn({ err: (err as Error).message, type, tenantId }, 'could not publish an operational event');
    }
  }
}
