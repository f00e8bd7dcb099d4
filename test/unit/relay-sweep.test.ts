import { randomBytes } from 'node:crypto';
import { ManualClock } from '../../src/core/clock';
import { SecretBox } from '../../src/core/secret-box';
import { silentLogger } from '../../src/core/logger';
import { sweepRelays } from '../../src/jobs/relay-sweep';
import { createMemoryStore } from '../../src/store/memory/memory-store';
import { HOLDER_STALE_MS, RelayService } from '../../src/subscriptions/relay-service';
import { SubscriptionCache } from '../../src/subscriptions/subscription-cache';
import { SubscriptionService } from '../../src/subscriptions/subscription-service';

function setup(): { relays: RelayService; store: ReturnType<typeof createMemoryStore>; clock: ManualClock } {
  const store = createMemoryStore();
  const secretBox = new SecretBox([{ id: 'k1', key: randomBytes(32) }]);
  const clock = new ManualClock(Date.parse('2026-12-03T12:00:00Z'));
  const cache = new SubscriptionCache(store, secretBox, 2000, clock);
  const subscriptions = new SubscriptionService({ store, secretBox, cache, allowPrivateNetworks: true, requireHttps: false, clock });
  return { relays: new RelayService({ store, secretBox, cache, subscriptions, clock }), store, clock };
}

describe('the relay sweep', () => {
  it('removes a relay once it has had no client for its keep, and not before', async () => {
    const { relays, store, clock } = setup();
    const { record } = await relays.open('acme', { events: ['business.created'], keepSeconds: 600 }, 'hub_a');
    await relays.left('acme', record.id, 'hub_a');
    clock.advance(599_000);
    expect(await sweepRelays(relays, silentLogger)).toBe(0);
    clock.advance(1000);
    expect(await sweepRelays(relays, silentLogger)).toBe(1);
    expect(await store.loadSubscription(record.id)).toBeNull();
  });

  it('keeps a relay whose holder confirms its client, and removes one whose holder stopped confirming it', async () => {
    const { relays, store, clock } = setup();
    const held = (await relays.open('acme', { keepSeconds: 1 }, 'hub_a')).record;
    const orphaned = (await relays.open('acme', { keepSeconds: 1 }, 'hub_dead')).record;
    clock.advance(HOLDER_STALE_MS - 1000);
    await relays.seen(held, 'hub_a');
    expect(await relays.sweep()).toBe(0);
    clock.advance(1000);
    expect(await relays.sweep()).toBe(1);
    expect(await store.loadSubscription(orphaned.id)).toBeNull();
    expect(await store.loadSubscription(held.id)).not.toBeNull();
  });

  it('a client leaving a process that no longer holds it (it reconnected elsewhere) changes nothing', async () => {
    const { relays, store, clock } = setup();
    const { record } = await relays.open('acme', { keepSeconds: 1 }, 'hub_a');
    await relays.open('acme', { relayId: record.id }, 'hub_b');
    await relays.left('acme', record.id, 'hub_a');
    expect(await store.loadSubscription(record.id)).toMatchObject({ relay: { holder: 'hub_b' } });
    clock.advance(HOLDER_STALE_MS - 1);
    expect(await relays.removeIfIdle('acme', record.id)).toBe(false);
  });
});
