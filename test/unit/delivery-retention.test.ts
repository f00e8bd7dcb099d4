import { silentLogger } from '../../src/core/logger';
import { newIdAt } from '../../src/core/ids';
import { purgeDeliveries } from '../../src/jobs/purge-job';
import { StatsAccumulator } from '../../src/pipeline/delivery-stats';
import type { AttemptRecord } from '../../src/pipeline/model';
import { createMemoryStore } from '../../src/store/memory/memory-store';

const attemptAt = (at: string, tenantId = 't1'): AttemptRecord => ({
  id: newIdAt('att', new Date(at)), tenantId, subscriptionId: 'sub_a', eventId: 'evt_1', eventType: 'business.created', webhookId: 'msg_1', attempt: 1,
  status: 'succeeded', next: 'none', nextAttemptAt: null, url: 'https://x', httpStatus: 200, durationMs: 5, responseHeaders: {}, responseBody: null,
  error: null, replay: false, createdAt: new Date(at),
});

describe('retention of deliveries', () => {
  it('purges delivery analytics with the attempts, past the same number of days', async () => {
    const store = createMemoryStore();
    const now = Date.parse('2026-03-31T03:17:00Z');
    const old = attemptAt('2026-02-27T10:00:00Z');
    const recent = attemptAt('2026-03-30T10:00:00Z');
    await store.recordAttempts([old, recent]);
    const sums = new StatsAccumulator();
    sums.add(old);
    sums.add(recent);
    await store.addDeliveryStats('w1', 1, sums.rows());
    await purgeDeliveries(store, 30, silentLogger, now);
    expect((await store.listAttempts('t1', { limit: 10 })).data.map((a) => a.id)).toEqual([recent.id]);
    const window = { from: new Date('2026-01-01T00:00:00Z'), to: new Date('2026-04-01T00:00:00Z') };
    for (const resolution of ['minute', 'hour'] as const) {
      expect((await store.listDeliveryStats('t1', { ...window, resolution })).map((r) => r.start.toISOString().slice(0, 10))).toEqual(['2026-03-30']);
    }
  });

  it("keeps each tenant's attempts as long as its plan says, and the default plan's tenants as long as the hub says", async () => {
    const store = createMemoryStore();
    const now = Date.parse('2026-03-31T03:17:00Z');
    const limits = (days: number | null) => ({ subscriptions: null, connections: null, deliveredEventsPerMonth: null, deliveriesPerSecondPerSubscription: null, attemptRetentionDays: days, batchSize: null });
    const plans = [
      { name: 'free', limits: limits(3) },
      { name: 'business', limits: limits(60) },
      { name: 'same', limits: limits(null) },
      { name: 'unlimited', limits: limits(null) },
    ];
    const on = (tenantId: string, plan: string) => store.putTenantPlan({ tenantId, plan, source: 'operator', changedAt: new Date(now), directoryChangedAt: null });
    await on('free-1', 'free');
    await on('biz-1', 'business');
    await on('same-1', 'same');
    await on('gone-1', 'retired');
    const ages = ['2026-03-30T10:00:00Z', '2026-03-20T10:00:00Z', '2026-02-15T10:00:00Z', '2026-01-01T10:00:00Z'];
    const tenants = ['free-1', 'biz-1', 'same-1', 'gone-1', 'nobody'];
    await store.recordAttempts(tenants.flatMap((t) => ages.map((at) => attemptAt(at, t))));
    // HOOKHUB_RETENTION_DAYS 30 and the default plan `unlimited` (no days of its own): 30 days but for free (3) and business (60).
    await purgeDeliveries(store, 30, silentLogger, now, { defaultPlan: plans[3]!, plans, tenants: store });
    const kept = async (t: string): Promise<string[]> => (await store.listAttempts(t, { limit: 10 })).data.map((a) => a.createdAt.toISOString().slice(0, 10));
    expect(Object.fromEntries(await Promise.all(tenants.map(async (t) => [t, await kept(t)] as const)))).toEqual({
      'free-1': ['2026-03-30'],
      'biz-1': ['2026-03-30', '2026-03-20', '2026-02-15'],
      'same-1': ['2026-03-30', '2026-03-20'],
      // A plan no longer in the file, and no plan at all: the default plan's.
      'gone-1': ['2026-03-30', '2026-03-20'],
      nobody: ['2026-03-30', '2026-03-20'],
    });
    // A default plan with days of its own holds every tenant without a plan to them.
    await purgeDeliveries(store, 30, silentLogger, now, { defaultPlan: plans[0]!, plans, tenants: store });
    expect([await kept('nobody'), await kept('same-1'), await kept('biz-1')]).toEqual([['2026-03-30'], ['2026-03-30', '2026-03-20'], ['2026-03-30', '2026-03-20', '2026-02-15']]);
  });

  it('still purges the analytics when the attempt purge fails, and never throws', async () => {
    let statsPurged = false;
    const store = {
      purgeAttemptsBefore: () => Promise.reject(new Error('store down')),
      purgeTenantAttemptsBefore: () => Promise.reject(new Error('store down')),
      purgeDeliveryStatsBefore: async () => {
        statsPurged = true;
        return 0;
      },
      deleteRateSlotsBefore: async () => 0,
    };
    await expect(purgeDeliveries(store, 30, silentLogger, Date.now())).resolves.toBeUndefined();
    expect(statsPurged).toBe(true);
  });
});
