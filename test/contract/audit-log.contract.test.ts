import type { AuditEntry } from '../../src/access/model';
import { newId } from '../../src/core/ids';
import { adapters, connectedStore } from './store-adapters';

/** AuditLog (access/ports.ts), on every adapter. */
describe.each(adapters)('AuditLog contract: %s', (_name, create) => {
  const { store } = connectedStore(create);

  it('keeps audit entries per tenant, newest first, filterable, with a cursor', async () => {
    const entry = (tenantId: string, overrides: Partial<AuditEntry> = {}): AuditEntry => ({
      id: newId('aud'), tenantId, action: 'subscription.create', resourceType: 'subscription', resourceId: newId('sub'),
      fields: ['endpointUrl', 'headers'], apiKeyId: 'key_1', apiKeyName: 'ci', ip: '127.0.0.1', userAgent: 'curl/8', status: 201,
      at: new Date('2026-01-01T00:00:00Z'), ...overrides,
    });
    const tenant = `t_${newId('x')}`;
    const a = entry(tenant);
    const b = entry(tenant, { action: 'connection.link', resourceType: 'connection', resourceId: 'con_1', status: 200, details: { providerAccountId: '00D1/0051', providerAccountName: 'acme.example' } });
    const c = entry(tenant, { action: 'api_key.revoke', resourceType: 'api_key', resourceId: 'key_9', fields: [], ip: null, userAgent: null, status: 204 });
    await store.recordAuditEntries([a, b]);
    await store.recordAuditEntries([c, a]); // a retried batch: the duplicate is ignored
    await store.recordAuditEntries([entry('other')]);
    const all = await store.listAuditEntries(tenant, { limit: 50 });
    expect(all.data).toEqual([c, b, a]);
    expect((await store.listAuditEntries(tenant, { limit: 50, resourceType: 'connection' })).data).toEqual([b]);
    expect((await store.listAuditEntries(tenant, { limit: 50, resourceId: 'key_9' })).data).toEqual([c]);
    expect((await store.listAuditEntries(tenant, { limit: 50, action: 'subscription.create' })).data).toEqual([a]);
    const first = await store.listAuditEntries(tenant, { limit: 2 });
    expect(first.data).toEqual([c, b]);
    expect((await store.listAuditEntries(tenant, { limit: 2, cursor: first.nextCursor! })).data).toEqual([a]);
  });
});
