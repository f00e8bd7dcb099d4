import { uniqueName } from '../support/services';
import { adapters, connectedStore } from './store-adapters';

/** ConsoleSessions (access/ports.ts), on every adapter. */
describe.each(adapters)('ConsoleSessions contract: %s', (_name, create) => {
  const { store } = connectedStore(create);
  const session = (expiresAt: string) => ({
    id: uniqueName('sess'), tenantId: 't1', keyHash: 'k'.repeat(64), csrfHash: 'c'.repeat(64),
    createdAt: new Date('2026-01-01T00:00:00Z'), expiresAt: new Date(expiresAt),
  });

  it('finds a session by id as stored, refuses a second insert of the id, and signs it out once', async () => {
    const s = session('2026-01-01T12:00:00Z');
    await store.insertConsoleSession(s);
    expect(await store.findConsoleSession(s.id)).toEqual(s);
    await expect(store.insertConsoleSession({ ...s, tenantId: 't2' })).rejects.toThrow();
    expect(await store.findConsoleSession(s.id)).toEqual(s);
    expect(await store.findConsoleSession(uniqueName('sess'))).toBeNull();
    expect(await store.deleteConsoleSession(s.id)).toBe(true);
    expect(await store.deleteConsoleSession(s.id)).toBe(false);
    expect(await store.findConsoleSession(s.id)).toBeNull();
  });

  it('purges sessions that expired before a time and keeps the others', async () => {
    const old = session('2026-01-01T12:00:00Z');
    const live = session('2999-01-01T00:00:00Z');
    await store.insertConsoleSession(old);
    await store.insertConsoleSession(live);
    expect(await store.purgeConsoleSessionsBefore(new Date('2026-06-01T00:00:00Z'))).toBeGreaterThanOrEqual(1);
    expect(await store.findConsoleSession(old.id)).toBeNull();
    expect(await store.findConsoleSession(live.id)).toEqual(live);
  });
});
