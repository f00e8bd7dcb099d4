import { Memo } from '../core/memo';

/** Above this smoothed response time an endpoint counts as slow. */
const SLOW_MS = 1000;

/**
 * Bounds concurrent requests per endpoint origin in this process. For a
 * healthy endpoint a job simply waits its turn. For a slow one (smoothed
 * response time above SLOW_MS, timeouts and network errors counting as slow)
 * it waits at most `maxWaitMs`, after which the caller moves it aside (back to
 * the broker, briefly delayed) so that one slow endpoint cannot hold the
 * worker's shared prefetch slots.
 */
export class EndpointLimiter {
  private readonly inFlight = new Map<string, number>();
  /** Jobs waiting for a slot, by endpoint; each resolves true (slot handed over) or false (moved aside). */
  private readonly waiters = new Map<string, Array<(granted: boolean) => void>>();
  /** One timer per endpoint with waiters, checking every maxWaitMs whether it turned slow. */
  private readonly checks = new Map<string, NodeJS.Timeout>();
  private readonly latency = new Map<string, number>();

  constructor(
    private readonly limit: number,
    private readonly maxWaitMs = 250,
  ) {}

  /** Feeds one response time (or failure) into the endpoint's smoothed latency. */
  observe(key: string, durationMs: number, answered: boolean): void {
    const sample = answered ? durationMs : Math.max(durationMs, SLOW_MS * 2);
    const previous = this.latency.get(key);
    this.latency.set(key, previous === undefined ? sample : previous * 0.8 + sample * 0.2);
    if (this.latency.size > 10_000) this.latency.clear();
  }

  isSlow(key: string): boolean {
    return (this.latency.get(key) ?? 0) > SLOW_MS;
  }

  /** Resolves true with a slot held, or false when a slow endpoint freed none in time. */
  acquire(key: string): Promise<boolean> {
    const current = this.inFlight.get(key) ?? 0;
    if (current < this.limit) {
      this.inFlight.set(key, current + 1);
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      let queue = this.waiters.get(key);
      if (!queue) {
        queue = [];
        this.waiters.set(key, queue);
      }
      queue.push(resolve);
      if (!this.checks.has(key)) this.checks.set(key, setInterval(() => this.check(key), this.maxWaitMs));
    });
  }

  release(key: string): void {
    const queue = this.waiters.get(key);
    const next = queue?.shift();
    if (next) {
      // Hand the slot straight to the next waiter; the in-flight count stays.
      if (queue?.length === 0) this.stopWaiting(key);
      next(true);
      return;
    }
    const current = this.inFlight.get(key) ?? 0;
    if (current <= 1) this.inFlight.delete(key);
    else this.inFlight.set(key, current - 1);
  }

  /** Waiting jobs keep their place while the endpoint is healthy; once it is slow they all give it up. */
  private check(key: string): void {
    const queue = this.waiters.get(key);
    if (!queue || queue.length === 0) {
      this.stopWaiting(key);
      return;
    }
    if (!this.isSlow(key)) return;
    this.stopWaiting(key);
    for (const resolve of queue) resolve(false);
  }

  private stopWaiting(key: string): void {
    this.waiters.delete(key);
    clearInterval(this.checks.get(key));
    this.checks.delete(key);
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
