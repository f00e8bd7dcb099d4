import { EndpointHealth, wholeTier } from '../../src/pipeline/endpoint-health';
import type { EndpointRules } from '../../src/pipeline/endpoint-health';
import { EndpointLimiter, SATURATED } from '../../src/pipeline/endpoint-limiter';
import type { EndpointLimiterOptions } from '../../src/pipeline/endpoint-limiter';

const rules: EndpointRules = { maxConcurrency: 64, startConcurrency: 4, slowMs: 1000, minDeferMs: 1000, maxDeferMs: 300_000 };

/** Takes every slot the endpoint allows at `now`; returns how many. */
function fill(health: EndpointHealth, now: number): number {
  let taken = 0;
  while (health.hasRoom(now)) {
    health.start(now);
    taken += 1;
  }
  return taken;
}

/** Fast answers, each while the endpoint uses every slot it has: how an endpoint earns concurrency. */
function answerFastWhileBusy(health: EndpointHealth, answers: number, now: number): void {
  for (let i = 0; i < answers; i += 1) {
    fill(health, now);
    health.observe(20, true, now);
    health.finish();
  }
}

describe('EndpointHealth', () => {
  it('gives an unknown endpoint a few slots, and more for each fast answer while it uses them, up to the maximum', () => {
    const health = new EndpointHealth(rules, 0);
    expect(health.allowed(0)).toBe(4);
    answerFastWhileBusy(health, 1, 10);
    expect(health.allowed(10)).toBe(5);
    answerFastWhileBusy(health, 100, 10);
    expect(health.allowed(10)).toBe(64);
  });

  it('does not grow for an endpoint that never uses half its slots', () => {
    const health = new EndpointHealth(rules, 0);
    for (let i = 0; i < 100; i += 1) {
      health.start(i);
      health.observe(20, true, i);
      health.finish();
    }
    expect(health.allowed(100)).toBe(4);
  });

  it('halves on timeouts down to one slot, and on slow answers down to the starting concurrency only', () => {
    const grown = new EndpointHealth(rules, 0);
    answerFastWhileBusy(grown, 28, 0);
    expect(grown.allowed(0)).toBe(32);
    // One answer far past slowMs makes it slow, which caps it at the starting 4 at once.
    grown.observe(5000, true, 0);
    expect(grown.allowed(0)).toBe(4);

    const timingOut = new EndpointHealth(rules, 0);
    timingOut.observe(30_000, false, 0);
    timingOut.observe(30_000, false, 0);
    expect(timingOut.allowed(0)).toBe(1);
    timingOut.observe(30_000, false, 0);
    expect(timingOut.allowed(0)).toBe(1);

    const answeringSlowly = new EndpointHealth(rules, 0);
    for (let i = 0; i < 5; i += 1) answeringSlowly.observe(20_000, true, 0);
    expect(answeringSlowly.allowed(0)).toBe(4);
  });

  it('counts an endpoint as slow once a request has been in flight past slowMs with no answer, before any response', () => {
    const health = new EndpointHealth(rules, 0);
    expect(health.isSlow(0)).toBe(false);
    health.start(0);
    expect(health.isSlow(1000)).toBe(false);
    expect(health.isSlow(1001)).toBe(true);
    // An answer is progress: a busy endpoint that keeps answering fast is not stuck.
    health.start(1001);
    health.observe(10, true, 1001);
    health.finish();
    expect(health.isSlow(1500)).toBe(false);
    // Nothing in flight, nothing stuck, however long it was idle.
    health.finish();
    expect(health.isSlow(60_000)).toBe(false);
    // Going busy again after an idle spell starts the clock afresh.
    health.start(60_000);
    expect(health.isSlow(60_500)).toBe(false);
  });

  it('allows a stuck endpoint no more than the starting concurrency, whatever it earned while fast', () => {
    const health = new EndpointHealth(rules, 0);
    answerFastWhileBusy(health, 20, 0);
    expect(health.allowed(0)).toBe(24);
    fill(health, 0);
    // All 24 hang: past slowMs, no new request gets in until fewer than 4 remain.
    expect(health.hasRoom(1500)).toBe(false);
    for (let i = 0; i < 20; i += 1) health.finish();
    expect(health.hasRoom(1500)).toBe(false);
    health.finish();
    expect(health.hasRoom(1500)).toBe(true);
  });

  it('books the jobs a slow endpoint has no slot for at the pace it answers, so they come back when there is room', () => {
    // 400 ms answers on 4 slots, slow past 300 ms: a slot frees every 100 ms.
    const health = new EndpointHealth({ ...rules, slowMs: 300, minDeferMs: 50 }, 0);
    fill(health, 10_000);
    health.observe(400, true, 10_400);
    health.start(10_400);
    expect(Array.from({ length: 5 }, () => health.deferDelayMs(10_450))).toEqual([100, 200, 300, 400, 500]);
  });

  it('moves a hanging endpoint’s backlog aside for up to twice as long as it has not answered well, in whole retry tiers, and briefly once it recovers', () => {
    const health = new EndpointHealth(rules, 0);
    fill(health, 0);
    const delays = (now: number): number[] => [...new Set(Array.from({ length: 50 }, () => health.deferDelayMs(now)))];
    // Not slow yet: a job refused in a race comes back soon.
    expect(health.deferDelayMs(500)).toBe(1000);
    expect(delays(1500)).toEqual([1000, 2000]);
    expect(delays(9000)).toEqual([2000, 4000, 8000, 16000]);
    expect(Math.max(...delays(600_000))).toBe(256_000);
    // It answers well again: its backlog comes back soon.
    health.observe(30_000, false, 600_000);
    health.observe(15, true, 600_001);
    expect(delays(600_100)).toEqual([1000]);
  });

  it('rounds delays to the nearest whole power of two seconds, within the limit', () => {
    expect([1000, 1400, 1500, 2800, 3000, 7000, 9000].map((ms) => wholeTier(ms, 60_000))).toEqual([1000, 1000, 2000, 2000, 4000, 8000, 8000]);
    expect(wholeTier(7000, 5000)).toBe(4000);
    expect(wholeTier(250, 60_000)).toBe(250);
  });
});

