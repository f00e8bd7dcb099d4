import { uniqueName } from '../support/services';
import { adapters, connectedStore } from './store-adapters';

/**
 * RateSlots (webhooks/rate-slots.ts), on every adapter. The subscription rate
 * limiter shares a rate across worker processes by this claim alone, so a slot
 * must go to exactly one claimer however the claims interleave.
 */
describe.each(adapters)('RateSlots contract: %s', (_name, create) => {
  const { store } = connectedStore(create);

  it('gives a slot to one of two claims made at once, and to no later claim', async () => {
    const key = uniqueName('sub');
    const claims = await Promise.all([store.claimRateSlot(key, 100, 0), store.claimRateSlot(key, 100, 0)]);
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await store.claimRateSlot(key, 100, 0)).toBe(false);
  });

  it('gives one winner per slot among many racing claims', async () => {
    const key = uniqueName('sub');
    const racers = Array.from({ length: 5 }, () => [0, 1, 2].map((slot) => store.claimRateSlot(key, 7, slot)));
    const results = await Promise.all(racers.flat());
    // Per slot exactly one of the five racers won.
    for (let slot = 0; slot < 3; slot++) expect(results.filter((won, i) => won && i % 3 === slot)).toHaveLength(1);
  });

  it('treats another slot, bucket or key as another slot: both claims win', async () => {
    const key = uniqueName('sub');
    const other = uniqueName('sub');
    expect(await Promise.all([store.claimRateSlot(key, 200, 0), store.claimRateSlot(key, 200, 1)])).toEqual([true, true]);
    expect(await Promise.all([store.claimRateSlot(key, 201, 0), store.claimRateSlot(other, 200, 0)])).toEqual([true, true]);
    // A key that extends another (as "sub:1000" and "sub:10000" could) is a key of its own.
    expect(await store.claimRateSlot(`${key}0`, 200, 0)).toBe(true);
  });
});
