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
  private readonly waiters = new Map<string, Array<() => void>>();
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
      const queue = this.waiters.get(key) ?? [];
      this.waiters.set(key, queue);
      let timer: NodeJS.Timeout;
      const grant = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      // Checked every maxWaitMs: the job gives up its place only once the endpoint is slow.
      const check = (): void => {
        if (!this.isSlow(key)) {
          timer = setTimeout(check, this.maxWaitMs);
          return;
        }
        const index = queue.indexOf(grant);
        if (index >= 0) queue.splice(index, 1);
        if (queue.length === 0) this.waiters.delete(key);
        resolve(false);
      };
      timer = setTimeout(check, this.maxWaitMs);
      queue.push(grant);
    });
  }

  release(key: string): void {
    const next = this.waiters.get(key)?.shift();
    if (next) {
      // Hand the slot straight to the next waiter; the in-flight count stays.
      if (this.waiters.get(key)?.length === 0) this.waiters.delete(key);
      next();
      return;
    }
    const current = this.inFlight.get(key) ?? 0;
    if (current <= 1) this.inFlight.delete(key);
    else this.inFlight.set(key, current - 1);
  }
}

export function endpointKey(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}
