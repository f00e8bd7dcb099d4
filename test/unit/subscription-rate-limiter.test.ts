import { SubscriptionRateLimiter } from '../../src/webhooks/subscription-rate-limiter';
import { createMemoryStore } from '../../src/store/memory/memory-store';

describe('subscription rate limiter', () => {
  it('hands out evenly spaced slots, never ones already past, and none beyond the wait', async () => {
    const store = createMemoryStore();
    const a = new SubscriptionRateLimiter(store);
    const b = new SubscriptionRateLimiter(store);
    const t = 10_000_000; // the start of a second
    expect(await a.acquire('sub', 4, 1000, t)).toBe(0);
    expect(await b.acquire('sub', 4, 1000, t)).toBe(250);
    expect(await a.acquire('sub', 4, 1000, t)).toBe(500);
    expect(await b.acquire('sub', 4, 1000, t)).toBe(750);
    expect(await a.acquire('sub', 4, 1000, t)).toBe(1000);
    // 600 ms into a fresh second of another subscription, slots 0..2 are past: the next is at 750.
    expect(await a.acquire('other', 4, 1000, t + 600)).toBe(150);
    expect(await a.acquire('slow', 0.5, 500, t)).toBe(0);
    expect(await a.acquire('slow', 0.5, 500, t)).toBeNull();
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
