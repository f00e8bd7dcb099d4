import type { SyncCountRow } from '../../integrations/model';
import type { SyncCounts } from '../../integrations/ports';
import { clone } from './tables';
import type { MemoryTables } from './tables';

/** Sync counts in memory: one row per process, connection, object type and hour, summed on read. */
export function memorySyncCounts(tables: MemoryTables): SyncCounts {
  const counts = tables.syncCounts;
  return {
    async saveSyncCounts(processId, rows) {
      for (const row of rows) counts.set(`${processId}|${row.connectionId}|${row.objectType}|${row.hour.getTime()}`, clone(row));
    },
    async listSyncCounts(tenantId, connectionId, since) {
      const sums = new Map<string, SyncCountRow>();
      for (const row of counts.values()) {
        if (row.tenantId !== tenantId || row.connectionId !== connectionId || row.hour < since) continue;
        const key = `${row.objectType}|${row.hour.getTime()}`;
        const sum = sums.get(key) ?? { ...clone(row), created: 0, updated: 0, failed: 0 };
        sum.created += row.created;
        sum.updated += row.updated;
        sum.failed += row.failed;
        sums.set(key, sum);
      }
      return [...sums.values()].sort((a, b) => a.hour.getTime() - b.hour.getTime() || a.objectType.localeCompare(b.objectType));
    },
  };
}
