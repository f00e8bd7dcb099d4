import type { EventEnvelope } from '../../events/envelope';
import type { DeadLetterRecord } from '../../pipeline/model';
import type { DeadLetterReason } from '../../subscriptions/model';
import type { DeadLetters } from '../../pipeline/ports';
import type { MongoDatabase } from './database';
import { findPage } from './documents';
import type { Doc } from './documents';

/** Dead letters in `dead_letters`, the event as JSON. */
export function mongoDeadLetters(db: MongoDatabase): DeadLetters {
  const deadLetters = () => db.models.deadLetters;
  return {
    async insertDeadLetter(record) {
      const { id, event, ...rest } = record;
      await deadLetters().collection.insertOne({ _id: id, ...rest, eventJson: JSON.stringify(event) } as never);
    },

    async getDeadLetter(tenantId, id) {
      const doc = await deadLetters().findOne({ _id: id, tenantId }).lean<Doc>();
      return doc ? fromDeadLetterDoc(doc) : null;
    },

    async listDeadLetters(tenantId, query) {
      const filter: Doc = { tenantId };
      if (query.subscriptionId !== undefined) filter['subscriptionId'] = query.subscriptionId;
      return findPage(deadLetters(), filter, query, fromDeadLetterDoc);
    },

    async findDeadLettersBetween(tenantId, subscriptionId, since, until) {
      const docs = await deadLetters()
        .find({ tenantId, subscriptionId, replayedAt: null, createdAt: { $gte: since, $lt: until } })
        .sort({ _id: 1 })
        .lean<Doc[]>();
      return docs.map(fromDeadLetterDoc);
    },

    async findDeadLettersByReason(tenantId, subscriptionIds, reason) {
      if (subscriptionIds.length === 0) return [];
      const docs = await deadLetters()
        .find({ tenantId, subscriptionId: { $in: subscriptionIds }, reason, replayedAt: null })
        .sort({ _id: 1 })
        .lean<Doc[]>();
      return docs.map(fromDeadLetterDoc);
    },

    async findDeadLettersOfBatch(tenantId, batchId) {
      const docs = await deadLetters().find({ tenantId, 'batch.id': batchId }).lean<Doc[]>();
      return docs.map(fromDeadLetterDoc).sort((a, b) => (a.batch?.index ?? 0) - (b.batch?.index ?? 0));
    },

    async markDeadLetterReplayed(tenantId, id, at) {
      await deadLetters().updateOne({ _id: id, tenantId }, { $set: { replayedAt: at }, $inc: { replayCount: 1 } });
    },

    async countDeadLettersByReason(tenantId) {
      // One $sum per group: what FerretDB 1.24 sums right (several $sums in one $group come back 0).
      const groups = await deadLetters()
        .aggregate<{ _id: string; count: number }>([{ $match: { tenantId, replayedAt: null } }, { $group: { _id: '$reason', count: { $sum: 1 } } }]);
      const counts: Partial<Record<DeadLetterReason, number>> = {};
      for (const g of groups) if (g.count > 0) counts[g._id as DeadLetterReason] = g.count;
      return counts;
    },

    async addOvertaker(tenantId, id, eventId) {
      await deadLetters().updateOne({ _id: id, tenantId, replayedAt: null }, { $addToSet: { overtakenBy: eventId } });
    },
  };
}

function fromDeadLetterDoc(doc: Doc): DeadLetterRecord {
  const { _id, eventJson, ...rest } = doc;
  return {
    ...(rest as Omit<DeadLetterRecord, 'id' | 'event'>),
    id: String(_id),
    event: JSON.parse(String(eventJson)) as EventEnvelope,
    replayedAt: (rest['replayedAt'] as Date | null) ?? null,
  };
}
