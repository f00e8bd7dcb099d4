import { idTimeBound } from '../../core/ids';
import type { Retention } from '../../jobs/ports';
import type { AttemptRecord, DeliveryRef } from '../../pipeline/model';
import type { AttemptLog } from '../../pipeline/ports';
import type { MongoDatabase } from './database';
import { findPage, insertManySkippingDuplicates } from './documents';
import type { Doc } from './documents';

/**
 * Attempts in `delivery_attempts`: the hottest write, so only the fields lists
 * filter on are fields of their own and the rest travels as one JSON string.
 */
export function mongoAttemptLog(db: MongoDatabase): AttemptLog & Pick<Retention, 'purgeAttemptsBefore' | 'purgeTenantAttemptsBefore'> {
  const attempts = () => db.models.attempts;
  return {
    async recordAttempts(records) {
      if (records.length === 0) return;
      // createdAt rides in the detail: the purge goes by _id (time-ordered), and every field of its own costs a write.
      const docs = records.map((r) => {
        // eventType stays in the detail too (rows written before it had a field of its own lack the field).
        const { id, tenantId, subscriptionId, eventId, status, ...detail } = r;
        const doc: Doc = { _id: id, tenantId, subscriptionId, eventId, status, eventType: r.eventType, detailJson: JSON.stringify(detail) };
        // Absent on the others: the field costs the hot write nothing where it is not needed.
        if (r.next === 'retry' && r.nextAttemptAt !== null) doc['retryAt'] = r.nextAttemptAt;
        return doc;
      });
      // A batch retried after a partial failure re-inserts rows that already landed.
      await insertManySkippingDuplicates(attempts(), docs);
    },

    async listAttempts(tenantId, query) {
      const filter: Doc = { tenantId };
      if (query.subscriptionId !== undefined) filter['subscriptionId'] = query.subscriptionId;
      if (query.eventId !== undefined) filter['eventId'] = query.eventId;
      if (query.status !== undefined) filter['status'] = query.status;
      if (query.eventType !== undefined) filter['eventType'] = query.eventType;
      // A time range is an _id range (ids are time-ordered), served by the same indexes as the paging.
      const range: Doc = {};
      if (query.since !== undefined) range['$gte'] = idTimeBound('att', query.since);
      if (query.until !== undefined) range['$lt'] = idTimeBound('att', query.until);
      if (Object.keys(range).length > 0) filter['_id'] = range;
      // Every filter is an equality on the tenant's index of that field, then _id descending: a page is an
      // index range read, however deep the cursor, and nothing is counted.
      return findPage(attempts(), filter, query, fromAttemptDoc);
    },

    async getAttempt(tenantId, id) {
      const doc = await attempts().findOne({ _id: id, tenantId }).lean<Doc>();
      return doc ? fromAttemptDoc(doc) : null;
    },

    /**
     * One query per distinct event, on the { tenantId, eventId, _id } index: the
     * deliveries of one redelivered fan-out message share their event. (FerretDB
     * pushes the eventId equality down to PostgreSQL; an $or of pairs it would not.)
     */
    async haveSucceeded(deliveries) {
      const byEvent = new Map<string, DeliveryRef[]>();
      for (const d of deliveries) byEvent.set(d.eventId, [...(byEvent.get(d.eventId) ?? []), d]);
      const succeeded = new Set<string>();
      await Promise.all(
        [...byEvent].map(async ([eventId, refs]) => {
          const filter = {
            tenantId: { $in: [...new Set(refs.map((r) => r.tenantId))] },
            eventId,
            subscriptionId: { $in: [...new Set(refs.map((r) => r.subscriptionId))] },
            status: 'succeeded',
          };
          const docs = await attempts().collection.find(filter as never, { projection: { tenantId: 1, subscriptionId: 1 } }).toArray();
          for (const doc of docs) succeeded.add(deliveryKey({ tenantId: String(doc['tenantId']), subscriptionId: String(doc['subscriptionId']), eventId }));
        }),
      );
      return deliveries.map((d) => succeeded.has(deliveryKey(d)));
    },

    async countPendingRetries(tenantId, now) {
      // The status equality adds nothing on MongoDB (only failed attempts have a retry time) and lets
      // MongoDB-protocol servers that push down equalities only narrow the read to failed attempts.
      return attempts().countDocuments({ tenantId, status: 'failed', retryAt: { $gt: now } });
    },

    async purgeAttemptsBefore(before, exceptTenants = []) {
      // Attempt ids are time-ordered (newId at createdAt): every id below the bound's time part is older than `before`.
      const filter: Doc = { _id: { $lt: idTimeBound('att', before) } };
      if (exceptTenants.length > 0) filter['tenantId'] = { $nin: [...exceptTenants] };
      const result = await attempts().collection.deleteMany(filter as never);
      return result.deletedCount;
    },

    async purgeTenantAttemptsBefore(tenantId, before) {
      // The { tenantId, _id } index: one range of the tenant's.
      const result = await attempts().collection.deleteMany({ tenantId, _id: { $lt: idTimeBound('att', before) } } as never);
      return result.deletedCount;
    },
  };
}

function deliveryKey(d: DeliveryRef): string {
  return JSON.stringify([d.tenantId, d.subscriptionId, d.eventId]);
}

function fromAttemptDoc(doc: Doc): AttemptRecord {
  const detail = JSON.parse(String(doc['detailJson'])) as Omit<AttemptRecord, 'id' | 'tenantId' | 'subscriptionId' | 'eventId' | 'status' | 'createdAt' | 'nextAttemptAt' | 'acceptedAt'> & {
    nextAttemptAt: string | null;
    createdAt?: string;
    acceptedAt?: string | null;
  };
  const { acceptedAt, ...rest } = detail;
  return {
    ...rest,
    ...(acceptedAt == null ? {} : { acceptedAt: new Date(acceptedAt) }),
    id: String(doc['_id']),
    tenantId: String(doc['tenantId']),
    subscriptionId: String(doc['subscriptionId']),
    eventId: String(doc['eventId']),
    status: doc['status'] as AttemptRecord['status'],
    // Rows written before createdAt moved into the detail have it as a field.
    createdAt: detail.createdAt === undefined ? (doc['createdAt'] as Date) : new Date(detail.createdAt),
    nextAttemptAt: detail.nextAttemptAt === null ? null : new Date(detail.nextAttemptAt),
  };
}
