import { newId } from '../../src/core/ids';
import type { SealedValue } from '../../src/secrets/sealed-values';
import type { WebhookSubscription } from '../../src/subscriptions/model';
import { uniqueName } from '../support/services';
import { adapters, connectedStore, integrationRecord, subscriptionRecord } from './store-adapters';

/** SealedValues (secrets/sealed-values.ts), on every adapter: what the key check and re-encryption walk over. */
describe.each(adapters)('SealedValues contract: %s', (_name, create) => {
  const { store } = connectedStore(create);

  const subscription = subscriptionRecord('seal-t', { secretSealed: 'v1:k1:sub:sec:ret', previousSecretSealed: 'v1:k0:old:sec:ret', previousSecretExpiresAt: new Date('2026-01-02T00:00:00Z'), tlsSealed: null });
  const integration = integrationRecord('seal-t', { connectionId: 'con_x', connector: 'slack', triggers: null });
  const connection = {
    id: newId('con'), tenantId: 'seal-t', connector: 'slack', connectorVersion: '1.0.0', config: {}, secretsSealed: 'v1:k1:con:sec:ret', metadata: {},
    status: 'active' as const, tokenExpiresAt: null, description: null, lastCheckAt: null, lastCheckOk: null, lastError: null,
    createdAt: new Date('2026-01-01T00:00:00Z'), updatedAt: new Date('2026-01-01T00:00:00Z'),
  };
  const state = {
    id: uniqueName('st'), tenantId: 'seal-t', connector: 'salesforce', connectionId: null, sealed: 'v1:k1:sta:te:x', browserNonceHash: '',
    authorizationUrl: 'https://login.example/authorize', redirectAfter: null, createdAt: new Date('2026-01-01T00:00:00Z'), expiresAt: new Date('2026-01-01T00:10:00Z'),
  };
  const loadWebhook = async (id: string): Promise<WebhookSubscription> => {
    const loaded = await store.loadSubscription(id);
    if (loaded?.kind !== 'webhook') throw new Error(`no webhook subscription ${id}`);
    return loaded;
  };
  const scan = async (): Promise<SealedValue[]> => {
    const found: SealedValue[] = [];
    for await (const sealed of store.scanSealed()) found.push(sealed);
    return found.sort((a, b) => `${a.collection}/${a.id}/${a.field}`.localeCompare(`${b.collection}/${b.id}/${b.field}`));
  };

  beforeAll(async () => {
    await store.insertSubscription(subscription);
    await store.insertSubscription(integration);
    await store.insertConnection(connection);
    await store.insertOAuthState(state);
  });

  it('finds every non-empty sealed value of subscriptions, connections and OAuth states', async () => {
    expect(await scan()).toEqual([
      { collection: 'connections', id: connection.id, field: 'secretsSealed', value: 'v1:k1:con:sec:ret' },
      { collection: 'oauth_states', id: state.id, field: 'sealed', value: 'v1:k1:sta:te:x' },
      { collection: 'subscriptions', id: subscription.id, field: 'previousSecretSealed', value: 'v1:k0:old:sec:ret' },
      { collection: 'subscriptions', id: subscription.id, field: 'secretSealed', value: 'v1:k1:sub:sec:ret' },
    ]);
  });

  it('replaces a sealed value only while it is the one scanned', async () => {
    const found = await scan();
    const bySource = (collection: SealedValue['collection'], field: string): SealedValue => found.find((s) => s.collection === collection && s.field === field)!;
    expect(await store.replaceSealed(bySource('subscriptions', 'secretSealed'), 'v1:k2:sub:sec:ret')).toBe(true);
    expect(await store.replaceSealed(bySource('connections', 'secretsSealed'), 'v1:k2:con:sec:ret')).toBe(true);
    expect(await store.replaceSealed(bySource('oauth_states', 'sealed'), 'v1:k2:sta:te:x')).toBe(true);
    expect((await loadWebhook(subscription.id)).secretSealed).toBe('v1:k2:sub:sec:ret');
    expect((await loadWebhook(subscription.id)).previousSecretSealed).toBe('v1:k0:old:sec:ret');
    expect((await store.loadConnection(connection.id))?.secretsSealed).toBe('v1:k2:con:sec:ret');
    expect((await store.getOAuthState(state.id))?.sealed).toBe('v1:k2:sta:te:x');
    // Rotated meanwhile: the stale value is not written over the new one.
    await store.updateSubscription('seal-t', subscription.id, { previousSecretSealed: 'v1:k2:rot:at:ed' });
    expect(await store.replaceSealed(bySource('subscriptions', 'previousSecretSealed'), 'v1:k2:old:sec:ret')).toBe(false);
    expect((await loadWebhook(subscription.id)).previousSecretSealed).toBe('v1:k2:rot:at:ed');
    expect(await store.replaceSealed({ collection: 'connections', id: 'con_gone', field: 'secretsSealed', value: 'v1:k1:x:y:z' }, 'v1:k2:x:y:z')).toBe(false);
  });
});
