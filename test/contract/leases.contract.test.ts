import { uniqueName } from '../support/services';
import { adapters, connectedStore } from './store-adapters';

/** Leases (integrations/ports.ts), on every adapter. */
describe.each(adapters)('Leases contract: %s', (_name, create) => {
  const { store } = connectedStore(create);

  it('gives a lease to one owner at a time, and lets an expired one be taken over', async () => {
    const name = uniqueName('lease');
    expect(await store.acquireLease(name, 'a', 60_000)).toBe(true);
    expect(await store.acquireLease(name, 'b', 60_000)).toBe(false);
    expect(await store.acquireLease(name, 'a', 60_000)).toBe(true);
    await store.releaseLease(name, 'b');
    expect(await store.acquireLease(name, 'b', 60_000)).toBe(false);
    await store.releaseLease(name, 'a');
    expect(await store.acquireLease(name, 'b', 1)).toBe(true);
    await new Promise((r) => setTimeout(r, 20));
    const racers = await Promise.all([store.acquireLease(name, 'c', 60_000), store.acquireLease(name, 'd', 60_000)]);
    expect(racers.filter(Boolean)).toHaveLength(1);
  });
});
