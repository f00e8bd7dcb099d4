import type { HealthRecord, HealthState, StoredHealthSlice } from '../../pipeline/health-model';
import type { EndpointHealthLog } from '../../pipeline/ports';
import type { MongoDatabase } from './database';
import { dateOrNull, textOrNull } from './documents';
import type { Doc } from './documents';

/**
 * Endpoint health in `endpoint_health_slices` (one document per process, subscription and slice
 * start, replaced whole by its process) and `endpoint_health` (the monitor's verdict, under the
 * subscription's id). No counters are incremented in place: sums are made by the reader.
 */
export function mongoEndpointHealthLog(db: MongoDatabase): EndpointHealthLog {
  const slices = (): typeof db.models.healthSlices => db.models.healthSlices;
  const records = (): typeof db.models.healthRecords => db.models.healthRecords;
  return {
    async saveHealthSlices(processId, rows) {
      await Promise.all(
        rows.map((row) => {
          const _id = JSON.stringify([processId, row.subscriptionId, row.sliceStart.getTime()]);
          return slices().replaceOne({ _id }, { _id, processId, ...row }, { upsert: true });
        }),
      );
    },

    async listHealthSlices(since, subscriptionIds) {
      const filter: Doc = { sliceStart: { $gte: since } };
      if (subscriptionIds) filter['subscriptionId'] = { $in: [...subscriptionIds] };
      const docs = await slices().find(filter).lean<Doc[]>();
      return docs.map(sliceOf);
    },

    async purgeHealthSlices(before) {
      await slices().deleteMany({ sliceStart: { $lt: before } });
    },

    async saveHealthRecord(record) {
      const { subscriptionId, ...rest } = record;
      await records().replaceOne({ _id: subscriptionId }, { _id: subscriptionId, ...rest }, { upsert: true });
    },

    async getHealthRecords(subscriptionIds) {
      if (subscriptionIds.length === 0) return [];
      const docs = await records().find({ _id: { $in: [...subscriptionIds] } }).lean<Doc[]>();
      return docs.map(recordOf);
    },

    async listUnhealthyRecords() {
      const docs = await records().find({ state: { $in: ['degraded', 'failing', 'disabled'] } }).lean<Doc[]>();
      return docs.map(recordOf);
    },

    async deleteHealthRecord(subscriptionId) {
      await records().deleteOne({ _id: subscriptionId });
    },
  };
}

function sliceOf(doc: Doc): StoredHealthSlice {
  return {
    processId: String(doc['processId']),
    tenantId: String(doc['tenantId']),
    subscriptionId: String(doc['subscriptionId']),
    sliceStart: doc['sliceStart'] as Date,
    attempts: Number(doc['attempts'] ?? 0),
    succeeded: Number(doc['succeeded'] ?? 0),
    latency: Array.isArray(doc['latency']) ? (doc['latency'] as unknown[]).map(Number) : [],
    lastSuccessAt: dateOrNull(doc['lastSuccessAt']),
    lastFailureAt: dateOrNull(doc['lastFailureAt']),
    recentFailures: Array.isArray(doc['recentFailures']) ? (doc['recentFailures'] as unknown[]).filter((d): d is Date => d instanceof Date) : [],
  };
}

function recordOf(doc: Doc): HealthRecord {
  return {
    subscriptionId: String(doc['_id']),
    tenantId: String(doc['tenantId']),
    state: String(doc['state']) as HealthState,
    since: doc['since'] as Date,
    reason: textOrNull(doc['reason']),
    lastSuccessAt: dateOrNull(doc['lastSuccessAt']),
    lastFailureAt: dateOrNull(doc['lastFailureAt']),
    failingSince: dateOrNull(doc['failingSince']),
    countFrom: doc['countFrom'] as Date,
    updatedAt: doc['updatedAt'] as Date,
  };
}
