import { backoffWait } from '../../integrations/model';
import type { ConnectionRecord } from '../../integrations/model';
import type { ConnectionRepository } from '../../integrations/ports';
import type { MongoDatabase } from './database';
import { findPage } from './documents';
import type { Doc } from './documents';

/** Connections in `connections`; settings and provider metadata as JSON strings (user-chosen keys). */
export function mongoConnections(db: MongoDatabase): ConnectionRepository {
  const connections = () => db.models.connections;
  const get = async (tenantId: string, id: string): Promise<ConnectionRecord | null> => {
    const doc = await connections().findOne({ _id: id, tenantId }).lean<Doc>();
    return doc ? fromConnectionDoc(doc) : null;
  };
  return {
    async insertConnection(record) {
      const { id, config, metadata, requirements, refreshBackoff: _backoff, ...rest } = record;
      await connections().collection.insertOne({ _id: id, ...rest, configJson: JSON.stringify(config), metadataJson: JSON.stringify(metadata), requirementsJson: requirements ? JSON.stringify(requirements) : null } as never);
    },

    getConnection: get,

    async loadConnection(id) {
      const doc = await connections().findById(id).lean<Doc>();
      return doc ? fromConnectionDoc(doc) : null;
    },

    async listConnections(tenantId, page) {
      return findPage(connections(), { tenantId }, page, fromConnectionDoc);
    },

    async updateConnection(tenantId, id, patch) {
      const set: Doc = { updatedAt: new Date() };
      for (const [key, value] of Object.entries(patch)) {
        if (value === undefined) continue;
        if (key === 'config') set['configJson'] = JSON.stringify(value);
        else if (key === 'metadata') set['metadataJson'] = JSON.stringify(value);
        else if (key === 'requirements') set['requirementsJson'] = value === null ? null : JSON.stringify(value);
        else set[key] = value;
      }
      const result = await connections().updateOne({ _id: id, tenantId }, { $set: set });
      if (result.matchedCount === 0) return null;
      return get(tenantId, id);
    },

    async deleteConnection(tenantId, id) {
      const result = await connections().deleteOne({ _id: id, tenantId });
      return result.deletedCount === 1;
    },

    async findConnectionsExpiringBefore(before, limit) {
      const docs = await connections().find({ status: 'active', tokenExpiresAt: { $ne: null, $lt: before } }).limit(limit).lean<Doc[]>();
      return docs.map(fromConnectionDoc);
    },

    async findConnectionsToCheck(before, limit) {
      const docs = await connections()
        .find({ status: 'active', $or: [{ lastCheckAt: null }, { lastCheckAt: { $lt: before } }] })
        .limit(limit)
        .lean<Doc[]>();
      return docs.map(fromConnectionDoc);
    },

    async noteRefreshFailure(id, { reason, at, firstWaitMs, maxWaitMs }) {
      // The caller holds the refresh lease; the wait follows from the count this call made.
      const doc = await connections().findOneAndUpdate({ _id: id }, { $inc: { refreshFailures: 1 }, $set: { refreshError: reason } }, { new: true }).lean<Doc>();
      if (!doc) return null;
      const failures = Number(doc['refreshFailures']);
      const retryAt = new Date(at.getTime() + backoffWait(failures, firstWaitMs, maxWaitMs));
      await connections().updateOne({ _id: id, refreshFailures: failures }, { $set: { refreshRetryAt: retryAt } });
      return { failures, retryAt, reason };
    },

    async clearRefreshFailures(id) {
      await connections().updateOne({ _id: id, refreshFailures: { $gt: 0 } }, { $unset: { refreshFailures: '', refreshRetryAt: '', refreshError: '' } });
    },
  };
}

function fromConnectionDoc(doc: Doc): ConnectionRecord {
  return {
    id: String(doc['_id']),
    tenantId: String(doc['tenantId']),
    connector: String(doc['connector']),
    connectorVersion: String(doc['connectorVersion']),
    config: JSON.parse(String(doc['configJson'] ?? '{}')) as Record<string, unknown>,
    secretsSealed: (doc['secretsSealed'] as string | null) ?? null,
    metadata: JSON.parse(String(doc['metadataJson'] ?? '{}')) as Record<string, unknown>,
    status: (doc['status'] as ConnectionRecord['status'] | undefined) ?? 'active',
    tokenExpiresAt: (doc['tokenExpiresAt'] as Date | null | undefined) ?? null,
    description: (doc['description'] as string | null) ?? null,
    lastCheckAt: (doc['lastCheckAt'] as Date | null) ?? null,
    lastCheckOk: (doc['lastCheckOk'] as boolean | null) ?? null,
    lastError: (doc['lastError'] as string | null) ?? null,
    // Absent until the first requirements check, as the record was inserted.
    ...(typeof doc['requirementsJson'] === 'string' ? { requirements: JSON.parse(doc['requirementsJson']) as NonNullable<ConnectionRecord['requirements']> } : {}),
    ...(typeof doc['refreshFailures'] === 'number' && doc['refreshFailures'] > 0
      ? { refreshBackoff: { failures: doc['refreshFailures'], retryAt: (doc['refreshRetryAt'] as Date | null) ?? new Date(0), reason: String(doc['refreshError'] ?? '') } }
      : {}),
    createdAt: doc['createdAt'] as Date,
    updatedAt: doc['updatedAt'] as Date,
  };
}
