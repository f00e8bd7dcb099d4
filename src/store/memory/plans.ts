import type { TenantPlans, TenantResourceCounts, UsageCounters } from '../../plans/ports';
import { clone, cloneOrNull } from './tables';
import type { MemoryTables } from './tables';

/** Tenants' plans, usage rows (per process, summed on read) and usage notices in memory. */
export function memoryPlans(tables: MemoryTables): TenantPlans & UsageCounters & TenantResourceCounts {
  return {
    async getTenantPlan(tenantId) {
      return cloneOrNull(tables.tenantPlans.get(tenantId));
    },
    async putTenantPlan(record) {
      tables.tenantPlans.set(record.tenantId, clone(record));
    },
    async listTenantsOnPlans(plans) {
      return [...tables.tenantPlans.values()].filter((r) => plans.includes(r.plan)).map((r) => ({ tenantId: r.tenantId, plan: r.plan }));
    },
    async addUsage(processId, deltas) {
      for (const delta of deltas) {
        const key = JSON.stringify([processId, delta.tenantId, delta.period, delta.metric]);
        const row = tables.usage.get(key) ?? { ...delta, count: 0 };
        row.count += delta.count;
        tables.usage.set(key, row);
      }
    },
    async getUsage(tenantId, period) {
      let deliveries = 0;
      for (const row of tables.usage.values()) if (row.tenantId === tenantId && row.period === period && row.metric === 'deliveries') deliveries += row.count;
      return { deliveries };
    },
    async claimUsageNotice(tenantId, period, notice) {
      const key = JSON.stringify([tenantId, period, notice]);
      if (tables.usageNotices.has(key)) return false;
      tables.usageNotices.add(key);
      return true;
    },
    async releaseUsageNotice(tenantId, period, notice) {
      tables.usageNotices.delete(JSON.stringify([tenantId, period, notice]));
    },
    async findUsageNotices(notice) {
      return [...tables.usageNotices]
        .map((key) => JSON.parse(key) as [string, string, string])
        .filter(([, , n]) => n === notice)
        .map(([tenantId, period]) => ({ tenantId, period }));
    },
    async countSubscriptions(tenantId) {
      return [...tables.subscriptions.values()].filter((s) => s.tenantId === tenantId && s.kind !== 'relay').length;
    },
    async countConnections(tenantId) {
      return [...tables.connections.values()].filter((c) => c.tenantId === tenantId).length;
    },
  };
}
