import { ManualClock } from '../../src/core/clock';
import { RateLimiter } from '../../src/integrations/rate-limiter';

describe('connection rate limiter', () => {
  let clock: ManualClock;
  let limiter: RateLimiter;

  beforeEach(() => {
    clock = new ManualClock(0);
    limiter = new RateLimiter(clock);
  });

  it('allows a burst of `requests`, then spaces requests evenly', () => {
    const waits = Array.from({ length: 5 }, () => limiter.reserve('k', 2, 1, 10_000));
    expect(waits).toEqual([0, 0, 500, 1000, 1500]);
  });

  it('refuses to book a slot further away than the caller will wait', () => {
    expect(limiter.reserve('k', 1, 10, 1000)).toBe(0);
    expect(limiter.reserve('k', 1, 10, 1000)).toBeNull();
    expect(limiter.waitFor('k', 1, 10)).toBe(10_000);
  });

  it('keeps to the budget the API reports, waiting a whole window after the last request once it is spent', () => {
    limiter.observeBudget('k', 2, 1000);
    expect(limiter.reserve('k', 100, 10, 60_000)).toBe(0);
    clock.set(10);
    expect(limiter.reserve('k', 100, 10, 60_000)).toBe(0);
    // Spent: wait until a window has passed since the last request went out.
    clock.set(20);
    expect(limiter.reserve('k', 100, 10, 60_000)).toBe(1040);
    expect(limiter.waitFor('k', 100, 10)).toBeGreaterThanOrEqual(1040);
  });

  it('does not let an answer to an earlier request give back budget that later requests booked', () => {
    limiter.observeBudget('k', 2, 1000);
    expect(limiter.reserve('k', 100, 10, 60_000)).toBe(0);
    clock.set(5);
    expect(limiter.reserve('k', 100, 10, 60_000)).toBe(0);
    // The answer to the first request arrives: it counted only itself, "2 left" minus one = 1.
    clock.set(8);
    limiter.observeBudget('k', 1, 1000);
    // Both were booked already: the next one waits a window after the last send instead of going now.
    clock.set(10);
    expect(limiter.reserve('k', 100, 10, 60_000)).toBeGreaterThanOrEqual(995);
  });

  it('pauses every request when the API says nothing is left, until the window the API named has passed', () => {
    limiter.observeBudget('k', 0, 5000);
    expect(limiter.waitFor('k', 100, 10)).toBe(5000);
    expect(limiter.reserve('k', 100, 10, 1000)).toBeNull();
    expect(limiter.waitFor('other', 100, 10)).toBe(0);
    clock.advance(5000);
    expect(limiter.reserve('k', 100, 10, 1000)).toBe(0);
  });
});
