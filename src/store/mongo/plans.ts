import type { TenantPlanRecord } from '../../plans/model';
import type { TenantPlans, TenantResourceCounts, UsageCounters } from '../../plans/ports';
import type { MongoDatabase } from './database';
import type { Doc } from './documents';

/**
 * Tenants' plans in `tenant_plans` (one document per tenant under its id); usage in `usage_counts`,
 * one row per process, tenant, month and metric, incremented by that process alone and summed on
 * read; usage notices in `usage_notices` under a unique id (claimed by inserting it).
 */
export function mongoPlans(db: MongoDatabase): TenantPlans & UsageCounters & TenantResourceCounts {
  const models = () => db.models;
  return {
    async getTenantPlan(tenantId) {
      const doc = await models().tenantPlans.findById(tenantId).lean<Doc>();
      if (!doc) return null;
      return {
        tenantId,
        plan: String(doc['plan']),
        source: doc['source'] as TenantPlanRecord['source'],
        changedAt: new Date(doc['changedAt'] as Date),
        directoryChangedAt: doc['directoryChangedAt'] ? new Date(doc['directoryChangedAt'] as Date) : null,
      };
    },
    async putTenantPlan(record) {
      await models().tenantPlans.replaceOne(
        { _id: record.tenantId },
        { _id: record.tenantId, plan: record.plan, source: record.source, changedAt: record.changedAt, directoryChangedAt: record.directoryChangedAt },
        { upsert: true },
      );
    },
    async listTenantsOnPlans(plans) {
      if (plans.length === 0) return [];
      const docs = await models().tenantPlans.find({ plan: { $in: [...plans] } }).lean<Doc[]>();
      return docs.map((doc) => ({ tenantId: String(doc['_id']), plan: String(doc['plan']) }));
    },
    async addUsage(processId, deltas) {
      await Promise.all(
        deltas.map((delta) => {
          const _id = JSON.stringify([processId, delta.tenantId, delta.period, delta.metric]);
          return models().usageCounts.updateOne(
            { _id },
            { $inc: { count: delta.count }, $setOnInsert: { tenantId: delta.tenantId, period: delta.period, metric: delta.metric } },
            { upsert: true },
          );
        }),
      );
    },
    async getUsage(tenantId, period) {
      // Summed here rather than with $group (see docs/architecture.md, MongoDB).
      const docs = await models().usageCounts.find({ tenantId, period }).lean<Doc[]>();
      let deliveries = 0;
      for (const doc of docs) if (doc['metric'] === 'deliveries') deliveries += Number(doc['count'] ?? 0);
      return { deliveries };
    },
    async claimUsageNotice(tenantId, period, notice) {
      try {
        await models().usageNotices.create({ _id: JSON.stringify([tenantId, period, notice]), tenantId, period, notice });
        return true;
      } catch (err) {
        if ((err as { code?: number }).code === 11000) return false;
        throw err;
      }
    },
    async releaseUsageNotice(tenantId, period, notice) {
      await models().usageNotices.deleteOne({ _id: JSON.stringify([tenantId, period, notice]) });
    },
    async findUsageNotices(notice) {
      const docs = await models().usageNotices.find({ notice }).lean<Doc[]>();
      return docs.map((d) => ({ tenantId: String(d['tenantId']), period: String(d['period']) }));
    },
    async countSubscriptions(tenantId) {
      return models().subscriptions.countDocuments({ tenantId, kind: { $ne: 'relay' } });
    },
    async countConnections(tenantId) {
      return models().connections.countDocuments({ tenantId });
    },
  };
}
