/** The rules EndpointHealth applies, with every default filled in. */
export interface EndpointRules {
  maxConcurrency: number;
  startConcurrency: number;
  slowMs: number;
  minDeferMs: number;
  maxDeferMs: number;
}

/**
 * What the hub has learned about one endpoint, as additive-increase /
 * multiplicative-decrease concurrency. Pure: every method is given the time.
 *
 * - An endpoint starts at `startConcurrency` and earns one more slot per answer
 *   within `slowMs` (while it uses at least half its slots), up to the maximum.
 * - A timeout or network error halves its limit (down to 1); a slow answer halves
 *   it down to `startConcurrency`.
 * - It is slow when its smoothed response time is above `slowMs`, or as soon as it
 *   has had requests in flight for `slowMs` without answering any: a hanging
 *   endpoint is known within a second, not after the HTTP timeout.
 * - While slow it gets at most `startConcurrency` slots, whatever it earned before.
 * - Jobs may wait for a slot only while it is not slow, and until it has answered
 *   well once, no more of them than it has slots.
 */
export class EndpointHealth {
  private limit: number;
  private inFlight = 0;
  private latencyMs = 0;
  /** The last answer, or when requests went in flight after an idle spell: busy with no answer since then means stuck. */
  private progressAt: number;
  /** The last answer within slowMs (or first sight): a slow endpoint's backlog waits longer the longer ago that was. */
  private goodAt: number;
  /** When the last job moved aside was told to come back. */
  private bookedUntil = 0;
  private answeredWell = false;

  constructor(
    private readonly rules: EndpointRules,
    now: number,
  ) {
    this.limit = Math.min(rules.startConcurrency, rules.maxConcurrency);
    this.progressAt = now;
    this.goodAt = now;
  }

  get busy(): number {
    return this.inFlight;
  }

  isSlow(now: number): boolean {
    const stuck = this.inFlight > 0 && now - this.progressAt > this.rules.slowMs;
    return stuck || this.latencyMs > this.rules.slowMs;
  }

  /** The slots it may use now: what it earned, or no more than an unknown endpoint while it is slow. */
  allowed(now: number): number {
    return this.isSlow(now) ? Math.min(this.limit, this.rules.startConcurrency) : this.limit;
  }

  /**
   * Whether one more job may wait for a slot (holding its message) rather than be
   * moved aside, with `waiting` jobs waiting already. An endpoint never heard from
   * may be hanging: the jobs that pile up in the second before that shows stay few.
   */
  mayWait(now: number, waiting: number): boolean {
    return !this.isSlow(now) && (this.answeredWell || waiting < this.allowed(now));
  }

  hasRoom(now: number): boolean {
    return this.inFlight < this.allowed(now);
  }

  start(now: number): void {
    if (this.inFlight === 0) this.progressAt = now;
    this.inFlight += 1;
  }

  finish(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
  }

  /** The hub itself was blocked for `ms`: answers may be sitting unread, so that time is not the endpoint's silence. */
  excuse(ms: number): void {
    if (this.inFlight > 0) this.progressAt += ms;
  }

  /** One request's outcome: `answered` is false for a timeout or network error. Call before finish(). */
  observe(durationMs: number, answered: boolean, now: number): void {
    this.progressAt = now;
    const sample = answered ? durationMs : Math.max(durationMs, this.rules.slowMs * 2);
    this.latencyMs = this.latencyMs === 0 ? sample : this.latencyMs * 0.8 + sample * 0.2;
    if (!answered) {
      this.limit = Math.max(1, Math.floor(this.limit / 2));
    } else if (durationMs > this.rules.slowMs) {
      this.limit = Math.max(Math.min(this.limit, this.rules.startConcurrency), Math.floor(this.limit / 2));
    } else {
      this.goodAt = now;
      this.answeredWell = true;
      // Grow only when the slots are in use: an idle endpoint has not shown it can take more.
      if (this.inFlight * 2 >= this.limit) this.limit = Math.min(this.rules.maxConcurrency, this.limit + 1);
    }
  }

  /**
   * How long a job that found no free slot is moved aside for, booking its place
   * in the endpoint's backlog: after the jobs moved aside before it, at the pace
   * the endpoint finishes requests (smoothed response time, or how long the
   * current ones have hung, per allowed slot), so that a slow endpoint's backlog
   * comes back about when there is room for it. But at most twice as long as the
   * endpoint has gone without answering well (within minDeferMs..maxDeferMs): a
   * hanging endpoint's backlog comes back about once per doubling or tripling of
   * the outage instead of every second, and soon after it recovers.
   */
  deferDelayMs(now: number): number {
    const { minDeferMs, maxDeferMs } = this.rules;
    if (!this.isSlow(now)) return minDeferMs;
    const pace = Math.max(this.latencyMs, this.inFlight > 0 ? now - this.progressAt : 0) / this.allowed(now);
    const ceiling = Math.min(maxDeferMs, Math.max(minDeferMs, 2 * (now - this.goodAt)));
    this.bookedUntil = Math.min(Math.max(now, this.bookedUntil) + pace, now + ceiling);
    return Math.max(minDeferMs, wholeTier(this.bookedUntil - now, ceiling));
  }
}

/**
 * A delay of a second or more as the nearest whole power of two seconds, at most
 * `limitMs`: the tiers of the broker's retry ladder, so a job moved aside makes one
 * hop through the broker instead of one per tier it would be made of. No jitter is
 * needed: a tier queue gives jobs back in the order and at the pace they came.
 */
export function wholeTier(delayMs: number, limitMs: number): number {
  if (delayMs < 1000) return Math.round(delayMs);
  const tier = (ms: number, round: (x: number) => number): number => 1000 * 2 ** round(Math.log2(ms / 1000));
  return Math.min(tier(delayMs, Math.round), limitMs < 1000 ? 1000 : tier(limitMs, Math.floor));
}
