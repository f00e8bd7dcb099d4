import { setTimeout as sleep } from 'node:timers/promises';
import type { DeliveryJob } from '../../src/broker/port';
import { ManualClock } from '../../src/core/clock';
import type { EventEnvelope } from '../../src/events/envelope';
import { createMemoryStore } from '../../src/store/memory/memory-store';
import type { WebhookSubscription } from '../../src/subscriptions/model';
import type { LoadedWebhook } from '../../src/subscriptions/subscription-cache';
import { HttpSender } from '../../src/transport/http-sender';
import { PayloadBuilder } from '../../src/webhooks/payload';
import type { RateSlots } from '../../src/webhooks/rate-slots';
import { SubscriptionRateLimiter } from '../../src/webhooks/subscription-rate-limiter';
import { WebhookTarget } from '../../src/webhooks/webhook-target';
import { startReceiver } from '../support/receiver';
import type { Receiver } from '../support/receiver';

describe('subscription rate limiter', () => {
  it('hands out evenly spaced slots, never ones already past, and none beyond the wait', async () => {
    const store = createMemoryStore();
    const t = 10_000_000; // the start of a second
    const clock = new ManualClock(t);
    const a = new SubscriptionRateLimiter(store, clock);
    const b = new SubscriptionRateLimiter(store, clock);
    const second = { until: t + 1000 };
    expect(await a.acquire('sub', 4, 1000)).toEqual({ at: t, ...second });
    expect(await b.acquire('sub', 4, 1000)).toEqual({ at: t + 250, ...second });
    expect(await a.acquire('sub', 4, 1000)).toEqual({ at: t + 500, ...second });
    expect(await b.acquire('sub', 4, 1000)).toEqual({ at: t + 750, ...second });
    expect(await a.acquire('sub', 4, 1000)).toEqual({ at: t + 1000, until: t + 2000 });
    // 600 ms into a fresh second of another subscription, slots 0..2 are past: the next is at 750.
    clock.set(t + 600);
    expect(await a.acquire('other', 4, 1000)).toEqual({ at: t + 750, ...second });
    clock.set(t);
    expect(await a.acquire('slow', 0.5, 500)).toEqual({ at: t, until: t + 2000 });
    expect(await a.acquire('slow', 0.5, 500)).toBeNull();
  });

  it('does not hand out a slot whose claim came back after its time: it takes a later one', async () => {
    const t = 10_000_000;
    const clock = new ManualClock(t);
    const memory = createMemoryStore();
    // A store that answers the first claim 300 ms late.
    let claims = 0;
    const slow: RateSlots = {
      claimRateSlot: async (key, bucket, slot) => {
        if (claims++ === 0) clock.advance(300);
        return memory.claimRateSlot(key, bucket, slot);
      },
    };
    const limiter = new SubscriptionRateLimiter(slow, clock);
    // Slot 0 (t) was claimed, but only at t + 300: slots 1 and 2 (t + 100, t + 200) are past too; slot 3 is the one.
    expect(await limiter.acquire('sub', 10, 2000)).toEqual({ at: t + 300, until: t + 1000 });
    expect(claims).toBe(2);
  });

  it('keeps a process slowed down by 429s and one that is not within the rate together', async () => {
    const t = 10_000_000; // the start of a second (and of two)
    const clock = new ManualClock(t);
    const store = createMemoryStore();
    const slowed = new SubscriptionRateLimiter(store, clock);
    const full = new SubscriptionRateLimiter(store, clock);
    slowed.slowDown('sub', t);
    const given: Array<{ by: string; at: number }> = [];
    // For 6 seconds both processes ask for a slot of 1 request a second every 100 ms.
    for (let now = t; now < t + 6000; now += 100) {
      clock.set(now);
      for (const [by, limiter] of [['slowed', slowed], ['full', full]] as const) {
        const slot = await limiter.acquire('sub', 1, 0);
        if (slot) given.push({ by, at: slot.at });
      }
    }
    const perSecond = new Map<number, number>();
    for (const g of given) perSecond.set(Math.floor(g.at / 1000), (perSecond.get(Math.floor(g.at / 1000)) ?? 0) + 1);
    expect([...perSecond.values()]).toEqual([1, 1, 1, 1, 1, 1]);
    // The slowed process took every other second at most; the other one the rest.
    expect(given.filter((g) => g.by === 'slowed').length).toBeLessThanOrEqual(3);
    expect(given.filter((g) => g.by === 'full').length).toBeGreaterThanOrEqual(3);
  });

  it('slows down after a 429 and recovers over time', async () => {
    const limiter = new SubscriptionRateLimiter(createMemoryStore());
    limiter.slowDown('sub', 0);
    expect(limiter.factor('sub', 0)).toBe(0.5);
    limiter.slowDown('sub', 0);
    expect(limiter.factor('sub', 0)).toBe(0.25);
    expect(limiter.factor('sub', 150_000)).toBeCloseTo(0.625, 3);
    expect(limiter.factor('sub', 300_001)).toBe(1);
  });
});

