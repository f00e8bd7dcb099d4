import { uniqueName } from '../support/services';
import { adapters, connectedStore } from './store-adapters';

/** OAuthStates (integrations/ports.ts), on every adapter. */
describe.each(adapters)('OAuthStates contract: %s', (_name, create) => {
  const { store } = connectedStore(create);

  it('lets an OAuth state be consumed once', async () => {
    const state = {
      id: uniqueName('st'), tenantId: 'o1', connector: 'salesforce', connectionId: null, sealed: 'v1:k1:x:y:z', browserNonceHash: '',
      authorizationUrl: 'https://login.example/authorize?x=1', redirectAfter: null, createdAt: new Date('2026-01-01T00:00:00Z'), expiresAt: new Date('2026-01-01T00:10:00Z'),
    };
    await store.insertOAuthState(state);
    expect(await store.getOAuthState(state.id)).toEqual(state);
    const claims = await Promise.all([store.claimOAuthState(state.id, 'b1'), store.claimOAuthState(state.id, 'b2')]);
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect((await store.getOAuthState(state.id))?.browserNonceHash).toBe(claims[0] ? 'b1' : 'b2');
    const consumed = await Promise.all([store.consumeOAuthState(state.id), store.consumeOAuthState(state.id)]);
    expect(consumed.sort()).toEqual([false, true]);
    expect(await store.getOAuthState(state.id)).toBeNull();
  });
});
