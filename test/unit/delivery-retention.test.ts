import { silentLogger } from '../../src/core/logger';
import { newIdAt } from '../../src/core/ids';
import { purgeDeliveries } from '../../src/jobs/purge-job';
import { StatsAccumulator } from '../../src/pipeline/delivery-stats';
import type { AttemptRecord } from '../../src/pipeline/model';
import { createMemoryStore } from '../../src/store/memory/memory-store';

const attemptAt = (at: string): AttemptRecord => ({
  id: newIdAt('att', new Date(at)), tenantId: 't1', subscriptionId: 'sub_a', eventId: 'evt_1', eventType: 'business.created', webhookId: 'msg_1', attempt: 1,
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

  it('still purges the analytics when the attempt purge fails, and never throws', async () => {
    let statsPurged = false;
    const store = {
      purgeAttemptsBefore: () => Promise.reject(new Error('store down')),
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
