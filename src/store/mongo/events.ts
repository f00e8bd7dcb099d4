import type { EventEnvelope } from '../../events/envelope';
import type { InvalidEventLog } from '../../events/intake';
import type { EventLog } from '../../pipeline/ports';
import type { MongoDatabase } from './database';
import { insertManySkippingDuplicates } from './documents';
import type { Doc } from './documents';

/** Events in `events` (the envelope as JSON), routed marks in `routed_events`, invalid events in `invalid_events`. */
export function mongoEventLog(db: MongoDatabase): EventLog & InvalidEventLog {
  return {
    async insertEvents(events) {
      const results: Array<'inserted' | 'duplicate'> = events.map(() => 'inserted');
      if (events.length === 0) return results;
      const docs = events.map((event) => ({
        _id: event.key,
        type: event.envelope.type,
        envelopeJson: JSON.stringify(event.envelope),
        scopeTenantId: event.scopeTenantId,
        receivedAt: event.receivedAt,
      }));
      for (const e of await insertManySkippingDuplicates(db.models.events, docs)) if (e.index !== undefined) results[e.index] = 'duplicate';
      return results;
    },

    async getEvent(key) {
      const [doc, routed] = await Promise.all([db.models.events.findById(key).lean<Doc>(), db.models.routedEvents.findById(key).lean<Doc>()]);
      if (!doc) return null;
      return {
        key,
        envelope: JSON.parse(String(doc['envelopeJson'])) as EventEnvelope,
        scopeTenantId: (doc['scopeTenantId'] as string | null) ?? null,
        receivedAt: doc['receivedAt'] as Date,
        routedAt: (routed?.['at'] as Date | undefined) ?? null,
      };
    },

    /**
     * Routed marks are inserts into a collection of their own rather than an
     * update of the events: a batch insert stays cheap on every MongoDB-protocol
     * server, where an update by a list of ids can mean a scan.
     */
    async markEventsRouted(keys, at) {
      if (keys.length === 0) return;
      await insertManySkippingDuplicates(
        db.models.routedEvents,
        keys.map((key) => ({ _id: key, at })),
      );
    },

    async recordInvalidEvent(record) {
      await db.models.invalidEvents.collection.insertOne({
        _id: record.id,
        source: record.source,
        tenantId: record.tenantId,
        reason: record.reason,
        problemsJson: JSON.stringify(record.problems),
        raw: record.raw,
        receivedAt: record.receivedAt,
      } as never);
    },
  };
}
