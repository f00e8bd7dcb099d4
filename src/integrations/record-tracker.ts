import { systemClock } from '../core/clock';
import type { Clock } from '../core/clock';
import type { Logger } from '../core/logger';
import type { AttemptStep } from '../connectors/attempt-step';
import type { LoadedConnector } from '../connectors/loader';
import type { EventEnvelope } from '../events/envelope';
import type { TrackedRecords } from './ports';
import { newTrackedRecord } from './tracked-record';
import type { TrackedRecord } from './tracked-record';

/** What a delivery through a connection did, as the tracker reads it. */
export interface TrackedDelivery {
  tenantId: string;
  connectionId: string;
  connector: LoadedConnector;
  event: EventEnvelope;
  steps: readonly AttemptStep[];
  /** The route label of the integration's lead qualification. */
  route: string | null;
}

/**
 * Starts following the records a delivery created, for connectors that read them back
 * (manifest `readback`): a request of an action that creates the read-back's object is tracked
 * as sent when it failed, and as created with its id when the API created it; an upsert that
 * updated a record the account already had is not tracked. One record per connection, object
 * and directory subject (the event's data.id): a redelivery or a later event of the same
 * business is the same record. Never fails a delivery.
 */
export class RecordTracker {
  constructor(
    private readonly store: Pick<TrackedRecords, 'trackRecord'>,
    private readonly logger: Logger,
    private readonly clock: Clock = systemClock,
  ) {}

  async note(delivery: TrackedDelivery): Promise<void> {
    const readback = delivery.connector.readback;
    if (!readback) return;
    for (const step of delivery.steps) {
      const operation = delivery.connector.actions.get(step.action)?.operation;
      if (step.objectType !== readback.object || (step.result !== 'created' && step.result !== 'failed') || (operation !== 'create' && operation !== 'upsert')) continue;
      const record = this.recordOf(delivery, step);
      try {
        await this.store.trackRecord(record);
      } catch (err) {
        this.logger.warn({ err: (err as Error).message, connectionId: delivery.connectionId, eventId: delivery.event.id }, 'could not track a created CRM record; it is left out of the pipeline funnel');
      }
    }
  }

  private recordOf(delivery: TrackedDelivery, step: AttemptStep): TrackedRecord {
    const now = new Date(this.clock.now());
    const created = step.result === 'created' && step.externalId !== null && step.externalId !== undefined;
    const data = delivery.event.data as Record<string, unknown> | null;
    return newTrackedRecord({
      tenantId: delivery.tenantId,
      connectionId: delivery.connectionId,
      objectType: step.objectType ?? '',
      eventId: delivery.event.id,
      subjectId: typeof data?.['id'] === 'string' ? data['id'] : null,
      route: delivery.route,
      externalId: created ? (step.externalId ?? null) : null,
      state: created ? 'created' : 'sent',
      sentAt: now,
      createdAt: created ? now : null,
    });
  }
}