/**
 * The limiter as these tests drive it: acquire() takes a slot through withSlot and holds it
 * (true once held, false when withSlot moved the job aside), until release() lets go of the
 * endpoint's oldest held slot and withSlot has given it back.
 */
class HeldSlots {
  readonly limiter: EndpointLimiter;
  private readonly held = new Map<string, Array<{ letGo: () => void; done: Promise<unknown> }>>();

  constructor(maxConcurrency: number, options: EndpointLimiterOptions) {
    this.limiter = new EndpointLimiter(maxConcurrency, options);
  }

  acquire(key: string): Promise<boolean> {
    return new Promise((granted) => {
      const holders = this.held.get(key) ?? [];
      this.held.set(key, holders);
      let letGo = (): void => undefined;
      const holding = new Promise<void>((resolve) => (letGo = resolve));
      // withSlot may run the work before it returns (a free slot): the holder learns its `done` right after.
      const holder: { letGo: () => void; done: Promise<unknown> } = { letGo, done: holding };
      const done = this.limiter.withSlot(key, () => {
        holders.push(holder);
        granted(true);
        return holding;
      });
      holder.done = done;
      void done.then((result) => result === SATURATED && granted(false));
    });
  }

  async release(key: string): Promise<void> {
    const holder = this.held.get(key)?.shift();
    holder?.letGo();
    await holder?.done;
  }

  observe(key: string, durationMs: number, answered: boolean): void {
    this.limiter.observe(key, durationMs, answered);
  }

  isSlow(key: string): boolean {
    return this.limiter.isSlow(key);
  }

  deferDelayMs(key: string): number {
    return this.limiter.deferDelayMs(key);
  }
}

