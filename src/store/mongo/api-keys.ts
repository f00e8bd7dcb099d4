import { apiKeyIdFor } from '../../access/model';
import type { ApiKeyRecord } from '../../access/model';
import type { ApiKeys } from '../../access/ports';
import type { MongoDatabase } from './database';
import type { Doc } from './documents';

/** API keys in `api_keys`, by the key's hash; keyId is the public id (absent on keys stored before ids: derived). */
export function mongoApiKeys(db: MongoDatabase): ApiKeys {
  const keys = () => db.models.apiKeys;
  return {
    /** Never touches lastUsedAt or revokedAt: restarting with a revoked bootstrap key keeps it revoked. */
    async upsertApiKey(input) {
      const set: Doc = { tenantId: input.tenantId, name: input.name };
      const onInsert: Doc = { createdAt: input.createdAt, lastUsedAt: null, revokedAt: null };
      if (input.id !== undefined) set['keyId'] = input.id;
      else onInsert['keyId'] = apiKeyIdFor(input.hash);
      if (input.scopes !== undefined) set['scopes'] = input.scopes;
      await keys().collection.updateOne({ _id: input.hash as never }, { $set: set, $setOnInsert: onInsert }, { upsert: true });
    },

    async findApiKey(hash) {
      const doc = await keys().findById(hash).lean<Doc>();
      return doc ? fromApiKeyDoc(doc) : null;
    },

    async listApiKeys(tenantId, page) {
      // A tenant has a handful of keys, and ids derived for old keys are not time-ordered: sort here.
      const docs = await keys().find({ tenantId }).lean<Doc[]>();
      const sorted = docs
        .map(fromApiKeyDoc)
        .filter((k) => page.cursor === undefined || k.id < page.cursor)
        .sort((a, b) => (a.id < b.id ? 1 : -1));
      const data = sorted.slice(0, page.limit);
      const last = data[data.length - 1];
      return { data, nextCursor: sorted.length > page.limit && last ? last.id : null };
    },

    async revokeApiKey(tenantId, id, at) {
      let doc = await keys().findOne({ tenantId, keyId: id }).lean<Doc>();
      if (!doc) {
        const legacy = await keys().find({ tenantId, keyId: { $exists: false } }).lean<Doc[]>();
        doc = legacy.find((d) => apiKeyIdFor(String(d['_id'])) === id) ?? null;
      }
      if (!doc) return null;
      const record = fromApiKeyDoc(doc);
      if (record.revokedAt === null) {
        record.revokedAt = at;
        await keys().collection.updateOne({ _id: record.hash as never }, { $set: { revokedAt: at, keyId: record.id } });
      }
      return record;
    },

    async touchApiKey(hash, at) {
      await keys().collection.updateOne({ _id: hash as never }, { $set: { lastUsedAt: at } });
    },
  };
}

function fromApiKeyDoc(doc: Doc): ApiKeyRecord {
  const hash = String(doc['_id']);
  return {
    id: typeof doc['keyId'] === 'string' ? doc['keyId'] : apiKeyIdFor(hash),
    hash,
    tenantId: String(doc['tenantId']),
    name: String(doc['name']),
    // Keys stored before scopes existed (bootstrap, CLI) were all-powerful: they stay admin keys.
    scopes: Array.isArray(doc['scopes']) ? (doc['scopes'] as unknown[]).map(String) : ['admin'],
    createdAt: doc['createdAt'] as Date,
    lastUsedAt: (doc['lastUsedAt'] as Date | null | undefined) ?? null,
    revokedAt: (doc['revokedAt'] as Date | null | undefined) ?? null,
  };
}
