import type { HealthRecord, HealthSlice } from '../../src/pipeline/health-model';
import { LATENCY_BOUNDS_MS } from '../../src/pipeline/health-model';
import { adapters, connectedStore } from './store-adapters';

function slice(subscriptionId: string, sliceStart: Date, overrides: Partial<HealthSlice> = {}): HealthSlice {
  const latency = new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);
  latency[3] = 2;
  return {
    tenantId: 'eh1', subscriptionId, sliceStart, attempts: 2, succeeded: 1, latency,
    lastSuccessAt: new Date(sliceStart.getTime() + 100), lastFailureAt: new Date(sliceStart.getTime() + 200),
    recentFailures: [new Date(sliceStart.getTime() + 200)], ...overrides,
  };
}

function record(subscriptionId: string, overrides: Partial<HealthRecord> = {}): HealthRecord {
  const at = new Date('2026-06-01T10:00:00Z');
  return {
    tenantId: 'eh1', subscriptionId, state: 'healthy', since: at, reason: null, lastSuccessAt: null, lastFailureAt: null,
    failingSince: null, countFrom: at, updatedAt: at, ...overrides,
  };
}

/** EndpointHealthLog (pipeline/ports.ts), on every adapter. */
describe.each(adapters)('EndpointHealthLog contract: %s', (_name, create) => {
  const { store } = connectedStore(create);
  const t0 = new Date('2026-06-01T10:00:00Z');
  const t1 = new Date('2026-06-01T10:00:10Z');

  it('keeps one slice per process, subscription and slice start, each save replacing the last, with the process that wrote it', async () => {
    await store.saveHealthSlices('p1', [slice('sub_a', t0)]);
    await store.saveHealthSlices('p1', [slice('sub_a', t0, { attempts: 5, succeeded: 4 })]);
    await store.saveHealthSlices('p2', [slice('sub_a', t0, { recentFailures: [] }), slice('sub_a', t1), slice('sub_b', t1, { lastSuccessAt: null })]);
    const all = await store.listHealthSlices(t0);
    expect(all).toHaveLength(4);
    const p1 = all.find((s) => s.processId === 'p1');
    expect(p1).toEqual({ ...slice('sub_a', t0, { attempts: 5, succeeded: 4 }), processId: 'p1' });
    expect(all.find((s) => s.subscriptionId === 'sub_b')).toEqual({ ...slice('sub_b', t1, { lastSuccessAt: null }), processId: 'p2' });
    expect((await store.listHealthSlices(t1)).map((s) => `${s.processId}/${s.subscriptionId}`).sort()).toEqual(['p2/sub_a', 'p2/sub_b']);
    expect((await store.listHealthSlices(t0, ['sub_b'])).map((s) => s.subscriptionId)).toEqual(['sub_b']);
    expect(await store.listHealthSlices(t0, [])).toEqual([]);
  });

  it('purges slices that started before a time', async () => {
    await store.purgeHealthSlices(t1);
    expect((await store.listHealthSlices(new Date(0))).every((s) => s.sliceStart >= t1)).toBe(true);
    expect(await store.listHealthSlices(new Date(0))).toHaveLength(2);
  });

  it('keeps one verdict per subscription, lists those not healthy, and forgets one', async () => {
    await store.saveHealthRecord(record('sub_r1'));
    await store.saveHealthRecord(record('sub_r1', { state: 'failing', reason: 'The last 10 attempts failed.', failingSince: t0, lastFailureAt: t1 }));
    await store.saveHealthRecord(record('sub_r2', { state: 'degraded', reason: 'slow', lastSuccessAt: t1 }));
    await store.saveHealthRecord(record('sub_r3'));
    expect(await store.getHealthRecords(['sub_r1', 'sub_nope'])).toEqual([
      record('sub_r1', { state: 'failing', reason: 'The last 10 attempts failed.', failingSince: t0, lastFailureAt: t1 }),
    ]);
    expect(await store.getHealthRecords([])).toEqual([]);
    expect((await store.listUnhealthyRecords()).map((r) => r.subscriptionId).sort()).toEqual(['sub_r1', 'sub_r2']);
    await store.deleteHealthRecord('sub_r2');
    expect((await store.listUnhealthyRecords()).map((r) => r.subscriptionId)).toEqual(['sub_r1']);
    expect(await store.getHealthRecords(['sub_r2', 'sub_r3'])).toEqual([record('sub_r3')]);
  });
});
