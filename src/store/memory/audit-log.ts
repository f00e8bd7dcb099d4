import type { AuditLog } from '../../access/ports';
import { clone, paginate } from './tables';
import type { MemoryTables } from './tables';

/** The audit trail in memory: insert only. */
export function memoryAuditLog(tables: MemoryTables): AuditLog {
  const entries = tables.auditEntries;
  return {
    async recordAuditEntries(batch) {
      for (const entry of batch) if (!entries.has(entry.id)) entries.set(entry.id, clone(entry));
    },
    async listAuditEntries(tenantId, query) {
      return paginate(
        [...entries.values()].filter(
          (e) =>
            e.tenantId === tenantId &&
            (query.resourceType === undefined || e.resourceType === query.resourceType) &&
            (query.resourceId === undefined || e.resourceId === query.resourceId) &&
            (query.action === undefined || e.action === query.action),
        ),
        query,
      );
    },
  };
}
