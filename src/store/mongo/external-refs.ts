import type { ExternalRefStore } from '../../integrations/ports';
import type { MongoDatabase } from './database';
import type { Doc } from './documents';

/** External ids in `external_refs`, under the JSON of [connection, type, key]. */
export function mongoExternalRefs(db: MongoDatabase): ExternalRefStore {
  return {
    async putExternalRef(connectionId, type, key, externalId) {
      const _id = JSON.stringify([connectionId, type, key]);
      await db.models.externalRefs.replaceOne({ _id }, { _id, connectionId, externalId, at: new Date() }, { upsert: true });
    },

    async getExternalRef(connectionId, type, key) {
      const doc = await db.models.externalRefs.findById(JSON.stringify([connectionId, type, key])).lean<Doc>();
      return doc ? String(doc['externalId']) : null;
    },
  };
}
