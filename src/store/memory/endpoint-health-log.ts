import type { EndpointHealthLog } from '../../pipeline/ports';
import { clone } from './tables';
import type { MemoryTables } from './tables';

/** Endpoint health in memory: slices per process, subscription and slice start; one verdict per subscription. */
export function memoryEndpointHealthLog(tables: MemoryTables): EndpointHealthLog {
  const slices = tables.healthSlices;
  const records = tables.healthRecords;
  return {
    async saveHealthSlices(processId, rows) {
      for (const row of rows) slices.set(`${processId}|${row.subscriptionId}|${row.sliceStart.getTime()}`, clone({ ...row, processId }));
    },
    async listHealthSlices(since, subscriptionIds) {
      const wanted = subscriptionIds ? new Set(subscriptionIds) : null;
      return [...slices.values()].filter((s) => s.sliceStart >= since && (wanted === null || wanted.has(s.subscriptionId))).map(clone);
    },
    async purgeHealthSlices(before) {
      for (const [key, s] of slices) if (s.sliceStart < before) slices.delete(key);
    },
    async saveHealthRecord(record) {
      records.set(record.subscriptionId, clone(record));
    },
    async getHealthRecords(subscriptionIds) {
      return subscriptionIds.flatMap((id) => {
        const found = records.get(id);
        return found ? [clone(found)] : [];
      });
    },
    async listUnhealthyRecords() {
      return [...records.values()].filter((r) => r.state !== 'healthy').map(clone);
    },
    async deleteHealthRecord(subscriptionId) {
      records.delete(subscriptionId);
    },
  };
}
