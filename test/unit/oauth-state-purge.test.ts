import { silentLogger } from '../../src/core/logger';
import { OAUTH_STATE_GRACE_MS, purgeOAuthStates } from '../../src/jobs/purge-job';
import { createMemoryStore } from '../../src/store/memory/memory-store';

describe('OAuth state purge', () => {
  it('deletes linking states an hour after they expired, and keeps the ones a late browser may still bring back', async () => {
    const store = createMemoryStore();
    const now = Date.parse('2026-03-01T12:00:00Z');
    const state = (id: string, expiresAt: number) => ({
      id, tenantId: 't1', connector: 'pipedrive', connectionId: null, sealed: 'v1:k1:x:y:z', browserNonceHash: '',
      authorizationUrl: 'https://oauth.example/authorize', redirectAfter: null, createdAt: new Date(expiresAt - 600_000), expiresAt: new Date(expiresAt),
    });
    await store.insertOAuthState(state('long-gone', now - OAUTH_STATE_GRACE_MS - 1));
    await store.insertOAuthState(state('just-expired', now - 60_000));
    await store.insertOAuthState(state('live', now + 300_000));
    expect(await purgeOAuthStates(store, silentLogger, now)).toBe(1);
    expect(await store.getOAuthState('long-gone')).toBeNull();
    expect(await store.getOAuthState('just-expired')).not.toBeNull();
    expect(await store.getOAuthState('live')).not.toBeNull();
  });

  it('never throws: a failed run is logged and tried again by the next', async () => {
    const failing = { purgeOAuthStatesBefore: () => Promise.reject(new Error('store down')) };
    await expect(purgeOAuthStates(failing, silentLogger, Date.now())).resolves.toBe(0);
  });
});
