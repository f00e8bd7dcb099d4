import type { SecretBox } from '../core/secret-box';
import { SingleFlightCache } from '../core/single-flight-cache';
import type { Store, SubscriptionRecord } from '../store/port';

export interface LoadedSubscription {
  record: SubscriptionRecord;
  /** Unsealed signing secrets, newest first. */
  secrets: string[];
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
      if (!record) return null;
      return { record, secrets: record.secretSealed === '' ? [] : [this.secretBox.open(record.secretSealed)] };
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
