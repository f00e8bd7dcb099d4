import { UNFINISHED_EXPORT_STATES } from '../../integrations/connection-export';
import type { ConnectionExports } from '../../integrations/ports';
import { clone } from './tables';
import type { MemoryTables } from './tables';

/** Exports of past events in memory. */
export function memoryConnectionExports(tables: MemoryTables): ConnectionExports {
  const exports = tables.exports;
  return {
    async insertExport(record) {
      if (exports.has(record.id)) throw Object.assign(new Error(`duplicate export id ${record.id}`), { code: 11000 });
      exports.set(record.id, clone(record));
    },
    async getExport(tenantId, id) {
      const found = exports.get(id);
      return found && found.tenantId === tenantId ? clone(found) : null;
    },
    async listExports(tenantId, connectionId, limit) {
      return [...exports.values()]
        .filter((e) => e.tenantId === tenantId && e.connectionId === connectionId)
        .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1))
        .slice(0, limit)
        .map(clone);
    },
    async updateExport(id, patch) {
      const found = exports.get(id);
      if (found) Object.assign(found, clone(patch));
    },
    async unfinishedExports(limit) {
      return [...exports.values()]
        .filter((e) => UNFINISHED_EXPORT_STATES.includes(e.state))
        .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
        .slice(0, limit)
        .map(clone);
    },
  };
}
