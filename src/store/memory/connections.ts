import { backoffWait } from '../../integrations/model';
import type { ConnectionRecord } from '../../integrations/model';
import type { ConnectionRepository } from '../../integrations/ports';
import { clone, cloneOrNull, duplicateKey, ownedBy, paginate } from './tables';
import type { MemoryTables } from './tables';

/** Connections in memory. */
export function memoryConnections(tables: MemoryTables): ConnectionRepository {
  const connections = tables.connections;
  const active = (): ConnectionRecord[] => [...connections.values()].filter((c) => c.status === 'active');
  return {
    async insertConnection(record) {
      if (connections.has(record.id)) throw duplicateKey();
      connections.set(record.id, clone(record));
    },
    async getConnection(tenantId, id) {
      return cloneOrNull(ownedBy(connections, tenantId, id));
    },
    async loadConnection(id) {
      return cloneOrNull(connections.get(id));
    },
    async listConnections(tenantId, page) {
      return paginate([...connections.values()].filter((c) => c.tenantId === tenantId), page);
    },
    async updateConnection(tenantId, id, patch) {
      const found = ownedBy(connections, tenantId, id);
      if (!found) return null;
      const updated = { ...found, ...clone(patch), updatedAt: new Date() } as ConnectionRecord;
      connections.set(id, updated);
      return clone(updated);
    },
    async deleteConnection(tenantId, id) {
      return ownedBy(connections, tenantId, id) !== undefined && connections.delete(id);
    },
    async findConnectionsExpiringBefore(before, limit) {
      return active()
        .filter((c) => c.tokenExpiresAt !== null && c.tokenExpiresAt < before)
        .slice(0, limit)
        .map(clone);
    },
    async findConnectionsToCheck(before, limit) {
      return active()
        .filter((c) => c.lastCheckAt === null || c.lastCheckAt < before)
        .slice(0, limit)
        .map(clone);
    },
    async noteRefreshFailure(id, { reason, at, firstWaitMs, maxWaitMs }) {
      const found = connections.get(id);
      if (!found) return null;
      const failures = (found.refreshBackoff?.failures ?? 0) + 1;
      const refreshBackoff = { failures, retryAt: new Date(at.getTime() + backoffWait(failures, firstWaitMs, maxWaitMs)), reason };
      connections.set(id, { ...found, refreshBackoff });
      return clone(refreshBackoff);
    },
    async clearRefreshFailures(id) {
      const found = connections.get(id);
      if (!found?.refreshBackoff) return;
      const { refreshBackoff: _cleared, ...rest } = found;
      connections.set(id, rest);
    },
  };
}
