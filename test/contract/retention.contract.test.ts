import { uniqueName } from '../support/services';
import { adapters, connectedStore } from './store-adapters';

/**
 * Retention (jobs/ports.ts), on every adapter: the rate-slot sweep. (The attempt
 * purge, purgeAttemptsBefore, is asserted with the attempts it deletes, in the
 * AttemptLog suite.)
 */
describe.each(adapters)('Retention contract: %s', (_name, create) => {
  const { store } = connectedStore(create);

  it('deletes the rate slots claimed before a time, which can then be claimed again', async () => {
    const key = uniqueName('sub');
    expect(await Promise.all([store.claimRateSlot(key, 1, 0), store.claimRateSlot(key, 1, 1)])).toEqual([true, true]);
    // Claimed just now: nothing is older than a minute ago.
    expect(await store.deleteRateSlotsBefore(new Date(Date.now() - 60_000))).toBe(0);
    expect(await store.claimRateSlot(key, 1, 0)).toBe(false);
    expect(await store.deleteRateSlotsBefore(new Date(Date.now() + 60_000))).toBe(2);
    expect(await store.claimRateSlot(key, 1, 0)).toBe(true);
    expect(await store.deleteRateSlotsBefore(new Date(Date.now() - 60_000))).toBe(0);
  });
});
