import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_PLANS_FILE, loadConfig } from '../../src/config/config';
import { silentLogger } from '../../src/core/logger';
import { PlansFileError, loadPlans } from '../../src/plans/loader';
import { PlanBook } from '../../src/plans/plan-book';
import { PlanGuard } from '../../src/plans/plan-guard';
import { QuotaMeter } from '../../src/plans/quota-meter';
import { PRODUCT_SLA_TARGETS, slaTargetsFor } from '../../src/plans/sla';
import { createMemoryStore } from '../../src/store/memory/memory-store';
import { newId } from '../../src/core/ids';
import type { WebhookSubscription } from '../../src/subscriptions/model';

const dir = mkdtempSync(path.join(tmpdir(), 'hookhub-plans-'));
const shipped = readFileSync(DEFAULT_PLANS_FILE, 'utf8');

function file(name: string, text: string): string {
  const at = path.join(dir, name);
  writeFileSync(at, text);
  return at;
}

function problemsOf(at: string, defaultPlan?: string): string[] {
  try {
    loadPlans(at, defaultPlan ? { name: defaultPlan, variable: 'HOOKHUB_DEFAULT_PLAN' } : undefined);
  } catch (err) {
    expect(err).toBeInstanceOf(PlansFileError);
    expect((err as Error).message).toContain(at);
    return [...(err as PlansFileError).problems];
  }
  throw new Error('the plans file was accepted');
}

describe('the plans file', () => {
  it('ships free, developer, business and enterprise (cheapest first), and unlimited as the default, with the directory tiers mapped', () => {
    const config = loadConfig({ PORT: '0' });
    expect(config.plans).toMatchObject({ file: DEFAULT_PLANS_FILE, defaultPlan: 'unlimited' });
    const catalog = loadPlans(config.plans.file, { name: config.plans.defaultPlan, variable: 'HOOKHUB_DEFAULT_PLAN' });
    expect(catalog.plans.map((p) => p.name)).toEqual(['free', 'developer', 'business', 'enterprise', 'unlimited']);
    expect(catalog.directoryTiers).toEqual({ free: 'free', basic: 'developer', pro: 'business', enterprise: 'enterprise' });
    const free = catalog.plans[0]!;
    expect(free).toMatchObject({ overQuota: 'pause', features: { transforms: false, connectors: ['slack', 'discord', 'webhook-custom'] }, api: { managementPerMinute: 120, ingestPerSecond: 20 } });
    // Publishing is sized for publishers: thousands of events a second on the higher plans.
    expect(catalog.plans.find((p) => p.name === 'business')?.api.ingestPerSecond).toBeGreaterThanOrEqual(1000);
    const unlimited = catalog.plans.find((p) => p.name === 'unlimited')!;
    expect(unlimited).toMatchObject({ listed: false, overQuota: 'deliver_and_flag', sla: null, api: { managementPerMinute: null, ingestPerSecond: null } });
    expect(Object.values(unlimited.limits).every((v) => v === null)).toBe(true);
    expect(slaTargetsFor(unlimited)).toEqual(PRODUCT_SLA_TARGETS);
    expect(slaTargetsFor(free)).toEqual({ deliverySuccessPercent: 99, p99FirstAttemptSeconds: 60 });
  });

  it('names the file, the place and the problem of a plans file that does not fit the schema', () => {
    const bad = file('bad.yaml', shipped.replace('subscriptions: 3', 'subscriptions: three').replace('over_quota: pause', 'over_quota: stop').replace('    title: Developer\n', '    title: Developer\n    colour: blue\n'));
    const problems = problemsOf(bad);
    expect(problems).toEqual(expect.arrayContaining([
      '/plans/free/limits/subscriptions must be integer,null',
      '/plans/free/over_quota must be equal to one of the allowed values',
      '/plans/developer/colour is not an allowed property',
    ]));
  });

  it('refuses YAML that does not parse, a missing file, a tier mapped to no plan and a default plan the file lacks', () => {
    expect(problemsOf(file('broken.yaml', 'plans:\n  free: [\n'))[0]).toMatch(/^line \d+, column \d+: YAML: /);
    expect(problemsOf(path.join(dir, 'absent.yaml'))).toEqual(['the file does not exist (set HOOKHUB_PLANS_FILE to the plans file to use)']);
    expect(problemsOf(file('tiers.yaml', shipped.replace('pro: business', 'pro: gold')))).toEqual([
      '/directory_tiers/pro names the plan "gold", which is not in /plans (free, developer, business, enterprise, unlimited)',
    ]);
    expect(problemsOf(DEFAULT_PLANS_FILE, 'gold')).toEqual(['HOOKHUB_DEFAULT_PLAN="gold" names no plan of this file; its plans are free, developer, business, enterprise, unlimited']);
  });

  it('is read from HOOKHUB_PLANS_FILE, with the default plan from HOOKHUB_DEFAULT_PLAN', () => {
    expect(loadConfig({ HOOKHUB_PLANS_FILE: '/etc/hookhub/plans.yaml', HOOKHUB_DEFAULT_PLAN: 'free' }).plans).toMatchObject({ file: '/etc/hookhub/plans.yaml', defaultPlan: 'free' });
    expect(() => loadConfig({ HOOKHUB_USAGE_FLUSH_MS: '1' })).toThrow(/HOOKHUB_USAGE_FLUSH_MS="1" must be a whole number from 50/);
  });
});

