import type { TunnelRecord } from '../../tunnels/model';
import type { TunnelStore } from '../../tunnels/ports';
import type { MongoDatabase } from './database';
import { findPage } from './documents';
import type { Doc } from './documents';

/** Tunnels in `tunnels`, one document each; the token hash is unique (an index). */
export function mongoTunnels(db: MongoDatabase): TunnelStore {
  const tunnels = () => db.models.tunnels;
  const toRecord = (doc: Doc): TunnelRecord => ({
    id: String(doc['_id']),
    tenantId: String(doc['tenantId']),
    tokenHash: String(doc['tokenHash']),
    resumeHash: String(doc['resumeHash']),
    target: String(doc['target'] ?? ''),
    apiKeyId: String(doc['apiKeyId']),
    holder: typeof doc['holder'] === 'string' ? doc['holder'] : null,
    lastSeenAt: new Date(doc['lastSeenAt'] as Date),
    keepSeconds: Number(doc['keepSeconds']),
    createdAt: new Date(doc['createdAt'] as Date),
  });
  return {
    async insertTunnel(record) {
      const { id, ...rest } = record;
      await tunnels().collection.insertOne({ _id: id, ...rest } as never);
    },
    async getTunnel(tenantId, id) {
      const doc = await tunnels().findOne({ _id: id, tenantId }).lean<Doc>();
      return doc ? toRecord(doc) : null;
    },
    async findTunnelByTokenHash(tokenHash) {
      const doc = await tunnels().findOne({ tokenHash }).lean<Doc>();
      return doc ? toRecord(doc) : null;
    },
    async listTunnels(tenantId, page) {
      return findPage(tunnels(), { tenantId }, page, toRecord);
    },
    async setTunnelHolder(id, holder, lastSeenAt, onlyIfHolder) {
      const filter = onlyIfHolder === undefined ? { _id: id } : { _id: id, holder: onlyIfHolder };
      const result = await tunnels().collection.updateOne(filter as never, { $set: { holder, lastSeenAt } });
      return result.matchedCount === 1;
    },
    async deleteTunnel(tenantId, id) {
      const result = await tunnels().collection.deleteOne({ _id: id, tenantId } as never);
      return result.deletedCount === 1;
    },
  };
}
