import { apiKeyIdFor } from '../../access/model';
import type { ApiKeys } from '../../access/ports';
import { clone, cloneOrNull, paginate } from './tables';
import type { MemoryTables } from './tables';

/** API keys in memory, by hash. */
export function memoryApiKeys(tables: MemoryTables): ApiKeys {
  const keys = tables.apiKeys;
  return {
    async upsertApiKey(input) {
      const found = keys.get(input.hash);
      keys.set(input.hash, {
        id: input.id ?? found?.id ?? apiKeyIdFor(input.hash),
        hash: input.hash,
        tenantId: input.tenantId,
        name: input.name,
        scopes: [...(input.scopes ?? found?.scopes ?? ['admin'])],
        createdAt: found?.createdAt ?? new Date(input.createdAt),
        lastUsedAt: found?.lastUsedAt ?? null,
        revokedAt: found?.revokedAt ?? null,
      });
    },
    async findApiKey(hash) {
      return cloneOrNull(keys.get(hash));
    },
    async listApiKeys(tenantId, page) {
      return paginate([...keys.values()].filter((k) => k.tenantId === tenantId), page);
    },
    async revokeApiKey(tenantId, id, at) {
      const found = [...keys.values()].find((k) => k.tenantId === tenantId && k.id === id);
      if (!found) return null;
      found.revokedAt ??= new Date(at);
      return clone(found);
    },
    async touchApiKey(hash, at) {
      const found = keys.get(hash);
      if (found) found.lastUsedAt = new Date(at);
    },
  };
}
