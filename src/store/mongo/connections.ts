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
      const { id, config, metadata, requirements, ...rest } = record;
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
    createdAt: doc['createdAt'] as Date,
    updatedAt: doc['updatedAt'] as Date,
  };
}
