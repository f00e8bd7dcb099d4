import type { EventEnvelope } from '../../events/envelope';
import type { InvalidEventLog } from '../../events/intake';
import type { ExportEvents } from '../../integrations/ports';
import type { EventLog } from '../../pipeline/ports';
import type { MongoDatabase } from './database';
import { insertManySkippingDuplicates } from './documents';
import type { Doc } from './documents';

/** How long a search for recent events of a type may take before it gives up (it walks the receivedAt index back). */
const RECENT_SEARCH_MS = 2000;
/** MongoDB's (and FerretDB's) code for a query that ran out of its maxTimeMS. */
const MAX_TIME_EXPIRED = 50;

/** Events in `events` (the envelope as JSON), routed marks in `routed_events`, invalid events in `invalid_events`. */
export function mongoEventLog(db: MongoDatabase): EventLog & InvalidEventLog & ExportEvents {
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
     * Walks the receivedAt index from the newest event, keeping those of the type in scope: quick for
     * types that occur, and bounded for rare ones (no index on type, which every insert would pay for).
     */
    async recentEvents(tenantId, type, limit) {
      try {
        const docs = await db.models.events
          .find({ type, scopeTenantId: { $in: [null, tenantId] } }, { envelopeJson: 1 })
          .sort({ receivedAt: -1 })
          .limit(limit)
          .maxTimeMS(RECENT_SEARCH_MS)
          .lean<Doc[]>();
        return docs.map((doc) => JSON.parse(String(doc['envelopeJson'])) as EventEnvelope);
      } catch (err) {
        if ((err as { code?: unknown }).code === MAX_TIME_EXPIRED) return [];
        throw err;
      }
    },

    /** Walks the receivedAt index through the window, from the cursor: (receivedAt, _id) after it. */
    async eventsForExport(tenantId, type, window, after, limit) {
      const range = after === null ? {} : { $or: [{ receivedAt: { $gt: after.receivedAt } }, { receivedAt: after.receivedAt, _id: { $gt: after.key } }] };
      const docs = await db.models.events
        .find({ type, scopeTenantId: { $in: [null, tenantId] }, receivedAt: { $gte: window.since, $lt: window.until }, ...range })
        .sort({ receivedAt: 1, _id: 1 })
        .limit(limit)
        .lean<Doc[]>();
      return docs.map((doc) => ({ key: String(doc['_id']), receivedAt: doc['receivedAt'] as Date, envelope: JSON.parse(String(doc['envelopeJson'])) as EventEnvelope }));
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
