import type { Plan, SlaTargets } from './model';

/** What the hub promises when a plan names no targets of its own. */
export const PRODUCT_SLA_TARGETS: SlaTargets = Object.freeze({ deliverySuccessPercent: 99.5, p99FirstAttemptSeconds: 5 });

/** The SLA targets of a plan: its own, else the product's. */
export function slaTargetsFor(plan: Plan): SlaTargets {
  return plan.sla ?? PRODUCT_SLA_TARGETS;
}
