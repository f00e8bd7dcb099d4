import { Router } from 'express';
import { ValidationError } from '../../core/errors';
import type { Plan } from '../../plans/model';
import { periodBounds } from '../../plans/model';
import type { TenantPlan } from '../../plans/plan-book';
import { slaTargetsFor } from '../../plans/sla';
import { tenantOf } from '../auth';
import type { ApiDeps } from '../deps';
import { bodyObject } from '../params';
import { route } from '../scopes';

const TENANT_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function planRoutes(deps: ApiDeps): Router {
  const router = Router();

  /** The plans offered, and the caller's own. */
  route(router, 'GET', '/v1/plans', { scope: 'subscriptions:read' }, async (_req, res) => {
    const current = await deps.plans.planOf(tenantOf(res));
    const offered = deps.plans.plans().filter((p) => p.listed || p.name === current.plan.name);
    res.json({ current: current.plan.name, data: offered.map((p) => planView(p, deps)) });
  });

  /** This month's usage against each limit of the caller's plan. */
  route(router, 'GET', '/v1/usage', { scope: 'deliveries:read' }, async (_req, res) => {
    const tenantId = tenantOf(res);
    const current = await deps.plans.planOf(tenantId);
    const { plan } = current;
    const [subscriptions, connections, used] = await Promise.all([deps.store.countSubscriptions(tenantId), deps.store.countConnections(tenantId), deps.quota.used(tenantId)]);
    const quota = plan.limits.deliveredEventsPerMonth;
    const over = quota !== null && used.deliveries >= quota;
    const { start, end } = periodBounds(used.period);
    const counted = (usedNow: number, limit: number | null) => ({
      used: usedNow,
      limit,
      percent: limit === null || limit === 0 ? null : Math.round((usedNow / limit) * 10_000) / 100,
    });
    res.json({
      tenantId,
      plan: tenantPlanView(current),
      period: { start: start.toISOString(), end: end.toISOString() },
      usage: {
        subscriptions: counted(subscriptions, plan.limits.subscriptions),
        connections: counted(connections, plan.limits.connections),
        deliveredEventsPerMonth: counted(used.deliveries, quota),
      },
      limits: limitsView(plan, deps),
      features: plan.features,
      overQuota: over,
      overQuotaPolicy: plan.overQuota,
      paused: over && plan.overQuota === 'pause',
      sla: slaTargetsFor(plan),
    });
  });

  /** A tenant's plan (operators). */
  route(router, 'GET', '/v1/tenants/:tenantId/plan', { scope: 'operator' }, async (req, res) => {
    const tenantId = tenantParam(req.params['tenantId']);
    res.json({ tenantId, ...tenantPlanView(await deps.plans.planOf(tenantId)) });
  });

  /** `{plan}`: moves a tenant to a plan (operators); its deliveries parked by the old plan's quota resume when the new one allows. */
  route(router, 'PUT', '/v1/tenants/:tenantId/plan', { scope: 'operator', audit: 'tenant.set_plan' }, async (req, res) => {
    const tenantId = tenantParam(req.params['tenantId']);
    const body = bodyObject(req.body);
    const extra = Object.keys(body).filter((k) => k !== 'plan');
    if (typeof body['plan'] !== 'string' || extra.length > 0) {
      throw new ValidationError(`The body must be {"plan": "<name>"}, one of ${deps.plans.plans().map((p) => p.name).join(', ')}.`, [
        extra.length > 0 ? { path: `/${extra[0]}`, message: 'is not an allowed property' } : { path: '/plan', message: 'is required: a plan name' },
      ]);
    }
    const changed = await deps.plans.setPlan(tenantId, body['plan'], 'operator');
    res.json({ tenantId, ...tenantPlanView(changed) });
  });
  return router;
}

function tenantParam(value: unknown): string {
  if (typeof value !== 'string' || !TENANT_ID.test(value)) {
    throw new ValidationError('tenantId must be 1-64 letters, digits, "_" or "-".', [{ path: 'tenantId', message: 'not a tenant id' }]);
  }
  return value;
}

function tenantPlanView(current: TenantPlan): Record<string, unknown> {
  return { name: current.plan.name, title: current.plan.title, source: current.source, changedAt: current.changedAt?.toISOString() ?? null };
}

function limitsView(plan: Plan, deps: ApiDeps): Record<string, number | null> {
  return {
    ...plan.limits,
    attemptRetentionDays: plan.limits.attemptRetentionDays ?? deps.config.retention.attemptsDays,
    managementRequestsPerMinute: plan.api.managementPerMinute ?? deps.config.api.rateLimitPerMinute,
    ingestEventsPerSecond: plan.api.ingestPerSecond ?? deps.config.api.ingestPerSecond,
  };
}

/** A plan as the API shows it: limits (the hub's own where the plan names none), features, SLA targets, policy. */
export function planView(plan: Plan, deps: ApiDeps): Record<string, unknown> {
  return { name: plan.name, title: plan.title, limits: limitsView(plan, deps), features: plan.features, sla: slaTargetsFor(plan), overQuotaPolicy: plan.overQuota };
}
