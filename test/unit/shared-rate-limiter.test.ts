import { localRateSlots, SharedRateLimiter } from '../../src/integrations/shared-rate-limiter';

/** rate_limit.shared: one rate for all links of a connector, however many processes send. */
describe('a connector-wide rate limit', () => {
  const T0 = 1_000_000_000_000;
  const clockAt = (t: number) => {
    const clock = { t, now: () => clock.t };
    return clock;
  };

  it('spaces the requests of two processes on one slot store to the shared rate', async () => {
    const slots = localRateSlots();
    const clock = clockAt(T0);
    const a = new SharedRateLimiter(slots, clock);
    const b = new SharedRateLimiter(slots, clock);
    // 2 requests a second, for all links: two processes asking at once four times each get distinct slots 500 ms apart.
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      waits.push((await a.acquire('discord', 2, 1, 10_000))!, (await b.acquire('discord', 2, 1, 10_000))!);
    }
    expect(waits.sort((x, y) => x - y)).toEqual([0, 500, 1000, 1500, 2000, 2500, 3000, 3500]);
  });

  it('never lets more than the rate go in any sliding second, however the requests arrive', async () => {
    const slots = localRateSlots();
    const clock = clockAt(T0 + 40);
    const processes = [new SharedRateLimiter(slots, clock), new SharedRateLimiter(slots, clock), new SharedRateLimiter(slots, clock)];
    const sendTimes: number[] = [];
    for (let i = 0; i < 400; i++) {
      // A burst of 100 that arrives 40 ms into a second (its first slots already past), then arrivals
      // in bursts and lulls, a few milliseconds to a third of a second apart.
      if (i >= 100) clock.t += [1, 3, 7, 20, 45, 130, 333][i % 7]!;
      const wait = await processes[i % 3]!.acquire('discord', 45, 1, 60_000);
      if (wait !== null) sendTimes.push(clock.t + wait);
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
    const limiter = new SharedRateLimiter(localRateSlots(), clockAt(T0));
    expect(await limiter.acquire('discord', 1, 1, 5000)).toBe(0);
    expect(await limiter.acquire('slack', 1, 1, 5000)).toBe(0);
    expect(await limiter.acquire('discord', 1, 1, 5000)).toBe(1000);
  });

  it('answers null when no slot is free within the wait allowed, so the delivery goes back to the queue', async () => {
    const limiter = new SharedRateLimiter(localRateSlots(), clockAt(T0));
    expect(await limiter.acquire('discord', 1, 2, 1000)).toBe(0);
    expect(await limiter.acquire('discord', 1, 2, 1000)).toBeNull();
    expect(SharedRateLimiter.retryAfterMs(1, 2, 1000)).toBe(3000);
  });

  it('does not use a slot its claim came back too late for (a slow store): the bucket it was in keeps its rate', async () => {
    // 4 a second: slots at 0, 250, 500 and 750 ms of each second, for every process.
    const slots = localRateSlots();
    const slowClock = clockAt(T0 + 700);
    const slowSlots = {
      async claimRateSlot(key: string, bucket: number, slot: number) {
        const won = await slots.claimRateSlot(key, bucket, slot);
        slowClock.t += 400; // every claim takes 400 ms
        return won;
      },
    };
    const slow = new SharedRateLimiter(slowSlots, slowClock);
    const sends: number[] = [];
    const wait = await slow.acquire('hubspot', 4, 1, 3000);
    if (wait !== null) sends.push(slowClock.t + wait);
    // Another process, on time, sends in every slot of the next second it can still claim.
    const fastClock = clockAt(T0 + 1000);
    const fast = new SharedRateLimiter(slots, fastClock);
    for (let i = 0; i < 4; i++) {
      const w = await fast.acquire('hubspot', 4, 1, 3000);
      if (w !== null) sends.push(fastClock.t + w);
    }
    const perSecond = new Map<number, number>();
    for (const t of sends) perSecond.set(Math.floor(t / 1000), (perSecond.get(Math.floor(t / 1000)) ?? 0) + 1);
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(4);
    expect(sends.length).toBeGreaterThanOrEqual(4);
  });
});
