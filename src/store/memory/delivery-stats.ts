import type { Retention } from '../../jobs/ports';
import { addRow, emptyRow } from '../../pipeline/delivery-stats';
import type { DeliveryStatsRow } from '../../pipeline/delivery-stats';
import type { DeliveryStats } from '../../pipeline/ports';
import type { MemoryTables } from './tables';

/** Delivery stats in memory: one row per writer, tenant, subscription, event type, resolution and start, summed on read. */
export function memoryDeliveryStats(tables: MemoryTables): DeliveryStats & Pick<Retention, 'purgeDeliveryStatsBefore'> {
  const rows = tables.deliveryStats;
  return {
    async addDeliveryStats(writer, writeId, added) {
      for (const row of added) {
        const key = JSON.stringify([writer, row.tenantId, row.subscriptionId, row.eventType, row.resolution, row.start.getTime()]);
        const stored = rows.get(key) ?? { writeId: 0, row: emptyRow(row.tenantId, row.subscriptionId, row.eventType, row.resolution, new Date(row.start)) };
        if (stored.writeId === writeId) continue;
        addRow(stored.row, row);
        stored.writeId = writeId;
        rows.set(key, stored);
      }
    },
    async listDeliveryStats(tenantId, query) {
      const sums = new Map<string, DeliveryStatsRow>();
      for (const { row } of rows.values()) {
        if (row.tenantId !== tenantId || row.resolution !== query.resolution || row.start < query.from || row.start >= query.to) continue;
        if (query.subscriptionId !== undefined && row.subscriptionId !== query.subscriptionId) continue;
        if (query.eventType !== undefined && row.eventType !== query.eventType) continue;
        const key = JSON.stringify([row.subscriptionId, row.eventType, row.start.getTime()]);
        let sum = sums.get(key);
        if (!sum) sums.set(key, (sum = emptyRow(tenantId, row.subscriptionId, row.eventType, row.resolution, new Date(row.start))));
        addRow(sum, row);
      }
      return [...sums.values()];
    },
    async listDeliveryStatsTenants(query) {
      const tenants = new Set<string>();
      for (const { row } of rows.values()) if (row.resolution === query.resolution && row.start >= query.from && row.start < query.to) tenants.add(row.tenantId);
      return [...tenants];
    },
    async purgeDeliveryStatsBefore(before) {
      let purged = 0;
      for (const [key, { row }] of rows) if (row.start < before && rows.delete(key)) purged++;
      return purged;
    },
  };
}
