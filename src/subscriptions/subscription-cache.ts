import type { SecretBox } from '../core/secret-box';
import type { Store, SubscriptionRecord } from '../store/port';

interface Entry<T> {
  value: T;
  fresh: number;
}

export interface LoadedSubscription {
  record: SubscriptionRecord;
  /** Unsealed signing secrets, newest first. */
  secrets: string[];
}

/**
 * A read cache for the hot paths (router and worker) with one load in flight
 * per key: many jobs for one subscription cost one store read, not one each.
 * An expired entry is served while its refresh runs, so the hot path waits on
 * the store only for a key it has never seen. Other processes' changes show
 * within about `ttlMs`; this process's own changes invalidate at once.
 */
class SingleFlightCache<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private readonly loading = new Map<string, Promise<T>>();

  constructor(private readonly ttlMs: number) {}

  async get(key: string, load: () => Promise<T>): Promise<T> {
    const entry = this.entries.get(key);
    if (entry && entry.fresh > Date.now()) return entry.value;
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
          this.entries.set(key, { value, fresh: Date.now() + this.ttlMs });
          if (this.entries.size > 50_000) this.entries.clear();
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

export class SubscriptionCache {
  private readonly byId: SingleFlightCache<LoadedSubscription | null>;
  private readonly byType: SingleFlightCache<SubscriptionRecord[]>;

  constructor(
    private readonly store: Store,
    private readonly secretBox: SecretBox,
    ttlMs = 2000,
  ) {
    this.byId = new SingleFlightCache(ttlMs);
    this.byType = new SingleFlightCache(ttlMs);
  }

  get(id: string): Promise<LoadedSubscription | null> {
    return this.byId.get(id, async () => {
      const record = await this.store.loadSubscription(id);
      return record ? { record, secrets: [this.secretBox.open(record.secretSealed)] } : null;
    });
  }

  findFor(type: string, scopeTenantId: string | null): Promise<SubscriptionRecord[]> {
    return this.byType.get(`${type}\n${scopeTenantId ?? ''}`, () => this.store.findSubscriptionsFor(type, scopeTenantId));
  }

  invalidate(): void {
    this.byId.clear();
    this.byType.clear();
  }
}
