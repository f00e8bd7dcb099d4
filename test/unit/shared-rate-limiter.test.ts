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

  it('never lets more than the rate go in any sliding second, however the requests arrive', async () => {
    const slots = localRateSlots();
    const processes = [new SharedRateLimiter(slots), new SharedRateLimiter(slots), new SharedRateLimiter(slots)];
    const sendTimes: number[] = [];
    let now = T0 + 40;
    for (let i = 0; i < 400; i++) {
      // A burst of 100 that arrives 40 ms into a second (its first slots already past), then arrivals
      // in bursts and lulls, a few milliseconds to a third of a second apart.
      if (i >= 100) now += [1, 3, 7, 20, 45, 130, 333][i % 7]!;
      const wait = await processes[i % 3]!.acquire('discord', 45, 1, 60_000, now);
      if (wait !== null) sendTimes.push(now + wait);
    }
    sendTimes.sort((x, y) => x - y);
    let busiest = 0;
    for (let i = 0, j = 0; i < sendTimes.length; i++) {
      while (sendTimes[i]! - sendTimes[j]! >= 1000) j++;
      busiest = Math.max(busiest, i - j + 1);
    }
    expect(sendTimes.length).toBe(400);
    expect(busiest).toBeLessThanOrEqual(45);
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
