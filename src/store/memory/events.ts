import type { InvalidEventLog } from '../../events/intake';
import type { ExportEvents } from '../../integrations/ports';
import type { StoredEvent } from '../../pipeline/model';
import type { EventLog } from '../../pipeline/ports';
import { clone, cloneOrNull } from './tables';
import type { MemoryTables } from './tables';

/** Events in memory, with their routed marks and the invalid events parked. */
export function memoryEventLog(tables: MemoryTables): EventLog & InvalidEventLog & ExportEvents {
  const events = tables.events;
  return {
    async insertEvents(batch) {
      return batch.map((event) => {
        if (events.has(event.key)) return 'duplicate';
        events.set(event.key, clone(event));
        return 'inserted';
      });
    },
    async getEvent(key) {
      return cloneOrNull(events.get(key));
    },
    async markEventsRouted(keys, at) {
      for (const key of keys) {
        const found = events.get(key);
        if (found && found.routedAt === null) found.routedAt = at;
      }
    },
    async recentEvents(tenantId, type, limit) {
      return [...events.values()]
        .filter((e) => e.envelope.type === type && (e.scopeTenantId === null || e.scopeTenantId === tenantId))
        .sort((a, b) => b.receivedAt.getTime() - a.receivedAt.getTime())
        .slice(0, limit)
        .map((e) => clone(e.envelope));
    },
    async eventsForExport(tenantId, type, window, after, limit) {
      const afterCursor = (e: StoredEvent): boolean =>
        after === null || e.receivedAt > after.receivedAt || (e.receivedAt.getTime() === after.receivedAt.getTime() && e.key > after.key);
      return [...events.values()]
        .filter((e) => e.envelope.type === type && (e.scopeTenantId === null || e.scopeTenantId === tenantId))
        .filter((e) => e.receivedAt >= window.since && e.receivedAt < window.until && afterCursor(e))
        .sort((a, b) => a.receivedAt.getTime() - b.receivedAt.getTime() || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
        .slice(0, limit)
        .map((e) => ({ key: e.key, receivedAt: e.receivedAt, envelope: clone(e.envelope) }));
    },
    async recordInvalidEvent(record) {
      tables.invalidEvents.push(clone(record));
    },
  };
}
