import { systemClock } from '../core/clock';
import type { Clock } from '../core/clock';
import { EndpointHealth } from './endpoint-health';
import type { EndpointRules } from './endpoint-health';

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
  /** Past this many endpoints, ones with nothing in flight are forgotten (HOOKHUB_CACHE_ENTRIES). */
  maxEndpoints?: number;
  clock?: Clock;
}

/** What withSlot returns instead of running its work: no slot for this endpoint now; move the job aside for deferDelayMs. */
export const SATURATED: unique symbol = Symbol('saturated');
export type Saturated = typeof SATURATED;

/** While requests are in flight, how often the limiter checks that the hub itself is running. */
const HEARTBEAT_MS = 100;

interface EndpointEntry {
  health: EndpointHealth;
  /** Jobs waiting for a slot; each resolves true (slot handed over) or false (moved aside). */
  waiters: Array<(granted: boolean) => void>;
  /** Set while there are waiters: checks every checkIntervalMs whether the endpoint turned slow. */
  check: NodeJS.Timeout | null;
}

/**
 * Bounds concurrent requests per endpoint in this process, adaptively (see
 * EndpointHealth). A job for an endpoint with no free slot waits its turn
 * only while the endpoint answers well (it is then served within about one
 * response time), and for an endpoint not heard from yet, only as many jobs as
 * it has slots. Once the endpoint is slow, at most `slowMs` after it stops
 * answering, waiting jobs and new ones are refused at once and the caller moves
 * them aside (to a retry tier, for deferDelayMs). So a hanging endpoint holds
 * at most `startConcurrency` messages of the worker's shared prefetch with
 * requests in flight, plus as many waiting in its first second.
 *
 * An "endpoint" is whatever key a delivery target names (an origin, a
 * connection, a connected client): the limiter knows nothing about URLs.
 */
export class EndpointLimiter {
  private readonly endpoints = new Map<string, EndpointEntry>();
  private readonly rules: EndpointRules;
  private readonly checkIntervalMs: number;
  private readonly maxEndpoints: number;
  private readonly clock: Clock;
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
    this.maxEndpoints = options.maxEndpoints ?? 10_000;
    this.clock = options.clock ?? systemClock;
  }

  /**
   * Runs `work` holding one of the endpoint's slots, released when it settles
   * (resolved or thrown): the only way to take a slot, so none can leak. Waits
   * for a slot while the endpoint may be waited for (EndpointHealth.mayWait);
   * otherwise resolves SATURATED without running `work`. `done` sees the result
   * while the slot is still held (to feed the endpoint's health).
   *
   * Not async itself: with a free slot (the common case) the work starts at once,
   * without a promise of its own wrapped around it.
   */
  withSlot<T>(key: string, work: () => Promise<T>, done?: (result: T) => void): Promise<T | Saturated> {
    const entry = this.entry(key);
    const now = this.clock.now();
    if (entry.health.hasRoom(now)) {
      this.grant(entry, now);
      return this.holding(key, work, done);
    }
    if (!entry.health.mayWait(now, entry.waiters.length)) return Promise.resolve(SATURATED);
    return new Promise<boolean>((resolve) => {
      entry.waiters.push(resolve);
      entry.check ??= setInterval(() => this.check(entry), this.checkIntervalMs);
    }).then<T | Saturated>((granted) => (granted ? this.holding(key, work, done) : SATURATED));
  }

  /** Feeds one response time (or failure: `answered` false) into the endpoint's health. Call within withSlot. */
  observe(key: string, durationMs: number, answered: boolean): void {
    this.entry(key).health.observe(durationMs, answered, this.clock.now());
  }

  isSlow(key: string): boolean {
    return this.endpoints.get(key)?.health.isSlow(this.clock.now()) ?? false;
  }

  /** How long to move aside a job that withSlot refused. */
  deferDelayMs(key: string): number {
    return this.entry(key).health.deferDelayMs(this.clock.now());
  }

  /** Runs work on a granted slot and gives the slot back however it ends. */
  private async holding<T>(key: string, work: () => Promise<T>, done: ((result: T) => void) | undefined): Promise<T> {
    try {
      const result = await work();
      done?.(result);
      return result;
    } finally {
      this.release(key);
    }
  }

  private release(key: string): void {
    const entry = this.endpoints.get(key);
    if (!entry) return;
    entry.health.finish();
    this.busy = Math.max(0, this.busy - 1);
    const now = this.clock.now();
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
    const now = this.clock.now();
    const blocked = now - this.lastBeat - HEARTBEAT_MS;
    this.lastBeat = now;
    if (blocked < HEARTBEAT_MS) return;
    for (const entry of this.endpoints.values()) entry.health.excuse(blocked);
  }

  /** Waiting jobs keep their place while the endpoint answers well; once it is slow they all give it up. */
  private check(entry: EndpointEntry): void {
    if (entry.waiters.length > 0 && !entry.health.isSlow(this.clock.now())) return;
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
      if (this.endpoints.size >= this.maxEndpoints) this.forgetIdle();
      entry = { health: new EndpointHealth(this.rules, this.clock.now()), waiters: [], check: null };
      this.endpoints.set(key, entry);
    }
    return entry;
  }

  private forgetIdle(): void {
    for (const [key, entry] of this.endpoints) if (entry.health.busy === 0 && entry.waiters.length === 0) this.endpoints.delete(key);
  }
}
