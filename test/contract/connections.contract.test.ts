import { newId } from '../../src/core/ids';
import type { ConnectionRecord } from '../../src/integrations/model';
import { adapters, connectedStore } from './store-adapters';

/** ConnectionRepository (integrations/ports.ts), on every adapter. */
describe.each(adapters)('ConnectionRepository contract: %s', (_name, create) => {
  const { store } = connectedStore(create);

  const connection = (tenantId: string, overrides: Partial<ConnectionRecord> = {}): ConnectionRecord => ({
    id: newId('con'), tenantId, connector: 'webhook-custom', connectorVersion: '1.2.0',
    config: { url: 'https://crm.example/x', headers: { 'X-A.b': '1', $odd: 'k' } }, secretsSealed: 'v1:k1:a:b:c',
    metadata: { instance_url: 'https://eu1.example' }, status: 'active', tokenExpiresAt: new Date('2026-01-01T01:00:00Z'), description: null,
    lastCheckAt: null, lastCheckOk: null, lastError: null,
    createdAt: new Date('2026-01-01T00:00:00Z'), updatedAt: new Date('2026-01-01T00:00:00Z'), ...overrides,
  });

  it('stores connections per tenant with their sealed secrets, settings and status', async () => {
    const record = connection('c1');
    await store.insertConnection(record);
    expect(await store.getConnection('c1', record.id)).toEqual(record);
    expect(await store.getConnection('c2', record.id)).toBeNull();
    expect(await store.loadConnection(record.id)).toEqual(record);
    await expect(store.insertConnection(record)).rejects.toMatchObject({ code: 11000 });
    expect(await store.updateConnection('c2', record.id, { status: 'error' })).toBeNull();
    const checkedAt = new Date('2026-03-03T00:00:00Z');
    const updated = await store.updateConnection('c1', record.id, { lastCheckAt: checkedAt, lastCheckOk: false, lastError: 'nope', config: { url: 'https://crm.example/y' } });
    expect(updated).toMatchObject({ lastCheckAt: checkedAt, lastCheckOk: false, lastError: 'nope', config: { url: 'https://crm.example/y' }, secretsSealed: 'v1:k1:a:b:c' });
    // What the linked account lacks, as the last requirements check found it, kept as given.
    const requirements = { checkedAt: '2026-03-03T00:00:00.000Z', missing: [{ name: 'scopes', message: 'grant notes.write' }], unchecked: [] };
    expect(await store.updateConnection('c1', record.id, { requirements })).toMatchObject({ requirements, lastError: 'nope' });
    expect(await store.loadConnection(record.id)).toMatchObject({ requirements });
    expect((await store.listConnections('c1', { limit: 5 })).data.map((c) => c.id)).toEqual([record.id]);
    expect(await store.deleteConnection('c2', record.id)).toBe(false);
    expect(await store.deleteConnection('c1', record.id)).toBe(true);
    expect(await store.loadConnection(record.id)).toBeNull();
  });

  it('finds the active connections whose token expires before a time, of every tenant, at most `limit`', async () => {
    const soon = connection('exp-a', { tokenExpiresAt: new Date('2026-06-01T10:05:00Z') });
    const soonOtherTenant = connection('exp-b', { tokenExpiresAt: new Date('2026-06-01T10:09:00Z') });
    const later = connection('exp-a', { tokenExpiresAt: new Date('2026-06-01T11:00:00Z') });
    const noExpiry = connection('exp-a', { tokenExpiresAt: null });
    const unlinked = connection('exp-a', { tokenExpiresAt: new Date('2026-06-01T10:01:00Z'), status: 'needs_reauth' });
    const broken = connection('exp-a', { tokenExpiresAt: new Date('2026-06-01T10:01:00Z'), status: 'error' });
    const mine = [soon, soonOtherTenant, later, noExpiry, unlinked, broken];
    for (const c of mine) await store.insertConnection(c);
    const ids = new Set(mine.map((c) => c.id));
    const found = await store.findConnectionsExpiringBefore(new Date('2026-06-01T10:10:00Z'), 100);
    expect(found.filter((c) => ids.has(c.id)).map((c) => c.id).sort()).toEqual([soon.id, soonOtherTenant.id].sort());
    expect(found.find((c) => c.id === soon.id)).toEqual(soon);
    expect(await store.findConnectionsExpiringBefore(new Date('2026-06-01T10:10:00Z'), 1)).toHaveLength(1);
    expect((await store.findConnectionsExpiringBefore(new Date('2026-06-01T10:00:00Z'), 100)).filter((c) => ids.has(c.id))).toEqual([]);
  });

  it('finds the active connections not checked since a time, or never, of every tenant, at most `limit`', async () => {
    const never = connection('chk-a', { lastCheckAt: null });
    const stale = connection('chk-b', { lastCheckAt: new Date('2026-06-01T09:00:00Z'), lastCheckOk: true });
    const fresh = connection('chk-a', { lastCheckAt: new Date('2026-06-01T09:59:00Z'), lastCheckOk: true });
    const unlinked = connection('chk-a', { lastCheckAt: null, status: 'needs_reauth' });
    const broken = connection('chk-a', { lastCheckAt: new Date('2026-06-01T09:00:00Z'), status: 'error' });
    const mine = [never, stale, fresh, unlinked, broken];
    for (const c of mine) await store.insertConnection(c);
    const ids = new Set(mine.map((c) => c.id));
    const found = await store.findConnectionsToCheck(new Date('2026-06-01T09:30:00Z'), 100);
    expect(found.filter((c) => ids.has(c.id)).map((c) => c.id).sort()).toEqual([never.id, stale.id].sort());
    expect(found.find((c) => c.id === stale.id)).toEqual(stale);
    expect(await store.findConnectionsToCheck(new Date('2026-06-01T09:30:00Z'), 1)).toHaveLength(1);
    // Checked since: no longer due.
    await store.updateConnection('chk-a', never.id, { lastCheckAt: new Date('2026-06-01T09:45:00Z') });
    expect((await store.findConnectionsToCheck(new Date('2026-06-01T09:30:00Z'), 100)).map((c) => c.id)).not.toContain(never.id);
  });

  it('counts failed token refreshes with the connection, for every process: atomically, the wait doubling from the first to the max, until cleared', async () => {
    const record = connection('rf-a');
    await store.insertConnection(record);
    const at = new Date('2026-06-01T10:00:00Z');
    const failure = (reason: string, ms = 0): { reason: string; at: Date; firstWaitMs: number; maxWaitMs: number } => ({ reason, at: new Date(at.getTime() + ms), firstWaitMs: 2000, maxWaitMs: 5000 });
    expect(await store.noteRefreshFailure(record.id, failure('http_503'))).toEqual({ failures: 1, retryAt: new Date('2026-06-01T10:00:02Z'), reason: 'http_503' });
    expect(await store.noteRefreshFailure(record.id, failure('http_502', 2000))).toEqual({ failures: 2, retryAt: new Date('2026-06-01T10:00:06Z'), reason: 'http_502' });
    // At most the max wait.
    expect(await store.noteRefreshFailure(record.id, failure('http_503', 6000))).toEqual({ failures: 3, retryAt: new Date('2026-06-01T10:00:11Z'), reason: 'http_503' });
    expect((await store.loadConnection(record.id))?.refreshBackoff).toEqual({ failures: 3, retryAt: new Date('2026-06-01T10:00:11Z'), reason: 'http_503' });
    expect((await store.getConnection('rf-a', record.id))?.refreshBackoff?.failures).toBe(3);
    // Two notes at once (which the refresh lease prevents) may count once, as a server without atomic updates does; never fewer.
    const both = await Promise.all([store.noteRefreshFailure(record.id, failure('a', 11000)), store.noteRefreshFailure(record.id, failure('b', 11000))]);
    const counted = Math.max(...both.map((b) => b?.failures ?? 0));
    expect(counted).toBeGreaterThanOrEqual(4);
    // Other writes keep it; a refresh that works forgets it, and the record reads as inserted.
    await store.updateConnection('rf-a', record.id, { lastError: 'x' });
    expect((await store.loadConnection(record.id))?.refreshBackoff?.failures).toBe(counted);
    await store.clearRefreshFailures(record.id);
    const cleared = await store.loadConnection(record.id);
    expect(cleared).toEqual({ ...record, lastError: 'x', updatedAt: cleared?.updatedAt });
    await store.clearRefreshFailures(record.id);
    expect(await store.noteRefreshFailure(record.id, failure('again', 20000))).toEqual({ failures: 1, retryAt: new Date('2026-06-01T10:00:22Z'), reason: 'again' });
    expect(await store.noteRefreshFailure('con_gone', failure('x'))).toBeNull();
    await store.clearRefreshFailures('con_gone');
  });
});
