import type { TrackedRecords } from '../../integrations/ports';
import { OPEN_STATES } from '../../integrations/tracked-record';
import type { TrackedRecord } from '../../integrations/tracked-record';
import { clone } from './tables';
import type { MemoryTables } from './tables';

const time = (d: Date | null): number => (d === null ? -Infinity : d.getTime());

/** Tracked CRM records in memory. */
export function memoryTrackedRecords(tables: MemoryTables): TrackedRecords {
  const records = tables.trackedRecords;
  const open = (r: TrackedRecord): boolean => OPEN_STATES.includes(r.state);
  return {
    async trackRecord(record) {
      const existing = records.get(record.id);
      if (!existing) records.set(record.id, clone(record));
      else if (existing.state === 'sent' && record.state === 'created') Object.assign(existing, { state: 'created', externalId: record.externalId, createdAt: record.createdAt });
    },
    async connectionsWithOpenRecords(limit) {
      return [...new Set([...records.values()].filter(open).map((r) => r.connectionId))].slice(0, limit);
    },
    async openRecords(connectionId, limit) {
      return [...records.values()]
        .filter((r) => r.connectionId === connectionId && open(r))
        .sort((a, b) => time(a.checkedAt) - time(b.checkedAt) || time(a.createdAt) - time(b.createdAt))
        .slice(0, limit)
        .map(clone);
    },
    async updateTrackedRecord(id, from, patch) {
      const record = records.get(id);
      if (!record || record.state !== from) return false;
      Object.assign(record, clone(patch));
      return true;
    },
    async listTrackedRecords(tenantId, connectionId, since, limit) {
      return [...records.values()]
        .filter((r) => r.tenantId === tenantId && r.connectionId === connectionId && r.sentAt >= since)
        .sort((a, b) => a.sentAt.getTime() - b.sentAt.getTime())
        .slice(0, limit)
        .map(clone);
    },
  };
}