function webhook(tenantId: string): WebhookSubscription {
  const at = new Date('2026-12-01T00:00:00Z');
  return {
    id: newId('sub'), tenantId, kind: 'webhook', endpointUrl: 'https://example.com/hook', events: ['business.created'], filters: [], filter: null, payload: null, headers: {},
    retryConfig: { maxRetries: 8, initialDelaySeconds: 5, backoffMultiplier: 5, maxBackoffSeconds: 36000 }, active: true, description: null, secretSealed: 'v1:k1:a:b:c',
    disabledReason: null, createdAt: at, updatedAt: at,
  };
}

function setUp(defaultPlan = 'free') {
  const store = createMemoryStore();
  let now = Date.parse('2026-12-10T12:00:00Z');
  const clock = { now: () => now };
  const book = new PlanBook({ catalog: loadPlans(DEFAULT_PLANS_FILE), defaultPlan, store, cacheMs: 0, maxCached: 100, logger: silentLogger, clock });
  const emitted: Array<{ tenantId: string; type: string; data: Record<string, unknown> }> = [];
  const meter = new QuotaMeter({
    book, counters: store, operational: { emit: async (tenantId, type, data) => void emitted.push({ tenantId, type, data }) }, processId: 'proc_test', flushMs: 1000, maxTenants: 100, logger: silentLogger, clock,
  });
  return { store, book, meter, emitted, guard: new PlanGuard(book, store), setNow: (iso: string) => void (now = Date.parse(iso)) };
}

describe('plan checks', () => {
  it('answers 403 plan_limit naming the limit, the plan, and the first plan offered that allows more', async () => {
    const { guard, store } = setUp('free');
    for (let i = 0; i < 3; i += 1) await store.insertSubscription(webhook('t1'));
    await expect(guard.checkSubscription('t1', { creating: true })).rejects.toMatchObject({
      code: 'plan_limit', status: 403,
      message: 'The free plan allows 3 subscriptions and this tenant has 3. The developer plan allows 25; or delete one you no longer need.',
      details: { limit: 'subscriptions', plan: 'free', allowed: 3, used: 3, availableOn: 'developer' },
    });
    // A change to an existing subscription is not one more.
    await expect(guard.checkSubscription('t1', { creating: false })).resolves.toBeUndefined();
    await expect(guard.checkSubscription('t2', { creating: true, rateLimit: { requestsPerSecond: 50 } })).rejects.toMatchObject({
      details: { limit: 'deliveriesPerSecondPerSubscription', plan: 'free', allowed: 5, requested: 50, availableOn: 'business' },
    });
  });

  it('answers 403 plan_limit for each feature the plan lacks, naming the field and the plan that has it', async () => {
    const { guard } = setUp('free');
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ filter: "data.category = 'bar'" }, 'jsonataFilters', 'developer'],
      [{ payload: { transform: '{"n": data.name}' } }, 'transforms', 'developer'],
      [{ encryption: { jwk: {} } }, 'payloadEncryption', 'business'],
      [{ tls: { cert: 'x', key: 'y' } }, 'mutualTls', 'business'],
      [{ ordering: { key: 'data.id' } }, 'ordering', 'business'],
      [{ batch: { maxEvents: 10 } }, 'batches', 'developer'],
    ];
    for (const [fields, feature, availableOn] of cases) {
      await expect(guard.checkSubscription('t1', { creating: false, ...fields })).rejects.toMatchObject({ code: 'plan_limit', details: { feature, plan: 'free', availableOn } });
    }
    await expect(guard.checkSubscription('t1', { creating: false, filter: 'x' })).rejects.toThrow('The free plan does not include JSONata filters (`filter`). The developer plan has them; or use `filters` (field conditions) instead.');
    await expect(guard.checkConnection('t1', 'salesforce')).rejects.toMatchObject({ message: expect.stringContaining('does not include the salesforce connector'), details: { feature: 'connectors', connector: 'salesforce', availableOn: 'business' } });
    await expect(guard.checkConnection('t1', 'slack')).resolves.toBeUndefined();
  });

  it('checks the batch size against the plan once batches are included', async () => {
    const { guard, book } = setUp('free');
    await book.setPlan('t1', 'developer', 'operator');
    await expect(guard.checkSubscription('t1', { creating: false, batch: { maxEvents: 100 } })).resolves.toBeUndefined();
    await expect(guard.checkSubscription('t1', { creating: false, batch: { maxEvents: 400 } })).rejects.toMatchObject({ details: { limit: 'batchSize', plan: 'developer', allowed: 100, availableOn: 'business' } });
  });
});

