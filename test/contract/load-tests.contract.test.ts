import type { LoadTestRecord } from '../../src/subscriptions/load-tests';
import type { LoadTestResult } from '../../src/transport/loadtest/engine';
import { adapters, connectedStore } from './store-adapters';

const result = (p50: number): LoadTestResult => ({
  url: 'https://hooks.example.com/in',
  eventType: 'business.created',
  startedAt: '2026-12-03T10:00:00.000Z',
  durationMs: 2000,
  warmupSeconds: 0,
  sloP99Ms: 1000,
  stages: [],
  total: { sent: 20, completed: 20, achievedRps: 10, statuses: { '200': 19, '503': 1 }, errors: { timeout: 0 }, latencyMs: { p50, p90: 30, p99: 40, p999: 41, max: 41, mean: 22 } },
  histogram: [{ upToMs: 50, count: 20 }, { upToMs: null, count: 0 }],
  recommendation: { requestsPerSecond: 8, basisRps: 10, reason: 'kept up' },
  aborted: false,
});

const record = (id: string, tenantId: string, subscriptionId: string, p50 = 20): LoadTestRecord => ({
  id,
  tenantId,
  subscriptionId,
  rate: 10,
  seconds: 2,
  createdAt: new Date('2026-12-03T10:00:00.000Z'),
  result: result(p50),
});

/** LoadTestStore (subscriptions/load-tests.ts), on every adapter. */
describe.each(adapters)('LoadTestStore contract: %s', (_name, create) => {
  const { store } = connectedStore(create);

  it('lists a subscription\'s load tests newest first, whole, by pages; never another subscription\'s or tenant\'s', async () => {
    await store.insertLoadTest(record('lt_01', 't_a', 'sub_1', 11));
    await store.insertLoadTest(record('lt_02', 't_a', 'sub_1', 12));
    await store.insertLoadTest(record('lt_03', 't_a', 'sub_1', 13));
    await store.insertLoadTest(record('lt_04', 't_a', 'sub_2'));
    await store.insertLoadTest(record('lt_05', 't_b', 'sub_1'));

    const first = await store.listLoadTests('t_a', 'sub_1', { limit: 2 });
    expect(first.data).toEqual([record('lt_03', 't_a', 'sub_1', 13), record('lt_02', 't_a', 'sub_1', 12)]);
    expect(first.nextCursor).toBe('lt_02');
    const second = await store.listLoadTests('t_a', 'sub_1', { limit: 2, cursor: 'lt_02' });
    expect(second).toEqual({ data: [record('lt_01', 't_a', 'sub_1', 11)], nextCursor: null });
    expect((await store.listLoadTests('t_b', 'sub_2', { limit: 10 })).data).toEqual([]);
  });

  it('hands out copies: changing a record read does not change what is stored', async () => {
    await store.insertLoadTest(record('lt_10', 't_c', 'sub_c'));
    const [read] = (await store.listLoadTests('t_c', 'sub_c', { limit: 1 })).data;
    read!.result.total.statuses['200'] = 0;
    expect((await store.listLoadTests('t_c', 'sub_c', { limit: 1 })).data[0]!.result.total.statuses['200']).toBe(19);
  });
});
