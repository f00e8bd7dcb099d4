import type { DeliveryStatsRow } from '../../src/pipeline/delivery-stats';
import { uniqueName } from '../support/services';
import { adapters, connectedStore } from './store-adapters';

const minute = (iso: string): Date => new Date(iso);

function row(tenantId: string, overrides: Partial<DeliveryStatsRow> = {}): DeliveryStatsRow {
  return {
    tenantId,
    subscriptionId: 'sub_a',
    eventType: 'business.created',
    resolution: 'minute',
    start: minute('2026-12-01T10:00:00Z'),
    counts: { attempts: 3, succeeded: 2, failed_5xx: 1, settled: 2, settled_succeeded: 2, to_success_ms: 900 },
    latency: { 20: 2, 30: 1 },
    firstAttempt: { 10: 2 },
    toSuccess: { 39: 2 },
    ...overrides,
  };
}

const sorted = (rows: DeliveryStatsRow[]): DeliveryStatsRow[] =>
  [...rows].sort((a, b) => a.start.getTime() - b.start.getTime() || a.subscriptionId.localeCompare(b.subscriptionId) || a.eventType.localeCompare(b.eventType));

/** DeliveryStats (pipeline/ports.ts) and its retention, on every adapter. */
describe.each(adapters)('DeliveryStats contract: %s', (_name, create) => {
  const { store } = connectedStore(create);
  const window = { resolution: 'minute' as const, from: minute('2026-12-01T00:00:00Z'), to: minute('2026-12-02T00:00:00Z') };

  it('adds rows of one writer and of several, and sums counters and histograms over writers on read', async () => {
    const tenant = uniqueName('ds');
    await store.addDeliveryStats('w1', 1, [row(tenant)]);
    await store.addDeliveryStats('w1', 2, [row(tenant, { counts: { attempts: 1, failed_timeout: 1 }, latency: { 40: 1 }, firstAttempt: {}, toSuccess: {} })]);
    await store.addDeliveryStats('w2', 1, [row(tenant, { counts: { attempts: 1, succeeded: 1 }, latency: { 20: 1 }, firstAttempt: {}, toSuccess: {} })]);
    expect(await store.listDeliveryStats(tenant, window)).toEqual([
      {
        tenantId: tenant,
        subscriptionId: 'sub_a',
        eventType: 'business.created',
        resolution: 'minute',
        start: minute('2026-12-01T10:00:00Z'),
        counts: { attempts: 5, succeeded: 3, failed_5xx: 1, failed_timeout: 1, settled: 2, settled_succeeded: 2, to_success_ms: 900 },
        latency: { 20: 3, 30: 1, 40: 1 },
        firstAttempt: { 10: 2 },
        toSuccess: { 39: 2 },
      },
    ]);
    // Another tenant sees none of it.
    expect(await store.listDeliveryStats(uniqueName('other'), window)).toEqual([]);
  });

  it('a write retried with the same id adds only to the rows it had not reached', async () => {
    const tenant = uniqueName('ds');
    const a = row(tenant);
    const b = row(tenant, { subscriptionId: 'sub_b' });
    await store.addDeliveryStats('w1', 7, [a]);
    // The same write again, now with both rows (as after a failure part-way): a is not added twice.
    await store.addDeliveryStats('w1', 7, [a, b]);
    await store.addDeliveryStats('w1', 7, [a, b]);
    const rows = sorted(await store.listDeliveryStats(tenant, window));
    expect(rows.map((r) => [r.subscriptionId, r.counts.attempts, r.latency])).toEqual([
      ['sub_a', 3, { 20: 2, 30: 1 }],
      ['sub_b', 3, { 20: 2, 30: 1 }],
    ]);
    // The next write adds again.
    await store.addDeliveryStats('w1', 8, [a]);
    expect(sorted(await store.listDeliveryStats(tenant, window)).map((r) => r.counts.attempts)).toEqual([6, 3]);
  });

  it('reads one resolution in [from, to), narrowed by subscription and event type', async () => {
    const tenant = uniqueName('ds');
    await store.addDeliveryStats('w1', 1, [
      row(tenant),
      row(tenant, { start: minute('2026-12-01T10:01:00Z'), eventType: 'review.created' }),
      row(tenant, { start: minute('2026-12-01T10:02:00Z'), subscriptionId: 'sub_b' }),
      row(tenant, { resolution: 'hour', counts: { attempts: 9 } }),
    ]);
    const read = async (query: Partial<Parameters<typeof store.listDeliveryStats>[1]>): Promise<Array<[string, string, string]>> =>
      sorted(await store.listDeliveryStats(tenant, { ...window, ...query })).map((r) => [r.start.toISOString().slice(11, 16), r.subscriptionId, r.eventType]);
    expect(await read({})).toEqual([
      ['10:00', 'sub_a', 'business.created'],
      ['10:01', 'sub_a', 'review.created'],
      ['10:02', 'sub_b', 'business.created'],
    ]);
    expect(await read({ from: minute('2026-12-01T10:01:00Z'), to: minute('2026-12-01T10:02:00Z') })).toEqual([['10:01', 'sub_a', 'review.created']]);
    expect(await read({ subscriptionId: 'sub_a' })).toEqual([
      ['10:00', 'sub_a', 'business.created'],
      ['10:01', 'sub_a', 'review.created'],
    ]);
    expect(await read({ eventType: 'business.created', subscriptionId: 'sub_b' })).toEqual([['10:02', 'sub_b', 'business.created']]);
    const hours = await store.listDeliveryStats(tenant, { ...window, resolution: 'hour' });
    expect(hours.map((r) => [r.resolution, r.counts])).toEqual([['hour', { attempts: 9 }]]);
  });

  it('lists each tenant with rows of a resolution in [from, to) once', async () => {
    const [a, b, c] = [uniqueName('ds'), uniqueName('ds'), uniqueName('ds')];
    await store.addDeliveryStats('w1', 1, [
      row(a, { start: minute('2031-05-01T10:00:00Z') }),
      row(a, { start: minute('2031-05-01T10:01:00Z'), subscriptionId: 'sub_b' }),
      row(b, { start: minute('2031-05-01T10:59:00Z') }),
      row(c, { start: minute('2031-05-01T11:00:00Z') }),
      row(c, { start: minute('2031-05-01T10:00:00Z'), resolution: 'hour' }),
    ]);
    await store.addDeliveryStats('w2', 1, [row(a, { start: minute('2031-05-01T10:00:00Z') })]);
    const mine = (list: string[]): string[] => list.filter((t) => [a, b, c].includes(t)).sort();
    const query = { resolution: 'minute' as const, from: minute('2031-05-01T10:00:00Z'), to: minute('2031-05-01T11:00:00Z') };
    expect(mine(await store.listDeliveryStatsTenants(query))).toEqual([a, b].sort());
    expect(mine(await store.listDeliveryStatsTenants({ ...query, resolution: 'hour' }))).toEqual([c]);
    expect(mine(await store.listDeliveryStatsTenants({ ...query, from: minute('2031-05-01T10:02:00Z') }))).toEqual([b]);
  });

  it('purges rows that start before a time, minutes and hours alike', async () => {
    const tenant = uniqueName('ds');
    await store.addDeliveryStats('w1', 1, [
      row(tenant, { start: minute('2020-03-01T09:59:00Z') }),
      row(tenant, { start: minute('2020-03-01T09:00:00Z'), resolution: 'hour' }),
      row(tenant, { start: minute('2020-03-01T10:00:00Z') }),
    ]);
    expect(await store.purgeDeliveryStatsBefore(minute('2020-03-01T10:00:00Z'))).toBe(2);
    const left = await store.listDeliveryStats(tenant, { resolution: 'minute', from: minute('2020-01-01T00:00:00Z'), to: minute('2020-12-01T00:00:00Z') });
    expect(left.map((r) => r.start.toISOString())).toEqual(['2020-03-01T10:00:00.000Z']);
  });
});
