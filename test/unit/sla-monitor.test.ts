import { silentLogger } from '../../src/core/logger';
import type { DeliveryStatsRow } from '../../src/pipeline/delivery-stats';
import { attainmentOf, missedTargets, SlaMonitor } from '../../src/pipeline/sla-monitor';
import { createMemoryStore } from '../../src/store/memory/memory-store';

const row = (tenantId: string, start: Date, counts: DeliveryStatsRow['counts'], firstAttempt: DeliveryStatsRow['firstAttempt'] = {}): DeliveryStatsRow => ({
  tenantId, subscriptionId: 'sub_a', eventType: 'business.created', resolution: 'minute', start, counts, latency: {}, firstAttempt, toSuccess: {},
});

describe('SLA attainment', () => {
  it('is the share of settled deliveries that succeeded and the p99 of the time to the first attempt, judged over enough deliveries', () => {
    // Bucket 41 holds [1024, 1218) ms: its middle is about 1.1 s.
    const attained = attainmentOf('t', [row('t', new Date(0), { settled: 150, settled_succeeded: 147 }, { 41: 150 }), row('t', new Date(60_000), { settled: 50, settled_succeeded: 50 }, { 1: 50 })]);
    expect(attained).toMatchObject({ settled: 200, succeeded: 197, deliverySuccessPercent: 98.5, firstAttempts: 200 });
    expect(attained.p99FirstAttemptSeconds).toBeCloseTo(1.1, 1);
    expect(missedTargets(attained, { deliverySuccessPercent: 99, p99FirstAttemptSeconds: 1 }, 20)).toEqual(['delivery_success_percent', 'p99_first_attempt_seconds']);
    expect(missedTargets(attained, { deliverySuccessPercent: 98.5, p99FirstAttemptSeconds: null }, 20)).toEqual([]);
    // Too few deliveries to judge: nothing is missed.
    expect(missedTargets(attained, { deliverySuccessPercent: 99, p99FirstAttemptSeconds: 1 }, 201)).toEqual([]);
    expect(missedTargets(attainmentOf('t', []), { deliverySuccessPercent: 99, p99FirstAttemptSeconds: 1 }, 1)).toEqual([]);
  });
});

describe('SlaMonitor', () => {
  it('announces a breach once, not at every check, and again after a check that found the targets met', async () => {
    const store = createMemoryStore();
    let now = Date.parse('2026-12-04T10:30:00Z');
    const emitted: Array<{ tenantId: string; data: Record<string, unknown> }> = [];
    const settings = { intervalMs: 1000, windowMs: 600_000, minDeliveries: 1 };
    const monitor = (owner: string): SlaMonitor =>
      new SlaMonitor({
        stats: store,
        notices: store,
        leases: { acquireLease: async () => true, releaseLease: async () => undefined },
        targetsOf: async () => ({ plan: owner, targets: { deliverySuccessPercent: 90, p99FirstAttemptSeconds: null } }),
        operational: { emit: async (tenantId, _type, data) => void emitted.push({ tenantId, data }) },
        settings,
        clock: { now: () => now },
        logger: silentLogger,
      });
    const [one, other] = [monitor('gold'), monitor('gold')];
    await store.addDeliveryStats('w', 1, [row('t1', new Date('2026-12-04T10:25:00Z'), { settled: 10, settled_succeeded: 5 }), row('t2', new Date('2026-12-04T10:25:00Z'), { settled: 10, settled_succeeded: 10 })]);
    expect(await one.tick()).toBe(true);
    // Another process, or this one later: the breach is already announced.
    await other.tick();
    await one.tick();
    expect(emitted).toEqual([{ tenantId: 't1', data: expect.objectContaining({ plan: 'gold', missed: ['delivery_success_percent'], attainment: { delivery_success_percent: 50, p99_first_attempt_seconds: null, settled: 10, succeeded: 5 } }) }]);
    // The failures leave the window: met again (nothing to judge), then a new breach is announced.
    now += 20 * 60_000;
    await one.tick();
    await store.addDeliveryStats('w', 2, [row('t1', new Date(now - 60_000), { settled: 4, settled_succeeded: 1 })]);
    await one.tick();
    expect(emitted.map((e) => [e.tenantId, (e.data['attainment'] as Record<string, unknown>)['settled']])).toEqual([['t1', 10], ['t1', 4]]);
  });
});
