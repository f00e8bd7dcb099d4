import { adapters, connectedStore } from './store-adapters';

/** ExternalRefStore (integrations/ports.ts), on every adapter. */
describe.each(adapters)('ExternalRefStore contract: %s', (_name, create) => {
  const { store } = connectedStore(create);

  it('remembers external ids per connection, type and key', async () => {
    await store.putExternalRef('con_r', 'organization', 'biz.1', '42');
    await store.putExternalRef('con_r', 'organization', 'biz.1', '43');
    expect(await store.getExternalRef('con_r', 'organization', 'biz.1')).toBe('43');
    expect(await store.getExternalRef('con_other', 'organization', 'biz.1')).toBeNull();
  });
});
