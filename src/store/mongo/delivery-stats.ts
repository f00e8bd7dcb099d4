import type { mongo } from 'mongoose';
import type { Retention } from '../../jobs/ports';
import { addRow, emptyRow, STATS_COUNTERS } from '../../pipeline/delivery-stats';
import type { DeliveryStatsRow, Histogram, StatsCounter, StatsResolution } from '../../pipeline/delivery-stats';
import type { DeliveryStats } from '../../pipeline/ports';
import type { MongoDatabase } from './database';
import type { Doc } from './documents';

const RESOLUTION_CODE: Record<StatsResolution, string> = { minute: 'm', hour: 'h' };
const HISTOGRAM_FIELDS = { latency: 'lat', firstAttempt: 'first', toSuccess: 'ok' } as const;

/**
 * Delivery stats in `delivery_stats` (see the schema in models.ts). One ordered bulkWrite per
 * call: each row an upsert that `$inc`s its counters and histogram buckets, guarded by the
 * write id so that a retried call adds nothing twice. A row the call already reached fails the
 * guard and its upsert hits the unique _id (11000): the write goes on after it.
 */
export function mongoDeliveryStats(db: MongoDatabase): DeliveryStats & Pick<Retention, 'purgeDeliveryStatsBefore'> {
  const stats = () => db.models.deliveryStats.collection;
  return {
    async addDeliveryStats(writer, writeId, rows) {
      let ops = rows.map((row) => upsertOf(writer, writeId, row));
      while (ops.length > 0) {
        try {
          await stats().bulkWrite(ops, { ordered: true });
          return;
        } catch (err) {
          const failed = (err as { writeErrors?: Array<{ index: number; code: number }> | { index: number; code: number } }).writeErrors;
          const first = Array.isArray(failed) ? failed[0] : failed;
          // Anything but "this row has this write already" is the caller's to retry (the guard makes that safe).
          if (first?.code !== 11000) throw err;
          ops = ops.slice(first.index + 1);
        }
      }
    },

    async listDeliveryStats(tenantId, query) {
      const filter: Doc = { tenantId, resolution: RESOLUTION_CODE[query.resolution], start: { $gte: query.from, $lt: query.to } };
      if (query.subscriptionId !== undefined) filter['subscriptionId'] = query.subscriptionId;
      if (query.eventType !== undefined) filter['eventType'] = query.eventType;
      // Summed here, not with $group: FerretDB 1.24 gives 0 for every $sum after the first of a $group.
      const docs = await stats().find(filter).toArray();
      const sums = new Map<string, DeliveryStatsRow>();
      for (const doc of docs) {
        const subscriptionId = String(doc['subscriptionId']);
        const eventType = String(doc['eventType']);
        const start = doc['start'] as Date;
        const key = JSON.stringify([subscriptionId, eventType, start.getTime()]);
        let sum = sums.get(key);
        if (!sum) sums.set(key, (sum = emptyRow(tenantId, subscriptionId, eventType, query.resolution, start)));
        addRow(sum, rowParts(doc));
      }
      return [...sums.values()];
    },

    async listDeliveryStatsTenants(query) {
      // Served by the { start } index: the window is short (the SLA check's), whatever the number of tenants.
      const tenants = await stats().distinct('tenantId', { start: { $gte: query.from, $lt: query.to }, resolution: RESOLUTION_CODE[query.resolution] });
      return tenants.map(String);
    },

    async purgeDeliveryStatsBefore(before) {
      const result = await stats().deleteMany({ start: { $lt: before } });
      return result.deletedCount;
    },
  };
}

function upsertOf(writer: string, writeId: number, row: DeliveryStatsRow): mongo.AnyBulkWriteOperation {
  const resolution = RESOLUTION_CODE[row.resolution];
  const _id = JSON.stringify([writer, row.tenantId, row.subscriptionId, row.eventType, resolution, row.start.getTime()]);
  const inc: Record<string, number> = {};
  for (const k in row.counts) inc[`c.${k}`] = row.counts[k as StatsCounter] ?? 0;
  for (const [name, field] of Object.entries(HISTOGRAM_FIELDS)) {
    const h = row[name as keyof typeof HISTOGRAM_FIELDS];
    for (const i in h) inc[`${field}.${i}`] = h[i as unknown as number] ?? 0;
  }
  return {
    updateOne: {
      filter: { _id: _id as never, w: { $ne: writeId } },
      update: {
        $inc: inc,
        $set: { w: writeId },
        $setOnInsert: { writer, tenantId: row.tenantId, subscriptionId: row.subscriptionId, eventType: row.eventType, resolution, start: row.start },
      },
      upsert: true,
    },
  };
}

function rowParts(doc: Doc): Pick<DeliveryStatsRow, 'counts' | 'latency' | 'firstAttempt' | 'toSuccess'> {
  const c = (doc['c'] ?? {}) as Record<string, unknown>;
  const counts: DeliveryStatsRow['counts'] = {};
  for (const k of STATS_COUNTERS) if (typeof c[k] === 'number') counts[k] = c[k];
  return { counts, latency: histogram(doc['lat']), firstAttempt: histogram(doc['first']), toSuccess: histogram(doc['ok']) };
}

function histogram(value: unknown): Histogram {
  const h: Histogram = {};
  if (value && typeof value === 'object') for (const [k, n] of Object.entries(value)) if (typeof n === 'number') h[Number(k)] = n;
  return h;
}