describe('EndpointLimiter', () => {
  let now = 0;
  const clock = { now: (): number => now };

  /** Settles pending promise callbacks. */
  const flush = (): Promise<void> => new Promise((r) => setImmediate(r));
  /** Time passing, for the clock and the timers together. */
  const elapse = (ms: number): void => {
    for (let step = 0; step < ms; step += 10) {
      now += 10;
      jest.advanceTimersByTime(10);
    }
  };
  /** What acquire() resolved to at once, or 'waiting'. */
  const atOnce = (acquired: Promise<boolean>): Promise<boolean | 'waiting'> => Promise.race([acquired, flush().then(() => 'waiting' as const)]);

  beforeEach(() => {
    now = 0;
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('makes jobs for an endpoint that answers wait their turn, in order, beyond the check interval', async () => {
    const limiter = new HeldSlots(1, { checkIntervalMs: 20, clock });
    expect(await limiter.acquire('https://a')).toBe(true);
    limiter.observe('https://a', 30, true);
    await limiter.release('https://a');
    expect(await limiter.acquire('https://a')).toBe(true);
    const order: string[] = [];
    const second = limiter.acquire('https://a').then((ok) => order.push(`second:${ok}`));
    const third = limiter.acquire('https://a').then((ok) => order.push(`third:${ok}`));
    // Another endpoint is not held up by the first one's queue.
    expect(await limiter.acquire('https://b')).toBe(true);
    elapse(900);
    await flush();
    expect(order).toEqual([]);
    limiter.observe('https://a', 30, true);
    await limiter.release('https://a');
    await second;
    await limiter.release('https://a');
    await third;
    expect(order).toEqual(['second:true', 'third:true']);
  });

  it('moves waiting jobs aside as soon as a fresh endpoint has hung for slowMs, and refuses new ones at once', async () => {
    const limiter = new HeldSlots(64, { checkIntervalMs: 250, clock });
    // A fresh endpoint gets 4 slots, not 64: that is all a hanging one holds of the shared prefetch.
    const first = await Promise.all(Array.from({ length: 4 }, () => limiter.acquire('https://hangs')));
    expect(first).toEqual([true, true, true, true]);
    const outcomes: boolean[] = [];
    for (let i = 0; i < 3; i += 1) void limiter.acquire('https://hangs').then((ok) => outcomes.push(ok));
    elapse(900);
    await flush();
    expect(outcomes).toEqual([]);
    elapse(400);
    await flush();
    expect(outcomes).toEqual([false, false, false]);
    expect(limiter.isSlow('https://hangs')).toBe(true);
    expect(await atOnce(limiter.acquire('https://hangs'))).toBe(false);
    expect(limiter.deferDelayMs('https://hangs')).toBeGreaterThanOrEqual(1000);
    // A timeout frees a slot and cuts the limit: the next job is still tried (retries go on), one at a time.
    now = 30_000;
    for (let i = 0; i < 4; i += 1) {
      limiter.observe('https://hangs', 30_000, false);
      await limiter.release('https://hangs');
    }
    expect(await limiter.acquire('https://hangs')).toBe(true);
    expect(await atOnce(limiter.acquire('https://hangs'))).toBe(false);
    // Its backlog now waits far longer than a second between looks.
    expect(limiter.deferDelayMs('https://hangs')).toBe(32_000);
  });

  it('lets no more jobs wait for an endpoint not heard from than it has slots, and any number once it answers well', async () => {
    const limiter = new HeldSlots(64, { checkIntervalMs: 250, clock });
    for (let i = 0; i < 4; i += 1) expect(await limiter.acquire('https://new')).toBe(true);
    const waiting = Array.from({ length: 4 }, () => limiter.acquire('https://new'));
    expect(await Promise.all(waiting.map(atOnce))).toEqual(['waiting', 'waiting', 'waiting', 'waiting']);
    expect(await atOnce(limiter.acquire('https://new'))).toBe(false);
    // A fast answer: the endpoint is known to answer, and its backlog may wait its turn.
    limiter.observe('https://new', 20, true);
    await limiter.release('https://new');
    expect(await waiting[0]).toBe(true);
    const more = Array.from({ length: 20 }, () => limiter.acquire('https://new'));
    expect(await Promise.all(more.map(atOnce))).toEqual(Array.from({ length: 20 }, () => 'waiting'));
  });

  it('does not take a stall of the hub itself for an endpoint hanging', async () => {
    const limiter = new HeldSlots(64, { clock });
    expect(await limiter.acquire('https://a')).toBe(true);
    elapse(300);
    // The event loop is blocked for 1.5 s: the heartbeat comes late.
    now += 1500;
    jest.advanceTimersByTime(100);
    expect(limiter.isSlow('https://a')).toBe(false);
    // Running normally, no answer for more than slowMs is a hang.
    elapse(1100);
    expect(limiter.isSlow('https://a')).toBe(true);
  });

  it('lets jobs wait again once a slow endpoint answers well', async () => {
    const limiter = new HeldSlots(1, { checkIntervalMs: 20, clock });
    expect(await limiter.acquire('https://slow')).toBe(true);
    limiter.observe('https://slow', 5000, true);
    expect(await atOnce(limiter.acquire('https://slow'))).toBe(false);
    await limiter.release('https://slow');
    for (let i = 0; i < 20; i += 1) {
      expect(await limiter.acquire('https://slow')).toBe(true);
      limiter.observe('https://slow', 10, true);
      await limiter.release('https://slow');
    }
    expect(limiter.isSlow('https://slow')).toBe(false);
    expect(await limiter.acquire('https://slow')).toBe(true);
    let granted: boolean | null = null;
    const next = limiter.acquire('https://slow').then((ok) => (granted = ok));
    await flush();
    expect(granted).toBeNull();
    await limiter.release('https://slow');
    await next;
    expect(granted).toBe(true);
    await limiter.release('https://slow');
  });
});

describe('EndpointLimiter.withSlot', () => {
  it('gives the slot back when the work resolves', async () => {
    const limiter = new EndpointLimiter(1, { startConcurrency: 1 });
    expect(await limiter.withSlot('https://a', async () => 'sent')).toBe('sent');
    // Slow now, so a job finding no free slot is moved aside (SATURATED) instead of waiting: the next one runs only if the slot came back.
    limiter.observe('https://a', 5000, true);
    expect(await limiter.withSlot('https://a', async () => 'again')).toBe('again');
  });

  it('gives the slot back when the work throws, and passes the error on', async () => {
    const limiter = new EndpointLimiter(1, { startConcurrency: 1 });
    await expect(limiter.withSlot('https://a', () => Promise.reject(new Error('store down')))).rejects.toThrow('store down');
    limiter.observe('https://a', 5000, true);
    expect(await limiter.withSlot('https://a', async () => 'after')).toBe('after');
  });

  it('answers SATURATED without running the work when the endpoint has no slot and may not be waited for', async () => {
    const limiter = new EndpointLimiter(1, { startConcurrency: 1 });
    let letGo = (): void => undefined;
    const holding = limiter.withSlot('https://slow', () => new Promise<void>((resolve) => (letGo = resolve)));
    // A slow answer: the endpoint's backlog is moved aside rather than left waiting.
    limiter.observe('https://slow', 5000, true);
    let ran = false;
    expect(await limiter.withSlot('https://slow', async () => (ran = true))).toBe(SATURATED);
    expect(ran).toBe(false);
    letGo();
    await holding;
  });
});
