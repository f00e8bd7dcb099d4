import { adapters, connectedStore } from './store-adapters';

/** SyncCounts (integrations/ports.ts), on every adapter. */
describe.each(adapters)('SyncCounts contract: %s', (_name, create) => {
  const { store } = connectedStore(create);

  it('sums sync counts over processes, per object type and hour', async () => {
    const hour = new Date('2026-05-05T10:00:00Z');
    const row = { tenantId: 's1', connectionId: 'con_s', objectType: 'Lead', hour, created: 2, updated: 1, failed: 0 };
    await store.saveSyncCounts('p1', [row]);
    await store.saveSyncCounts('p1', [{ ...row, created: 3 }]);
    await store.saveSyncCounts('p2', [{ ...row, created: 1, failed: 4 }, { ...row, objectType: 'Case', created: 5, updated: 0 }]);
    expect(await store.listSyncCounts('s1', 'con_s', new Date('2026-05-05T00:00:00Z'))).toEqual([
      { tenantId: 's1', connectionId: 'con_s', objectType: 'Case', hour, created: 5, updated: 0, failed: 0 },
      { tenantId: 's1', connectionId: 'con_s', objectType: 'Lead', hour, created: 4, updated: 2, failed: 4 },
    ]);
    expect(await store.listSyncCounts('s2', 'con_s', new Date(0))).toEqual([]);
  });
});
