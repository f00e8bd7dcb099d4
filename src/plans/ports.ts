import type { TenantPlanRecord, UsageDelta, UsageMetric, UsageNotice } from './model';

/** Which plan each tenant has (a tenant without a record has the hub's default plan). */
export interface TenantPlans {
  getTenantPlan(tenantId: string): Promise<TenantPlanRecord | null>;
  /** Replaces the tenant's record as a whole (creates it the first time). */
  putTenantPlan(record: TenantPlanRecord): Promise<void>;
  /** The tenants whose stored plan is one of `plans`, in no particular order (none for an empty list). */
  listTenantsOnPlans(plans: readonly string[]): Promise<Array<{ tenantId: string; plan: string }>>;
}

/** Usage counted by every process: rows per process, summed on read; notices claimed once across processes. */
export interface UsageCounters {
  /** Adds each delta to this process's row of its tenant, period and metric (created at 0 the first time). */
  addUsage(processId: string, deltas: readonly UsageDelta[]): Promise<void>;
  /** A tenant's counts in a period, summed over every process (0 for a metric never counted). */
  getUsage(tenantId: string, period: string): Promise<Record<UsageMetric, number>>;
  /** True for the one caller that claims this notice of the tenant and period first; false after that. */
  claimUsageNotice(tenantId: string, period: string, notice: UsageNotice): Promise<boolean>;
  /** Gives a claimed notice up, so it can be claimed again (a no-op when none is claimed). */
  releaseUsageNotice(tenantId: string, period: string, notice: UsageNotice): Promise<void>;
  /** Every claimed notice of this kind, of every tenant and period. */
  findUsageNotices(notice: UsageNotice): Promise<Array<{ tenantId: string; period: string }>>;
}

/** What a tenant has made, counted against its plan's limits. */
export interface TenantResourceCounts {
  /** Webhook subscriptions and integrations of the tenant (relays not counted). */
  countSubscriptions(tenantId: string): Promise<number>;
  countConnections(tenantId: string): Promise<number>;
}
