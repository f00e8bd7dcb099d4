import { Memo } from '../core/memo';

export interface EndpointLimiterOptions {
  /**
   * Concurrency of an endpoint the hub knows nothing about yet, and the most a slow
   * endpoint gets: what one misbehaving endpoint can hold of the shared prefetch.
   */
  startConcurrency?: number;
  /** Above this smoothed response time an endpoint is slow; so is one with requests in flight this long and no answer since. */
  slowMs?: number;
  /** How often jobs waiting for a slot check whether their endpoint turned slow. */
  checkIntervalMs?: number;
  /** Shortest and longest a job is moved aside for when its slow endpoint has no free slot. */
  minDeferMs?: number;
  maxDeferMs?: number;
  now?: () => number;
}

/** The rules EndpointHealth applies, with every default filled in. */
export interface EndpointRules {
  maxConcurrency: number;
  startConcurrency: number;
  slowMs: number;
  minDeferMs: number;
  maxDeferMs: number;
}

/** Past this many endpoints, ones with nothing in flight are forgotten. */
const MAX_ENDPOINTS = 10_000;
/** While requests are in flight, how often the limiter checks that the hub itself is running. */
const HEARTBEAT_MS = 100;

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

interface EndpointEntry {
  health: EndpointHealth;
  /** Jobs waiting for a slot; each resolves true (slot handed over) or false (moved aside). */
  waiters: Array<(granted: boolean) => void>;
  /** Set while there are waiters: checks every checkIntervalMs whether the endpoint turned slow. */
  check: NodeJS.Timeout | null;
}

/**
 * Bounds concurrent requests per endpoint origin in this process, adaptively
 * (see EndpointHealth). A job for an endpoint with no free slot waits its turn
 * only while the endpoint answers well (it is then served within about one
 * response time), and for an endpoint not heard from yet, only as many jobs as
 * it has slots. Once the endpoint is slow, at most `slowMs` after it stops
 * answering, waiting jobs and new ones are refused at once and the caller moves
 * them aside (to a retry tier, for deferDelayMs). So a hanging endpoint holds
 * at most `startConcurrency` messages of the worker's shared prefetch with
 * requests in flight, plus as many waiting in its first second.
 */
export class EndpointLimiter {
  private readonly endpoints = new Map<string, EndpointEntry>();
  private readonly rules: EndpointRules;
  private readonly checkIntervalMs: number;
  private readonly now: () => number;
  /** Requests in flight to all endpoints; the heartbeat runs while there are any. */
  private busy = 0;
  private heartbeat: NodeJS.Timeout | null = null;
  private lastBeat = 0;

  constructor(maxConcurrency: number, options: EndpointLimiterOptions = {}) {
    this.rules = {
      maxConcurrency,
      startConcurrency: Math.min(maxConcurrency, options.startConcurrency ?? 4),
      slowMs: options.slowMs ?? 1000,
      minDeferMs: options.minDeferMs ?? 1000,
      maxDeferMs: options.maxDeferMs ?? 256_000,
    };
    this.checkIntervalMs = options.checkIntervalMs ?? 250;
    this.now = options.now ?? Date.now;
  }

  /** Feeds one response time (or failure: `answered` false) into the endpoint's health. Call before release. */
  observe(key: string, durationMs: number, answered: boolean): void {
    this.entry(key).health.observe(durationMs, answered, this.now());
  }

  isSlow(key: string): boolean {
    return this.endpoints.get(key)?.health.isSlow(this.now()) ?? false;
  }

  /** How long to move aside a job that acquire() refused. */
  deferDelayMs(key: string): number {
    return this.entry(key).health.deferDelayMs(this.now());
  }

  /** Resolves true with a slot held, or false when the job is to be moved aside (EndpointHealth.mayWait). */
  acquire(key: string): Promise<boolean> {
    const entry = this.entry(key);
    const now = this.now();
    if (entry.health.hasRoom(now)) {
      this.grant(entry, now);
      return Promise.resolve(true);
    }
    if (!entry.health.mayWait(now, entry.waiters.length)) return Promise.resolve(false);
    return new Promise((resolve) => {
      entry.waiters.push(resolve);
      entry.check ??= setInterval(() => this.check(entry), this.checkIntervalMs);
    });
  }

  release(key: string): void {
    const entry = this.endpoints.get(key);
    if (!entry) return;
    entry.health.finish();
    this.busy = Math.max(0, this.busy - 1);
    const now = this.now();
    // Hand freed slots to waiters in order; a limit cut meanwhile frees none.
    while (entry.waiters.length > 0 && entry.health.hasRoom(now)) {
      this.grant(entry, now);
      (entry.waiters.shift() as (granted: boolean) => void)(true);
    }
    if (entry.waiters.length === 0) this.stopChecking(entry);
    if (this.busy === 0 && this.heartbeat) {
      clearInterval(this.heartbeat);
      this.heartbeat = null;
    }
  }

  private grant(entry: EndpointEntry, now: number): void {
    entry.health.start(now);
    this.busy += 1;
    if (!this.heartbeat) {
      this.lastBeat = now;
      this.heartbeat = setInterval(() => this.beat(), HEARTBEAT_MS);
      this.heartbeat.unref();
    }
  }

  /**
   * A heartbeat that comes late means the hub was blocked (a long GC, a starved
   * CPU): that time is not counted against the endpoints it was waiting for, so
   * a stall of the hub does not make healthy endpoints look hung.
   */
  private beat(): void {
    const now = this.now();
    const blocked = now - this.lastBeat - HEARTBEAT_MS;
    this.lastBeat = now;
    if (blocked < HEARTBEAT_MS) return;
    for (const entry of this.endpoints.values()) entry.health.excuse(blocked);
  }

  /** Waiting jobs keep their place while the endpoint answers well; once it is slow they all give it up. */
  private check(entry: EndpointEntry): void {
    if (entry.waiters.length > 0 && !entry.health.isSlow(this.now())) return;
    this.stopChecking(entry);
    for (const resolve of entry.waiters.splice(0)) resolve(false);
  }

  private stopChecking(entry: EndpointEntry): void {
    if (entry.check) clearInterval(entry.check);
    entry.check = null;
  }

  private entry(key: string): EndpointEntry {
    let entry = this.endpoints.get(key);
    if (!entry) {
      if (this.endpoints.size >= MAX_ENDPOINTS) this.forgetIdle();
      entry = { health: new EndpointHealth(this.rules, this.now()), waiters: [], check: null };
      this.endpoints.set(key, entry);
    }
    return entry;
  }

  private forgetIdle(): void {
    for (const [key, entry] of this.endpoints) if (entry.health.busy === 0 && entry.waiters.length === 0) this.endpoints.delete(key);
  }
}

const origins = new Memo<string, string>(10_000);

/** The origin deliveries to `url` share a limit with (remembered per URL: asked once per delivery). */
export function endpointKey(url: string): string {
  return origins.get(url, originOf);
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}