describe('plans from the directory', () => {
  it('moves the user\'s tenant to the plan of its new tier, ignoring older events and unknown tiers', async () => {
    const { book } = setUp('unlimited');
    const changed = (tier: string, at: string) => ({ id: 'evt_1', type: 'user.subscription_changed', version: '1.0', timestamp: at, data: { id: 'usr_42', old_plan: 'free', new_plan: tier, changed_at: at } });
    await book.applyDirectoryEvent(changed('pro', '2026-12-10T10:00:00Z'));
    expect(await book.planOf('usr_42')).toMatchObject({ plan: { name: 'business' }, source: 'directory' });
    await book.applyDirectoryEvent(changed('free', '2026-12-10T09:00:00Z'));
    expect((await book.planOf('usr_42')).plan.name).toBe('business');
    await book.applyDirectoryEvent(changed('platinum', '2026-12-10T11:00:00Z'));
    expect((await book.planOf('usr_42')).plan.name).toBe('business');
    await book.applyDirectoryEvent(changed('basic', '2026-12-10T12:00:00Z'));
    expect((await book.planOf('usr_42')).plan.name).toBe('developer');
    expect((await book.planOf('usr_other')).plan.name).toBe('unlimited');
  });
});

describe('the monthly delivery quota', () => {
  it('warns at 80, 95 and 100 % once each, counts first attempts only, and on a pausing plan parks past 100 % until the next month', async () => {
    const { meter, emitted, book, setNow } = setUp('free');
    // A pausing plan with a quota of 20 (free's is 10,000): the file's free plan, shrunk.
    const free = book.plan('free')!;
    Object.assign(free.limits, { deliveredEventsPerMonth: 20 });
    const admitted: Array<string | null> = [];
    for (let i = 0; i < 24; i += 1) admitted.push(await meter.admit('t1', 'business.created', 1));
    await meter.admit('t1', 'business.created', 2);
    await meter.flush();
    await new Promise((r) => setImmediate(r));
    expect(admitted.slice(0, 20)).toEqual(Array(20).fill(null));
    expect(admitted.slice(20).every((a) => typeof a === 'string' && a.includes("the free plan's 20 delivered events for 2026-12 are used up"))).toBe(true);
    expect(emitted.map((e) => [e.type, e.data['threshold_percent'], e.data['used']])).toEqual([
      ['api.quota_warning', 80, 16], ['api.quota_warning', 95, 19], ['api.quota_warning', 100, 20],
    ]);
    expect(emitted[0]?.data).toMatchObject({ quota_name: 'delivered_events_per_month', plan: 'free', quota: 20, over_quota_policy: 'pause', period_end: '2027-01-01T00:00:00.000Z' });
    expect(await meter.used('t1')).toEqual({ period: '2026-12', deliveries: 20 });
    expect(await meter.pausedNow('t1')).toBe(true);
    // The hub's own alerts are neither counted nor parked.
    expect(await meter.admit('t1', 'api.quota_warning', 1)).toBeNull();
    setNow('2027-01-01T00:00:01Z');
    expect(await meter.pausedNow('t1')).toBe(false);
    expect(await meter.admit('t1', 'business.created', 1)).toBeNull();
    Object.assign(free.limits, { deliveredEventsPerMonth: 10_000 });
  });

  it('never reports less usage while a flush is writing the counts (GET /v1/usage does not go backwards)', async () => {
    const { meter, store } = setUp('free');
    const addUsage = store.addUsage.bind(store);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    store.addUsage = async (processId, deltas) => {
      await held;
      return addUsage(processId, deltas);
    };
    for (let i = 0; i < 3; i += 1) await meter.admit('t1', 'business.created', 1);
    expect(await meter.used('t1')).toEqual({ period: '2026-12', deliveries: 3 });
    const flushed = meter.flush();
    // The flush has taken the counts and waits on the store; a read meanwhile still sees them.
    await new Promise((r) => setImmediate(r));
    const during = meter.used('t1');
    await meter.admit('t1', 'business.created', 1);
    release();
    await flushed;
    expect(await during).toEqual({ period: '2026-12', deliveries: 4 });
    expect(await meter.used('t1')).toEqual({ period: '2026-12', deliveries: 4 });
  });
});
