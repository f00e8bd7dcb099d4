import { UNFINISHED_EXPORT_STATES } from '../../integrations/connection-export';
import type { ExportPatch, ExportRecord, ExportState } from '../../integrations/connection-export';
import type { ConnectionExports } from '../../integrations/ports';
import type { MongoDatabase } from './database';
import { dateOrNull as date, textOrNull as text } from './documents';
import type { Doc } from './documents';

/** The cursor and the written-ahead page as plain fields: pendingSet tells an empty page from none. */
function fieldsOf(patch: ExportPatch): Record<string, unknown> {
  const { cursor, pending, ...rest } = patch;
  const fields: Record<string, unknown> = { ...rest };
  if (cursor !== undefined) Object.assign(fields, { cursorReceivedAt: cursor?.receivedAt ?? null, cursorKey: cursor?.key ?? null });
  if (pending !== undefined) Object.assign(fields, { pending: pending ?? [], pendingSet: pending !== null });
  return fields;
}

function fromDoc(doc: Doc): ExportRecord {
  const cursorAt = date(doc['cursorReceivedAt']);
  return {
    id: String(doc['_id']),
    tenantId: String(doc['tenantId']),
    connectionId: String(doc['connectionId']),
    type: String(doc['type']),
    since: doc['since'] as Date,
    until: doc['until'] as Date,
    state: doc['state'] as ExportState,
    exported: Number(doc['exported'] ?? 0),
    cursor: cursorAt ? { receivedAt: cursorAt, key: String(doc['cursorKey']) } : null,
    pending: doc['pendingSet'] === true ? ((doc['pending'] as unknown[] | undefined) ?? []).map(String) : null,
    lastRange: text(doc['lastRange']),
    error: text(doc['error']),
    createdAt: doc['createdAt'] as Date,
    updatedAt: doc['updatedAt'] as Date,
    finishedAt: date(doc['finishedAt']),
  };
}

/** Exports of past events in `connection_exports`, under their id; one process runs an export at a time (a lease). */
export function mongoConnectionExports(db: MongoDatabase): ConnectionExports {
  const model = (): MongoDatabase['models']['exports'] => db.models.exports;
  return {
    async insertExport(record) {
      const { id, ...rest } = record;
      await model().collection.insertOne({ _id: id, ...fieldsOf(rest) } as never);
    },
    async getExport(tenantId, id) {
      const doc = await model().findOne({ _id: id, tenantId }).lean<Doc>();
      return doc ? fromDoc(doc) : null;
    },
    async listExports(tenantId, connectionId, limit) {
      const docs = await model().find({ tenantId, connectionId }).sort({ createdAt: -1, _id: -1 }).limit(limit).lean<Doc[]>();
      return docs.map(fromDoc);
    },
    async updateExport(id, patch) {
      await model().collection.updateOne({ _id: id } as never, { $set: fieldsOf(patch) } as never);
    },
    async unfinishedExports(limit) {
      const docs = await model().find({ state: { $in: [...UNFINISHED_EXPORT_STATES] } }).sort({ createdAt: 1 }).limit(limit).lean<Doc[]>();
      return docs.map(fromDoc);
    },
  };
}
