import { localRateSlots, SharedRateLimiter } from '../../src/integrations/shared-rate-limiter';

/** rate_limit.shared: one rate for all links of a connector, however many processes send. */
describe('a connector-wide rate limit', () => {
  const T0 = 1_000_000_000_000;

  it('spaces the requests of two processes on one slot store to the shared rate', async () => {
    const slots = localRateSlots();
    const a = new SharedRateLimiter(slots);
    const b = new SharedRateLimiter(slots);
    // 2 requests a second, for all links: two processes asking at once four times each get distinct slots 500 ms apart.
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      waits.push((await a.acquire('discord', 2, 1, 10_000, T0))!, (await b.acquire('discord', 2, 1, 10_000, T0))!);
    }
    expect(waits.sort((x, y) => x - y)).toEqual([0, 500, 1000, 1500, 2000, 2500, 3000, 3500]);
  });

  it('keeps connectors apart: one connector’s traffic takes nothing from another’s', async () => {
    const limiter = new SharedRateLimiter(localRateSlots());
    expect(await limiter.acquire('discord', 1, 1, 5000, T0)).toBe(0);
    expect(await limiter.acquire('slack', 1, 1, 5000, T0)).toBe(0);
    expect(await limiter.acquire('discord', 1, 1, 5000, T0)).toBe(1000);
  });

  it('answers null when no slot is free within the wait allowed, so the delivery goes back to the queue', async () => {
    const limiter = new SharedRateLimiter(localRateSlots());
    expect(await limiter.acquire('discord', 1, 2, 1000, T0)).toBe(0);
    expect(await limiter.acquire('discord', 1, 2, 1000, T0)).toBeNull();
    expect(SharedRateLimiter.retryAfterMs(1, 2, 1000)).toBe(3000);
  });
});
