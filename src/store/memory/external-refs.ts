import type { ExternalRefStore } from '../../integrations/ports';
import type { MemoryTables } from './tables';

/** External ids in memory, by connection, type and key. */
export function memoryExternalRefs(tables: MemoryTables): ExternalRefStore {
  const refs = tables.externalRefs;
  return {
    async putExternalRef(connectionId, type, key, externalId) {
      refs.set(`${connectionId}\n${type}\n${key}`, externalId);
    },
    async getExternalRef(connectionId, type, key) {
      return refs.get(`${connectionId}\n${type}\n${key}`) ?? null;
    },
  };
}
