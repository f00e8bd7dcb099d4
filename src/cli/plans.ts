import type { Command } from 'commander';
import { ConfigError, loadConfig } from '../config/config';
import type { HubConfig } from '../config/config';
import { silentLogger } from '../core/logger';
import { PlansFileError, loadPlans } from '../plans/loader';
import type { Plan, PlanCatalog } from '../plans/model';
import { PlanBook } from '../plans/plan-book';
import { slaTargetsFor } from '../plans/sla';
import { loadMongoStore } from './lazy';

type Fail = (message: string) => never;

/** `hookhub plans list` and `hookhub tenants plan|set-plan`: the plans file, and tenants' plans in the store. */
export function planCommands(program: Command, fail: Fail): void {
  const plans = program.command('plans').description('the plans of this hub (HOOKHUB_PLANS_FILE, default config/plans.yaml)');
  plans
    .command('list')
    .description('print each plan: limits, features, SLA targets, rates, over-quota policy (checks the file as the hub does)')
    .option('--json', 'print JSON')
    .action((options: { json?: boolean }) => {
      const { config, catalog } = catalogOrExit(fail);
      if (options.json) {
        process.stdout.write(`${JSON.stringify({ default: config.plans.defaultPlan, file: catalog.file, directoryTiers: catalog.directoryTiers, plans: catalog.plans.map((p) => ({ ...p, sla: slaTargetsFor(p) })) }, null, 2)}\n`);
        return;
      }
      process.stdout.write(`${catalog.file} (default plan: ${config.plans.defaultPlan})\n\n`);
      for (const plan of catalog.plans) process.stdout.write(`${describePlan(plan, config)}\n`);
      const tiers = Object.entries(catalog.directoryTiers).map(([tier, plan]) => `${tier} → ${plan}`);
      process.stdout.write(`directory tiers: ${tiers.length > 0 ? tiers.join(', ') : 'none'}\n`);
    });

  const tenants = program.command('tenants').description("tenants' plans (in the store of MONGODB_URL)");
  tenants
    .command('plan <tenant>')
    .description("print a tenant's plan")
    .action(async (tenant: string) => {
      await withBook(fail, async (book) => {
        const current = await book.planOf(tenantOrExit(tenant, fail));
        process.stdout.write(`${tenant}: ${current.plan.name} (${current.source}${current.changedAt ? `, since ${current.changedAt.toISOString()}` : ''})\n`);
      });
    });
  tenants
    .command('set-plan <tenant> <plan>')
    .description("move a tenant to a plan; running hubs apply it within HOOKHUB_PLAN_CACHE_MS, and deliveries parked by the old plan's quota resume within a minute")
    .action(async (tenant: string, plan: string) => {
      await withBook(fail, async (book) => {
        if (!book.plan(plan)) fail(`there is no plan "${plan}"; the plans are ${book.plans().map((p) => p.name).join(', ')}.`);
        const changed = await book.setPlan(tenantOrExit(tenant, fail), plan, 'cli');
        process.stdout.write(`${tenant}: ${changed.plan.name}\n`);
      });
    });
}

function tenantOrExit(tenant: string, fail: Fail): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(tenant)) fail('the tenant must be 1-64 letters, digits, "_" or "-".');
  return tenant;
}

function catalogOrExit(fail: Fail): { config: HubConfig; catalog: PlanCatalog } {
  let config: HubConfig;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
  try {
    return { config, catalog: loadPlans(config.plans.file, { name: config.plans.defaultPlan, variable: 'HOOKHUB_DEFAULT_PLAN' }) };
  } catch (err) {
    if (err instanceof PlansFileError) fail(err.message);
    throw err;
  }
}

async function withBook(fail: Fail, use: (book: PlanBook) => Promise<void>): Promise<void> {
  const { config, catalog } = catalogOrExit(fail);
  if (!config.mongodbUrl) fail('Set MONGODB_URL (and AMQP_URL): in embedded mode plans live in the memory of the running hub; use PUT /v1/tenants/:tenantId/plan there.');
  const { createMongoStore } = loadMongoStore();
  const store = createMongoStore({ url: config.mongodbUrl });
  await store.connect();
  try {
    await use(new PlanBook({ catalog, defaultPlan: config.plans.defaultPlan, store, cacheMs: 0, maxCached: 10, logger: silentLogger }));
  } finally {
    await store.close();
  }
}

function describePlan(plan: Plan, config: HubConfig): string {
  const n = (v: number | null, none = 'no limit'): string => (v === null ? none : v.toLocaleString('en-US'));
  const { limits: l, features: f, api } = plan;
  const sla = slaTargetsFor(plan);
  const on = (Object.entries(f) as Array<[string, unknown]>).filter(([k, v]) => k !== 'connectors' && v === true).map(([k]) => k);
  return [
    `${plan.name} — ${plan.title}${plan.listed ? '' : ' (not offered)'}`,
    `  subscriptions ${n(l.subscriptions)}, connections ${n(l.connections)}, delivered events/month ${n(l.deliveredEventsPerMonth)} (then ${plan.overQuota})`,
    `  deliveries/s per subscription ${n(l.deliveriesPerSecondPerSubscription)}, attempts kept ${n(l.attemptRetentionDays, `${config.retention.attemptsDays}`)} days, batch size ${n(l.batchSize)}`,
    `  API ${api.managementPerMinute ?? config.api.rateLimitPerMinute} requests/min per key, publishing ${api.ingestPerSecond ?? config.api.ingestPerSecond} events/s`,
    `  features: ${on.length > 0 ? on.join(', ') : 'none'}; connectors: ${f.connectors === '*' ? 'all' : f.connectors.join(', ') || 'none'}`,
    `  SLA: ${sla.deliverySuccessPercent}% delivered after retries, p99 ${sla.p99FirstAttemptSeconds} s to the first attempt`,
    '',
  ].join('\n');
}
