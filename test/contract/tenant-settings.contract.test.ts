import { adapters, connectedStore } from './store-adapters';

/** TenantSettingsStore (integrations/ports.ts), on every adapter. */
describe.each(adapters)('TenantSettingsStore contract: %s', (_name, create) => {
  const { store } = connectedStore(create);

  it('has no record for a tenant that never saved settings', async () => {
    expect(await store.getTenantSettings('t_never')).toBeNull();
  });

  it('keeps one record per tenant, replaced as a whole, never another tenant\'s', async () => {
    const first = new Date('2026-12-01T10:00:00.000Z');
    await store.putTenantSettings({ tenantId: 't_a', redirectOrigins: ['https://app.example.com', 'http://localhost:5173'], updatedAt: first });
    await store.putTenantSettings({ tenantId: 't_b', redirectOrigins: ['https://b.example.org'], updatedAt: first });
    expect(await store.getTenantSettings('t_a')).toEqual({ tenantId: 't_a', redirectOrigins: ['https://app.example.com', 'http://localhost:5173'], updatedAt: first });

    const second = new Date('2026-12-02T10:00:00.000Z');
    await store.putTenantSettings({ tenantId: 't_a', redirectOrigins: [], updatedAt: second });
    expect(await store.getTenantSettings('t_a')).toEqual({ tenantId: 't_a', redirectOrigins: [], updatedAt: second });
    expect(await store.getTenantSettings('t_b')).toEqual({ tenantId: 't_b', redirectOrigins: ['https://b.example.org'], updatedAt: first });
  });

  it('hands out copies: changing a record read does not change what is stored', async () => {
    await store.putTenantSettings({ tenantId: 't_c', redirectOrigins: ['https://c.example.com'], updatedAt: new Date('2026-12-01T00:00:00Z') });
    const read = await store.getTenantSettings('t_c');
    read?.redirectOrigins.push('https://evil.example.net');
    expect((await store.getTenantSettings('t_c'))?.redirectOrigins).toEqual(['https://c.example.com']);
  });
});
