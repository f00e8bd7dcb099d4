import { systemClock } from './clock';
import type { Clock } from './clock';

interface Entry<T> {
  value: T;
  fresh: number;
}

/**
 * A read cache for the hot paths (router and worker) with one load in flight
 * per key: many jobs for one subscription or connection cost one store read, not one each.
 * An expired entry is served while its refresh runs, so the hot path waits on
 * the store only for a key it has never seen. Other processes' changes show
 * within about `ttlMs`; this process's own changes invalidate at once.
 */
export class SingleFlightCache<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private readonly loading = new Map<string, Promise<T>>();

  constructor(
    private readonly ttlMs: number,
    private readonly clock: Clock = systemClock,
    /** Most entries kept: past it the cache starts over (entries are cheap to load again). */
    private readonly maxEntries = 50_000,
  ) {}

  async get(key: string, load: () => Promise<T>): Promise<T> {
    const entry = this.entries.get(key);
    if (entry && entry.fresh > this.clock.now()) return entry.value;
    const refresh = this.refresh(key, load);
    if (entry) {
      refresh.catch(() => undefined);
      return entry.value;
    }
    return refresh;
  }

  clear(): void {
    this.entries.clear();
  }

  private refresh(key: string, load: () => Promise<T>): Promise<T> {
    let pending = this.loading.get(key);
    if (!pending) {
      pending = load().then(
        (value) => {
          this.entries.set(key, { value, fresh: this.clock.now() + this.ttlMs });
          if (this.entries.size > this.maxEntries) this.entries.clear();
          this.loading.delete(key);
          return value;
        },
        (err: unknown) => {
          this.loading.delete(key);
          throw err;
        },
      );
      this.loading.set(key, pending);
    }
    return pending;
  }
}
