import type { SecretBox } from '../core/secret-box';
import type { Store, SubscriptionRecord } from '../store/port';

interface Entry<T> {
  value: T;
  expires: number;
}

/**
 * Short-lived read cache in front of the store for the hot paths (router and
 * worker). Other processes' changes show within `ttlMs`; this process's own
 * changes invalidate at once.
 */
export class SubscriptionCache {
  private readonly byId = new Map<string, Entry<LoadedSubscription | null>>();
  private readonly byType = new Map<string, Entry<SubscriptionRecord[]>>();

  constructor(
    private readonly store: Store,
    private readonly secretBox: SecretBox,
    private readonly ttlMs = 1000,
  ) {}

  async get(id: string): Promise<LoadedSubscription | null> {
    const hit = this.byId.get(id);
    if (hit && hit.expires > Date.now()) return hit.value;
    const record = await this.store.loadSubscription(id);
    const value = record ? { record, secrets: [this.secretBox.open(record.secretSealed)] } : null;
    this.byId.set(id, { value, expires: Date.now() + this.ttlMs });
    return value;
  }

  async findFor(type: string, scopeTenantId: string | null): Promise<SubscriptionRecord[]> {
    const key = `${type}\n${scopeTenantId ?? ''}`;
    const hit = this.byType.get(key);
    if (hit && hit.expires > Date.now()) return hit.value;
    const value = await this.store.findSubscriptionsFor(type, scopeTenantId);
    this.byType.set(key, { value, expires: Date.now() + this.ttlMs });
    return value;
  }

  invalidate(): void {
    this.byId.clear();
    this.byType.clear();
  }
}

export interface LoadedSubscription {
  record: SubscriptionRecord;
  /** Unsealed signing secrets, newest first. */
  secrets: string[];
}
