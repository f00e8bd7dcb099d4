import type { ExportRecord } from '../../src/integrations/connection-export';
import type { StoredEvent } from '../../src/pipeline/model';
import { uniqueName } from '../support/services';
import { adapters, connectedStore } from './store-adapters';

/** ConnectionExports and ExportEvents (integrations/ports.ts), on every adapter. */
describe.each(adapters)('ConnectionExports contract: %s', (_name, create) => {
  const subject = connectedStore(create);
  const { store } = subject;

  const record = (tenantId: string, connectionId: string, minute: number): ExportRecord => ({
    id: uniqueName('exp'),
    tenantId,
    connectionId,
    type: 'business.created',
    since: new Date('2026-01-01T00:00:00Z'),
    until: new Date('2026-02-01T00:00:00Z'),
    state: 'queued',
    exported: 0,
    cursor: null,
    pending: null,
    lastRange: null,
    error: null,
    createdAt: new Date(Date.UTC(2026, 1, 2, 0, minute)),
    updatedAt: new Date(Date.UTC(2026, 1, 2, 0, minute)),
    finishedAt: null,
  });

  it('keeps an export for its tenant, lists a connection newest first, and reports a taken id', async () => {
    const tenant = uniqueName('tenant');
    const connection = uniqueName('conn');
    const first = record(tenant, connection, 1);
    const second = record(tenant, connection, 2);
    await store.insertExport(first);
    await store.insertExport(second);
    await store.insertExport(record(tenant, uniqueName('conn'), 3));
    await expect(store.insertExport(first)).rejects.toMatchObject({ code: 11000 });
    expect(await store.getExport(tenant, first.id)).toEqual(first);
    expect(await store.getExport('another-tenant', first.id)).toBeNull();
    expect(await store.getExport(tenant, 'exp_none')).toBeNull();
    expect(await store.listExports(tenant, connection, 10)).toEqual([second, first]);
    expect(await store.listExports(tenant, connection, 1)).toEqual([second]);
    expect(await store.listExports('another-tenant', connection, 10)).toEqual([]);
  });

  it('stores progress: the cursor, the page written ahead (an empty one is not none), and the end', async () => {
    const exp = record(uniqueName('tenant'), uniqueName('conn'), 5);
    await store.insertExport(exp);
    const cursor = { receivedAt: new Date('2026-01-05T00:00:00.123Z'), key: 'evt_b' };
    await store.updateExport(exp.id, { state: 'running', pending: ['evt_a', 'evt_b'] });
    expect(await store.getExport(exp.tenantId, exp.id)).toMatchObject({ state: 'running', pending: ['evt_a', 'evt_b'], cursor: null });
    await store.updateExport(exp.id, { pending: [] });
    expect((await store.getExport(exp.tenantId, exp.id))?.pending).toEqual([]);
    const finishedAt = new Date('2026-02-03T00:00:00Z');
    await store.updateExport(exp.id, { cursor, pending: null, exported: 2, lastRange: 'Sheet1!A2:I3', state: 'done', finishedAt, error: null });
    expect(await store.getExport(exp.tenantId, exp.id)).toEqual({ ...exp, state: 'done', cursor, pending: null, exported: 2, lastRange: 'Sheet1!A2:I3', finishedAt });
  });

  it('finds the exports still to run, oldest first', async () => {
    const tenant = uniqueName('tenant');
    const connection = uniqueName('conn');
    const queued = record(tenant, connection, -50);
    const running = { ...record(tenant, connection, -40), state: 'running' as const };
    const done = { ...record(tenant, connection, -45), state: 'done' as const };
    for (const r of [queued, running, done]) await store.insertExport(r);
    const ids = (await store.unfinishedExports(1000)).map((r) => r.id);
    expect(ids).toEqual(expect.arrayContaining([queued.id, running.id]));
    expect(ids).not.toContain(done.id);
    expect(ids.indexOf(queued.id)).toBeLessThan(ids.indexOf(running.id));
    await store.updateExport(queued.id, { state: 'failed' });
    expect((await store.unfinishedExports(1000)).map((r) => r.id)).not.toContain(queued.id);
  });

  it('pages the events of a type a tenant sees in a window, in (receivedAt, key) order from a cursor', async () => {
    const type = uniqueName('export.type');
    const tenant = uniqueName('tenant');
    const at = (minute: number): Date => new Date(Date.UTC(2026, 6, 1, 0, minute));
    const event = (id: string, scope: string | null, minute: number, ofType = type): StoredEvent => ({
      key: scope === null ? id : `${scope}/${id}`,
      envelope: { id, type: ofType, version: '1.0', timestamp: '2026-07-01T00:00:00Z', data: { minute } },
      scopeTenantId: scope,
      receivedAt: at(minute),
      routedAt: null,
    });
    const before = event('a0', null, 0);
    const b = event('b1', null, 1);
    const a = event('a1', null, 1);
    const own = event('c2', tenant, 2);
    const other = event('d3', 'someone-else', 3);
    const otherType = event('e4', null, 4, `${type}.x`);
    const last = event('f5', null, 5);
    const after = event('g9', null, 9);
    await store.insertEvents([before, b, a, own, other, otherType, last, after]);
    const window = { since: at(1), until: at(9) };
    const keys = (events: Array<{ key: string }>): string[] => events.map((e) => e.key);
    const all = await store.eventsForExport(tenant, type, window, null, 10);
    expect(keys(all)).toEqual(['a1', 'b1', own.key, 'f5']);
    expect(all[0]).toEqual({ key: 'a1', receivedAt: at(1), envelope: a.envelope });
    const page = await store.eventsForExport(tenant, type, window, null, 1);
    expect(keys(page)).toEqual(['a1']);
    expect(keys(await store.eventsForExport(tenant, type, window, { receivedAt: at(1), key: 'a1' }, 2))).toEqual(['b1', own.key]);
    expect(keys(await store.eventsForExport(tenant, type, window, { receivedAt: at(5), key: 'f5' }, 2))).toEqual([]);
  });
});
