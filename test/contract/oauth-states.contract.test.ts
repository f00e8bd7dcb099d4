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

  it('purges states that expired before a time, with their claims, and keeps the others', async () => {
    const base = {
      tenantId: 'o1', connector: 'hubspot', connectionId: null, sealed: 'v1:k1:x:y:z', browserNonceHash: '',
      authorizationUrl: 'https://login.example/authorize?x=1', redirectAfter: null, createdAt: new Date('2026-01-01T00:00:00Z'),
    };
    const old = { ...base, id: uniqueName('st'), expiresAt: new Date('2026-01-01T00:10:00Z') };
    const claimed = { ...base, id: uniqueName('st'), expiresAt: new Date('2026-01-01T00:10:00Z') };
    const live = { ...base, id: uniqueName('st'), expiresAt: new Date('2999-01-01T00:10:00Z') };
    for (const state of [old, claimed, live]) await store.insertOAuthState(state);
    expect(await store.claimOAuthState(claimed.id, 'b1')).toBe(true);
    expect(await store.claimOAuthState(live.id, 'b2')).toBe(true);
    // Adapters share a database across suites: at least these two, maybe others' long expired ones.
    expect(await store.purgeOAuthStatesBefore(new Date('2026-06-01T00:00:00Z'))).toBeGreaterThanOrEqual(2);
    expect(await store.getOAuthState(old.id)).toBeNull();
    expect(await store.getOAuthState(claimed.id)).toBeNull();
    expect(await store.getOAuthState(live.id)).toMatchObject({ id: live.id, browserNonceHash: 'b2' });
    expect(await store.claimOAuthState(live.id, 'b3')).toBe(false);
  });
});
