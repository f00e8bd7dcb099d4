import type { Plan } from '../plans/model';
import { slaTargetsFor } from '../plans/sla';

/** What a tenant's deliveries are held to in GET /v1/analytics/sla. */
export interface SlaTargets {
  /** Share of settled deliveries that eventually succeeded (0..1). */
  successRate: number;
  /** Average time from the hub accepting an event to its successful delivery, retries included. */
  averageTimeToDeliveryMs: number;
  /** 99th percentile of the time from the hub accepting an event to its first attempt (a plan's target; absent: none). */
  p99TimeToFirstAttemptMs?: number;
}

/** The product's promise: at least 98 % delivered, in under 5 s on average. */
export const PRODUCT_SLA_TARGETS: Readonly<SlaTargets> = Object.freeze({ successRate: 0.98, averageTimeToDeliveryMs: 5000 });

/**
 * Where a tenant's targets come from: the one seam per-plan targets plug into (the composition
 * root passes this function to the API; a plan-aware one replaces it there).
 */
export type SlaTargetSource = (tenantId: string) => Promise<SlaTargets>;

/** The product's targets, the same for every tenant. */
export const productSlaTargets: SlaTargetSource = async () => ({ ...PRODUCT_SLA_TARGETS });

/**
 * The targets of a tenant's plan (plans.yaml `sla`: delivery success after retries, p99 time to the
 * first attempt), with the product's average time to delivery; the product's targets for a plan that
 * names none.
 */
export function planSlaTargets(plan: Plan): SlaTargets {
  if (!plan.sla) return { ...PRODUCT_SLA_TARGETS };
  const targets = slaTargetsFor(plan);
  return {
    successRate: Number((targets.deliverySuccessPercent / 100).toFixed(6)),
    averageTimeToDeliveryMs: PRODUCT_SLA_TARGETS.averageTimeToDeliveryMs,
    ...(targets.p99FirstAttemptSeconds === null ? {} : { p99TimeToFirstAttemptMs: targets.p99FirstAttemptSeconds * 1000 }),
  };
}
