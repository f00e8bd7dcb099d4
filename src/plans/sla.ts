import type { Plan, SlaTargets } from './model';

/** What the hub promises when a plan names no targets of its own (GET /v1/analytics/sla: 98 % delivered after retries). */
export const PRODUCT_SLA_TARGETS: Readonly<SlaTargets> = Object.freeze({ deliverySuccessPercent: 98, p99FirstAttemptSeconds: null });

/** The SLA targets of a plan: its own, else the product's. */
export function slaTargetsFor(plan: Plan): SlaTargets {
  return plan.sla ?? { ...PRODUCT_SLA_TARGETS };
}
