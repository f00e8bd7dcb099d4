import type { SyncCountRow } from '../../integrations/model';
import type { SyncCounts } from '../../integrations/ports';
import type { MongoDatabase } from './database';
import type { Doc } from './documents';

/** Sync counts in `sync_counts`: one row per process, connection, object type and hour, summed on read. */
export function mongoSyncCounts(db: MongoDatabase): SyncCounts {
  return {
    async saveSyncCounts(processId, rows) {
      await Promise.all(
        rows.map((row) => {
          const _id = JSON.stringify([processId, row.connectionId, row.objectType, row.hour.getTime()]);
          return db.models.syncCounts.replaceOne({ _id }, { _id, ...row }, { upsert: true });
        }),
      );
    },

    async listSyncCounts(tenantId, connectionId, since) {
      // Summed here rather than with $group: FerretDB 1.24 returns 0 for every $sum after the first in one $group.
      const docs = await db.models.syncCounts.find({ tenantId, connectionId, hour: { $gte: since } }).lean<Doc[]>();
      const sums = new Map<string, SyncCountRow>();
      for (const doc of docs) {
        const objectType = String(doc['objectType']);
        const hour = doc['hour'] as Date;
        const key = `${objectType}|${hour.getTime()}`;
        const sum = sums.get(key) ?? { tenantId, connectionId, objectType, hour, created: 0, updated: 0, failed: 0 };
        sum.created += Number(doc['created'] ?? 0);
        sum.updated += Number(doc['updated'] ?? 0);
        sum.failed += Number(doc['failed'] ?? 0);
        sums.set(key, sum);
      }
      return [...sums.values()].sort((a, b) => a.hour.getTime() - b.hour.getTime() || a.objectType.localeCompare(b.objectType));
    },
  };
}
