import { systemClock } from '../core/clock';
import type { Clock } from '../core/clock';
import type { SecretBox } from '../core/secret-box';
import { SingleFlightCache } from '../core/single-flight-cache';
import { activeSecrets, signingSecrets } from './secrets';
import type { SubscriptionRepository } from './repository';
import type { SubscriptionRecord } from './model';
import { openTls } from './network-rules';
import { withSecretHeaders } from './secret-headers';
import type { ClientTls } from './network-rules';

export interface LoadedSubscription {
  /** As stored, but `headers` also holds the secret headers' values in clear: requests are built from it, answers never. */
  record: SubscriptionRecord;
  /**
   * Unsealed signing secrets, newest first: the current one, and the previous one
   * while its rotation overlap lasts (checked on each read, not when cached).
   */
  readonly secrets: string[];
  /** The client certificate for mutual TLS, unsealed; absent without one. */
  readonly tls?: ClientTls;
}

export class SubscriptionCache {
  private readonly byId: SingleFlightCache<LoadedSubscription | null>;
  private readonly byType: SingleFlightCache<SubscriptionRecord[]>;

  constructor(
    private readonly store: Pick<SubscriptionRepository, 'loadSubscription' | 'findSubscriptionsFor'>,
    private readonly secretBox: SecretBox,
    ttlMs = 2000,
    /** Decides when entries go stale and when a previous secret's overlap ends. */
    private readonly clock: Clock = systemClock,
  ) {
    this.byId = new SingleFlightCache(ttlMs, clock);
    this.byType = new SingleFlightCache(ttlMs, clock);
  }

  get(id: string): Promise<LoadedSubscription | null> {
    return this.byId.get(id, async () => {
      const stored = await this.store.loadSubscription(id);
      if (!stored) return null;
      const record = withSecretHeaders(stored, this.secretBox);
      const unsealed = signingSecrets(record, this.secretBox);
      const tls = openTls(record.tlsSealed, this.secretBox);
      const clock = this.clock;
      return {
        record,
        ...(tls ? { tls } : {}),
        get secrets(): string[] {
          return activeSecrets(unsealed, clock.now());
        },
      };
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
