import { systemClock } from '../core/clock';
import type { Clock } from '../core/clock';
import { HubError } from '../core/errors';
import type { Logger } from '../core/logger';
import type { EventEnvelope } from '../events/envelope';
import type { Plan, PlanCatalog, PlanSource, TenantPlanRecord } from './model';
import type { TenantPlans } from './ports';

export interface PlanBookOptions {
  catalog: PlanCatalog;
  /** The plan of a tenant without one of its own (HOOKHUB_DEFAULT_PLAN). */
  defaultPlan: string;
  store: TenantPlans;
  /** How long a tenant's plan is kept before it is read again: how soon other processes see a change. */
  cacheMs: number;
  /** Most tenants kept (the oldest read is dropped first). */
  maxCached: number;
  logger: Logger;
  clock?: Clock;
}

/** A tenant's plan as the hub applies it. */
export interface TenantPlan {
  plan: Plan;
  source: PlanSource;
  changedAt: Date | null;
}

/** Called after a tenant's plan changed (to resume deliveries paused by the old plan's quota). */
export type PlanChangeListener = (tenantId: string, from: Plan, to: Plan) => Promise<void>;

/**
 * The plans of the hub and each tenant's plan: read from the store and kept for a
 * few seconds, set by an operator (API, CLI) or by the directory's
 * user.subscription_changed events through the tier mapping of the plans file.
 */
export class PlanBook {
  private readonly byName: Map<string, Plan>;
  private readonly cache = new Map<string, { value: TenantPlan; readAt: number }>();
  private readonly listeners: PlanChangeListener[] = [];
  private readonly clock: Clock;
  readonly defaultPlan: Plan;

  constructor(private readonly options: PlanBookOptions) {
    this.clock = options.clock ?? systemClock;
    this.byName = new Map(options.catalog.plans.map((p) => [p.name, p]));
    const fallback = this.byName.get(options.defaultPlan);
    if (!fallback) throw new Error(`the default plan "${options.defaultPlan}" is not in ${options.catalog.file}`);
    this.defaultPlan = fallback;
  }

  get catalog(): PlanCatalog {
    return this.options.catalog;
  }

  plans(): readonly Plan[] {
    return this.options.catalog.plans;
  }

  plan(name: string): Plan | undefined {
    return this.byName.get(name);
  }

  onChange(listener: PlanChangeListener): void {
    this.listeners.push(listener);
  }

  /** The tenant's plan; a plan name stored but since removed from the file reads as the default plan. */
  async planOf(tenantId: string): Promise<TenantPlan> {
    const now = this.clock.now();
    const cached = this.cache.get(tenantId);
    if (cached && now - cached.readAt < this.options.cacheMs) return cached.value;
    const record = await this.options.store.getTenantPlan(tenantId);
    const known = record ? this.byName.get(record.plan) : undefined;
    if (record && !known) this.options.logger.warn({ tenantId, plan: record.plan }, 'tenant has a plan the plans file no longer has; the default plan applies');
    const value: TenantPlan = known && record ? { plan: known, source: record.source, changedAt: record.changedAt } : { plan: this.defaultPlan, source: 'default', changedAt: null };
    this.remember(tenantId, value, now);
    return value;
  }

  /** Sets a tenant's plan (an operator through the API or CLI); 400 `unknown_plan` for a name the file lacks. */
  async setPlan(tenantId: string, planName: string, source: 'operator' | 'cli'): Promise<TenantPlan> {
    const plan = this.requirePlan(planName);
    const before = await this.planOf(tenantId);
    const record: TenantPlanRecord = { tenantId, plan: plan.name, source, changedAt: new Date(this.clock.now()), directoryChangedAt: (await this.options.store.getTenantPlan(tenantId))?.directoryChangedAt ?? null };
    await this.options.store.putTenantPlan(record);
    return this.changed(tenantId, before.plan, plan, { plan, source, changedAt: record.changedAt });
  }

  /**
   * A directory event: `user.subscription_changed` moves the user's tenant (its id is the user's `id`)
   * to the plan its new tier maps to. An event older than the last one applied is ignored, so
   * events arriving out of order cannot undo an upgrade. Other events are not looked at.
   */
  async applyDirectoryEvent(envelope: EventEnvelope): Promise<void> {
    if (envelope.type !== 'user.subscription_changed') return;
    const data = envelope.data;
    const tenantId = typeof data['id'] === 'string' ? data['id'] : null;
    const tier = typeof data['new_plan'] === 'string' ? data['new_plan'] : null;
    if (tenantId === null || tier === null) return;
    const planName = this.options.catalog.directoryTiers[tier];
    const plan = planName === undefined ? undefined : this.byName.get(planName);
    if (!plan) {
      this.options.logger.warn({ tenantId, tier, file: this.options.catalog.file }, 'directory tier has no plan in directory_tiers of the plans file; the tenant keeps its plan');
      return;
    }
    const changedAt = new Date(typeof data['changed_at'] === 'string' ? data['changed_at'] : envelope.timestamp);
    const stored = await this.options.store.getTenantPlan(tenantId);
    if (stored?.directoryChangedAt && stored.directoryChangedAt.getTime() > changedAt.getTime()) return;
    const before = await this.planOf(tenantId);
    await this.options.store.putTenantPlan({ tenantId, plan: plan.name, source: 'directory', changedAt: new Date(this.clock.now()), directoryChangedAt: changedAt });
    this.options.logger.info({ tenantId, tier, plan: plan.name }, 'plan changed by the directory');
    await this.changed(tenantId, before.plan, plan, { plan, source: 'directory', changedAt: new Date(this.clock.now()) });
  }

  requirePlan(name: string): Plan {
    const plan = this.byName.get(name);
    if (!plan) {
      throw new HubError('unknown_plan', `There is no plan "${name}". The plans are ${[...this.byName.keys()].join(', ')} (${this.options.catalog.file}).`, {
        status: 400,
        details: { plan: name, plans: [...this.byName.keys()] },
      });
    }
    return plan;
  }

  /** The first plan offered (in the file's order) for which `has` holds, other than `current`: what a plan_limit answer suggests. */
  firstPlanWith(has: (plan: Plan) => boolean, current: Plan): Plan | null {
    return this.options.catalog.plans.find((p) => p.listed && p.name !== current.name && has(p)) ?? null;
  }

  private async changed(tenantId: string, from: Plan, to: Plan, value: TenantPlan): Promise<TenantPlan> {
    this.remember(tenantId, value, this.clock.now());
    for (const listener of this.listeners) {
      try {
        await listener(tenantId, from, to);
      } catch (err) {
        this.options.logger.warn({ tenantId, err: (err as Error).message }, 'a plan change listener failed');
      }
    }
    return value;
  }

  private remember(tenantId: string, value: TenantPlan, now: number): void {
    this.cache.delete(tenantId);
    if (this.cache.size >= this.options.maxCached) {
      const oldest = this.cache.keys().next();
      if (!oldest.done) this.cache.delete(oldest.value);
    }
    this.cache.set(tenantId, { value, readAt: now });
  }
}
