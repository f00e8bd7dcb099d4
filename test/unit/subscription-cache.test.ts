import { randomBytes } from 'node:crypto';
import { ManualClock } from '../../src/core/clock';
import { SecretBox } from '../../src/core/secret-box';
import { SubscriptionCache } from '../../src/subscriptions/subscription-cache';

describe('subscription cache', () => {
  it('reads the store again once its entries are older than the lifetime on its clock', async () => {
    const clock = new ManualClock();
    let loads = 0;
    const store = {
      loadSubscription: async () => null,
      findSubscriptionsFor: async () => {
        loads += 1;
        return [];
      },
    };
    const cache = new SubscriptionCache(store, new SecretBox([{ id: 'k1', key: randomBytes(32) }]), 2000, clock);
    await cache.findFor('business.created', null);
    clock.advance(1999);
    await cache.findFor('business.created', null);
    expect(loads).toBe(1);
    clock.advance(1);
    // A stale entry is served while its refresh runs.
    await cache.findFor('business.created', null);
    expect(loads).toBe(2);
    await cache.findFor('business.created', null);
    expect(loads).toBe(2);
  });
});