describe('rate-limited webhook deliveries from several processes', () => {
  let receiver: Receiver | undefined;
  const senders: HttpSender[] = [];
  afterAll(async () => {
    await Promise.all(senders.map((s) => s.close()));
    await receiver?.close();
  });

  it('never sign more requests in one second than the rate, even when a slow claim comes back in a later second', async () => {
    const rate = 2;
    receiver = await startReceiver();
    const record = {
      id: 'sub_rate', tenantId: 'acme', kind: 'webhook', endpointUrl: `${receiver.url}/hook`, events: ['business.created'],
      filters: [], filter: null, payload: null, headers: {}, active: true, description: null, secretSealed: 'x', disabledReason: null,
      retryConfig: { maxRetries: 3, initialDelaySeconds: 1, backoffMultiplier: 2, maxBackoffSeconds: 60 },
      rateLimit: { requestsPerSecond: rate }, createdAt: new Date(), updatedAt: new Date(),
    } as WebhookSubscription;
    const loaded: LoadedWebhook = { record, secrets: [`whsec_${Buffer.from('k'.repeat(32)).toString('base64')}`] };
    const job = (n: number): DeliveryJob => {
      const event = { id: `evt_${n}`, type: 'business.created', version: '1.0', timestamp: new Date().toISOString(), data: { id: 'biz_1' } } as EventEnvelope;
      return { webhookId: `msg_${n}`, tenantId: 'acme', subscriptionId: record.id, event, attempt: 1 };
    };
    // Two worker processes sharing one store's slots; the first one's store is slow to answer its first claim.
    const store = createMemoryStore();
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let firstClaim = true;
    const slowStore: RateSlots = {
      claimRateSlot: async (key, bucket, slot) => {
        if (firstClaim) {
          firstClaim = false;
          await released;
        }
        return store.claimRateSlot(key, bucket, slot);
      },
    };
    const target = (slots: RateSlots): WebhookTarget => {
      const sender = new HttpSender({ timeoutMs: 5000, allowPrivateNetworks: true, connectionsPerOrigin: 4 });
      senders.push(sender);
      return new WebhookTarget({ sender, payloads: new PayloadBuilder(), store: slots });
    };
    const one = target(slowStore);
    const two = target(store);

    // Early in a second (B), the first process claims a slot of B; its claim is answered only in the next second (B + 1), once
    // the second process has taken both slots of B + 1.
    await sleep(1000 - (Date.now() % 1000) + 10);
    const sending = one.send(job(1), loaded);
    const nextSecond = (Math.floor(Date.now() / 1000) + 1) * 1000;
    await sleep(nextSecond - Date.now() + 5);
    const others = [two.send(job(2), loaded), two.send(job(3), loaded)];
    await sleep(50);
    release();
    const results = await Promise.all([sending, ...others]);
    for (const result of results) expect(result.kind).toBe('attempted');

    // Each request's second on the limiter's clock is the webhook-timestamp it was signed with.
    const perSecond = new Map<string, number>();
    for (const req of receiver.requests) {
      const second = String(req.headers['webhook-timestamp']);
      perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
    }
    expect(receiver.requests).toHaveLength(3);
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(rate);
  });
});
