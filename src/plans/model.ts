/** The limits of a plan: whole numbers, null for none. */
export interface PlanLimits {
  /** Webhook subscriptions and integrations (relays of `hookhub listen` are not counted). */
  subscriptions: number | null;
  connections: number | null;
  /** Deliveries started per calendar month (UTC), each delivery counted once whatever its retries. */
  deliveredEventsPerMonth: number | null;
  /** The highest `rateLimit.requestsPerSecond` a subscription may ask for. */
  deliveriesPerSecondPerSubscription: number | null;
  attemptRetentionDays: number | null;
  /** The largest `batch.maxEvents`. */
  batchSize: number | null;
}

export type LimitName = keyof PlanLimits;

/** What a plan may use. */
export interface PlanFeatures {
  transforms: boolean;
  jsonataFilters: boolean;
  payloadEncryption: boolean;
  mutualTls: boolean;
  ordering: boolean;
  batches: boolean;
  /** Connectors the plan may link: '*' for every one. */
  connectors: '*' | readonly string[];
}

export type FeatureName = Exclude<keyof PlanFeatures, 'connectors'>;

/** What the hub promises a plan's tenants. */
export interface SlaTargets {
  /** Deliveries that succeed after retries, in percent. */
  deliverySuccessPercent: number;
  /** 99th percentile of the time from an event's arrival to its first delivery attempt, in seconds; null: no target. */
  p99FirstAttemptSeconds: number | null;
}

export type OverQuotaPolicy = 'deliver_and_flag' | 'pause';

export interface Plan {
  name: string;
  title: string;
  /** Offered to tenants: suggested as the plan that has a limit or feature. */
  listed: boolean;
  limits: PlanLimits;
  features: PlanFeatures;
  /** Null: the product's default targets. */
  sla: SlaTargets | null;
  api: {
    /** Management API requests per minute per key; null: the hub's HOOKHUB_API_RATE_LIMIT. */
    managementPerMinute: number | null;
    /** Events published per second per tenant; null: the hub's HOOKHUB_INGEST_RATE_LIMIT. */
    ingestPerSecond: number | null;
  };
  overQuota: OverQuotaPolicy;
}

/** The plans of this hub, in the order of the plans file (cheapest first), and the directory's tiers. */
export interface PlanCatalog {
  /** Where they were read from. */
  file: string;
  plans: readonly Plan[];
  /** The directory's tier name → plan name. */
  directoryTiers: Readonly<Record<string, string>>;
}

/** How a tenant came to its plan. */
export type PlanSource = 'default' | 'operator' | 'cli' | 'directory';

/** A tenant's plan as stored (a tenant without one has the hub's default plan). */
export interface TenantPlanRecord {
  tenantId: string;
  plan: string;
  source: Exclude<PlanSource, 'default'>;
  changedAt: Date;
  /** The time of the directory event that set it (later events win; an older one arriving late is ignored). */
  directoryChangedAt: Date | null;
}

/** One row of usage counts: what one process counted for a tenant, period and metric since it started. */
export interface UsageDelta {
  tenantId: string;
  /** The calendar month, `YYYY-MM` (UTC). */
  period: string;
  metric: UsageMetric;
  count: number;
}

export type UsageMetric = 'deliveries';

/**
 * A notice about a tenant's usage in a period, claimed once across processes: a warning sent, deliveries paused,
 * an SLA breach announced (claimed under SLA_NOTICE_PERIOD while it lasts).
 */
export type UsageNotice = 'warned_80' | 'warned_95' | 'warned_100' | 'paused' | 'sla_breach';

/** The period an SLA breach's notice is claimed under: a breach lasts until a check finds the targets met, not a month. */
export const SLA_NOTICE_PERIOD = 'sla';

/** The calendar month (UTC) of a time, as `YYYY-MM`. */
export function periodOf(at: number): string {
  return new Date(at).toISOString().slice(0, 7);
}

/** Where a period starts and ends (UTC). */
export function periodBounds(period: string): { start: Date; end: Date } {
  const [year, month] = period.split('-').map(Number) as [number, number];
  return { start: new Date(Date.UTC(year, month - 1, 1)), end: new Date(Date.UTC(year, month, 1)) };
}
