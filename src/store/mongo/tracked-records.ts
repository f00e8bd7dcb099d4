import type { TrackedRecords } from '../../integrations/ports';
import { OPEN_STATES } from '../../integrations/tracked-record';
import type { TrackedRecord, TrackedState } from '../../integrations/tracked-record';
import type { MongoDatabase } from './database';
import type { Doc } from './documents';

const date = (value: unknown): Date | null => (value instanceof Date ? value : null);
const text = (value: unknown): string | null => (value === undefined || value === null ? null : String(value));

function fromDoc(doc: Doc): TrackedRecord {
  return {
    id: String(doc['_id']),
    tenantId: String(doc['tenantId']),
    connectionId: String(doc['connectionId']),
    objectType: String(doc['objectType']),
    eventId: String(doc['eventId']),
    subjectId: text(doc['subjectId']),
    route: text(doc['route']),
    externalId: text(doc['externalId']),
    state: doc['state'] as TrackedState,
    sentAt: doc['sentAt'] as Date,
    createdAt: date(doc['createdAt']),
    convertedAt: date(doc['convertedAt']),
    closedAt: date(doc['closedAt']),
    opportunityId: text(doc['opportunityId']),
    stage: text(doc['stage']),
    amount: typeof doc['amount'] === 'number' ? doc['amount'] : null,
    currency: text(doc['currency']),
    checkedAt: date(doc['checkedAt']),
  };
}

/**
 * Tracked CRM records in `tracked_records`, under their id. The read-back job of a connection runs
 * in one process at a time (a lease), so the state-guarded updates do not race in practice; the
 * guard keeps a late writer from moving a record back.
 */
export function mongoTrackedRecords(db: MongoDatabase): TrackedRecords {
  const model = (): MongoDatabase['models']['trackedRecords'] => db.models.trackedRecords;
  return {
    async trackRecord(record) {
      const { id: _id, ...fields } = record;
      await model().collection.updateOne({ _id } as never, { $setOnInsert: fields } as never, { upsert: true });
      if (record.state === 'created') {
        await model().collection.updateOne({ _id, state: 'sent' } as never, { $set: { state: 'created', externalId: record.externalId, createdAt: record.createdAt } } as never);
      }
    },
    async connectionsWithOpenRecords(limit) {
      const ids = (await model().distinct('connectionId', { state: { $in: OPEN_STATES } })) as unknown[];
      return ids.map(String).slice(0, limit);
    },
    async openRecords(connectionId, limit) {
      const docs = await model().find({ connectionId, state: { $in: OPEN_STATES } }).sort({ checkedAt: 1, createdAt: 1 }).limit(limit).lean<Doc[]>();
      return docs.map(fromDoc);
    },
    async updateTrackedRecord(id, from, patch) {
      const result = await model().collection.updateOne({ _id: id, state: from } as never, { $set: patch } as never);
      return result.matchedCount > 0;
    },
    async listTrackedRecords(tenantId, connectionId, since, limit) {
      const docs = await model().find({ tenantId, connectionId, sentAt: { $gte: since } }).sort({ sentAt: 1 }).limit(limit).lean<Doc[]>();
      return docs.map(fromDoc);
    },
  };
}
