import { newId } from '../core/ids';
import type { Logger } from '../core/logger';
import type { Broker } from '../broker/port';
import type { OperationalEventType } from './catalog';
import { CURRENT_EVENT_VERSION } from './envelope';

/**
 * Publishes the hub's own events (webhook.delivery_exhausted, ...) through the
 * same pipeline as directory events, scoped to the tenant they concern, so a
 * tenant can route alerts to any endpoint it likes.
 */
export class OperationalEvents {
  constructor(
    private readonly broker: Broker,
    private readonly logger: Logger,
  ) {}

  async emit(tenantId: string, type: OperationalEventType, data: Record<string, unknown>): Promise<void> {
    const envelope = {
      id: newId('evt'),
      type,
      version: CURRENT_EVENT_VERSION,
      timestamp: new Date().toISOString(),
      data: { ...data, occurred_at: new Date().toISOString() },
    };
    try {
      await this.broker.publishEvent(envelope, tenantId);
    } catch (err) {
      // The fact itself is already stored (dead letter, disabled subscription); the alert is best effort.
      this.logger.warn({ err: (err as Error).message, type, tenantId }, 'could not publish an operational event');
    }
  }
}
