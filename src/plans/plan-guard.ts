import { HubError } from '../core/errors';
import type { FeatureName, LimitName, Plan } from './model';
import type { PlanBook } from './plan-book';
import type { TenantResourceCounts } from './ports';

/** How limits and features are named to tenants. */
const LIMIT_WORDS: Record<LimitName, string> = {
  subscriptions: 'subscriptions',
  connections: 'connections',
  deliveredEventsPerMonth: 'delivered events a month',
  deliveriesPerSecondPerSubscription: 'deliveries a second per subscription',
  attemptRetentionDays: 'days of attempt retention',
  batchSize: 'events per batch',
};

const FEATURE_WORDS: Record<FeatureName, { words: string; field: string }> = {
  transforms: { words: 'payload transforms', field: 'payload.transform' },
  jsonataFilters: { words: 'JSONata filters', field: 'filter' },
  payloadEncryption: { words: 'payload encryption', field: 'encryption' },
  mutualTls: { words: 'mutual TLS', field: 'tls' },
  ordering: { words: 'per-key ordering', field: 'ordering' },
  batches: { words: 'batch delivery', field: 'batch' },
};

/** 403 `plan_limit`: what the tenant's plan does not allow, and the plan that does. */
export class PlanLimitError extends HubError {
  constructor(message: string, details: Record<string, unknown>) {
    super('plan_limit', message, { status: 403, details });
    this.name = 'PlanLimitError';
  }
}

/** The fields of a subscription or integration being created or changed that a plan may not allow. */
export interface PlannedSubscription {
  creating: boolean;
  filter?: unknown;
  payload?: { transform?: unknown } | null | undefined;
  encryption?: unknown;
  tls?: unknown;
  ordering?: unknown;
  batch?: { maxEvents?: unknown } | null | undefined;
  rateLimit?: { requestsPerSecond?: unknown } | null | undefined;
}

/**
 * Checks what a tenant creates or changes against its plan: counts against limits,
 * fields against features. Counting and creating are two steps, so requests racing
 * each other may pass a limit by the few that were in flight together.
 */
export class PlanGuard {
  constructor(
    private readonly book: PlanBook,
    private readonly counts: TenantResourceCounts,
  ) {}

  async checkSubscription(tenantId: string, input: PlannedSubscription): Promise<void> {
    const { plan } = await this.book.planOf(tenantId);
    const present = (v: unknown): boolean => v !== undefined && v !== null;
    if (present(input.filter)) this.requireFeature(plan, 'jsonataFilters', 'use `filters` (field conditions) instead');
    if (present(input.payload?.transform)) this.requireFeature(plan, 'transforms', 'use `payload.fields` to select fields instead');
    if (present(input.encryption)) this.requireFeature(plan, 'payloadEncryption');
    if (present(input.tls)) this.requireFeature(plan, 'mutualTls');
    if (present(input.ordering)) this.requireFeature(plan, 'ordering');
    if (present(input.batch)) {
      this.requireFeature(plan, 'batches');
      const maxEvents = input.batch?.maxEvents;
      if (typeof maxEvents === 'number') this.requireWithin(plan, 'batchSize', maxEvents, 'ask for fewer events per batch (batch.maxEvents)', (p) => p.features.batches);
    }
    const rate = input.rateLimit?.requestsPerSecond;
    if (typeof rate === 'number') this.requireWithin(plan, 'deliveriesPerSecondPerSubscription', rate, 'ask for a lower rateLimit.requestsPerSecond');
    if (input.creating) this.requireRoom(plan, 'subscriptions', await this.counts.countSubscriptions(tenantId), 'delete one you no longer need');
  }

  /** A new link to `connector`. */
  async checkConnection(tenantId: string, connector: string): Promise<void> {
    const { plan } = await this.book.planOf(tenantId);
    if (!allowsConnector(plan, connector)) {
      const better = this.book.firstPlanWith((p) => allowsConnector(p, connector), plan);
      throw new PlanLimitError(
        `The ${plan.name} plan does not include the ${connector} connector (it has ${listConnectors(plan)}). ${better ? `The ${better.name} plan has it.` : 'No plan offered has it.'}`,
        { feature: 'connectors', connector, plan: plan.name, availableOn: better?.name ?? null },
      );
    }
    this.requireRoom(plan, 'connections', await this.counts.countConnections(tenantId), 'delete a connection you no longer need');
  }

  private requireFeature(plan: Plan, feature: FeatureName, instead?: string): void {
    if (plan.features[feature]) return;
    const better = this.book.firstPlanWith((p) => p.features[feature], plan);
    const { words, field } = FEATURE_WORDS[feature];
    throw new PlanLimitError(
      `The ${plan.name} plan does not include ${words} (\`${field}\`). ${better ? `The ${better.name} plan has them` : 'No plan offered has them'}${instead ? `; or ${instead}` : ''}.`,
      { feature, field, plan: plan.name, availableOn: better?.name ?? null },
    );
  }

  private requireWithin(plan: Plan, limit: LimitName, asked: number, instead: string, also: (p: Plan) => boolean = () => true): void {
    const allowed = plan.limits[limit];
    if (allowed === null || asked <= allowed) return;
    const better = this.book.firstPlanWith((p) => also(p) && (p.limits[limit] === null || (p.limits[limit] as number) >= asked), plan);
    throw new PlanLimitError(
      `The ${plan.name} plan allows at most ${allowed} ${LIMIT_WORDS[limit]}, and ${asked} was asked for. ${upgrade(better, limit)}; or ${instead}.`,
      { limit, plan: plan.name, allowed, requested: asked, availableOn: better?.name ?? null },
    );
  }

  private requireRoom(plan: Plan, limit: 'subscriptions' | 'connections', used: number, instead: string): void {
    const allowed = plan.limits[limit];
    if (allowed === null || used < allowed) return;
    const better = this.book.firstPlanWith((p) => p.limits[limit] === null || (p.limits[limit] as number) > used, plan);
    throw new PlanLimitError(
      `The ${plan.name} plan allows ${allowed} ${LIMIT_WORDS[limit]} and this tenant has ${used}. ${upgrade(better, limit)}; or ${instead}.`,
      { limit, plan: plan.name, allowed, used, availableOn: better?.name ?? null },
    );
  }
}

function upgrade(better: Plan | null, limit: LimitName): string {
  if (!better) return 'No plan offered allows more';
  const allowed = better.limits[limit];
  return `The ${better.name} plan allows ${allowed === null ? 'any number' : allowed}`;
}

export function allowsConnector(plan: Plan, connector: string): boolean {
  return plan.features.connectors === '*' || plan.features.connectors.includes(connector);
}

function listConnectors(plan: Plan): string {
  const list = plan.features.connectors;
  return list === '*' ? 'every connector' : list.length === 0 ? 'none' : list.join(', ');
}
