import { systemClock } from '../core/clock';
import type { Clock } from '../core/clock';
import type { SecretBox } from '../core/secret-box';
import { SingleFlightCache } from '../core/single-flight-cache';
import { activeSecrets, signingSecrets } from './secrets';
import type { SubscriptionRepository } from './repository';
import type { IntegrationSubscription, RelaySubscription, Subscription, WebhookSubscription } from './model';
import { openTls } from './network-rules';
import { withSecretHeaders } from './secret-headers';
import type { ClientTls } from './network-rules';

/** A webhook subscription as deliveries use it: with its secrets and client certificate unsealed. */
export interface LoadedWebhook {
  /** As stored, but `headers` also holds the secret headers' values in clear: requests are built from it, answers never. */
  record: WebhookSubscription;
  /**
   * Unsealed signing secrets, newest first: the current one, and the previous one
   * while its rotation overlap lasts (checked on each read, not when cached).
   */
  readonly secrets: string[];
  /** The client certificate for mutual TLS, unsealed; absent without one. */
  readonly tls?: ClientTls;
}

/** An integration as deliveries use it: it has no secrets of its own (its connection has). */
export interface LoadedIntegration {
  record: IntegrationSubscription;
}

/** A relay as deliveries use it: with its signing secret unsealed. */
export interface LoadedRelay {
  record: RelaySubscription;
  readonly secrets: string[];
}

/** A subscription as the delivery worker gets it, of any kind. */
export type LoadedSubscription = LoadedWebhook | LoadedIntegration | LoadedRelay;

/** The loaded subscription of one kind. */
export type LoadedOf<K extends Subscription['kind']> = Extract<LoadedSubscription, { record: { kind: K } }>;

export class SubscriptionCache {
  private readonly byId: SingleFlightCache<LoadedSubscription | null>;
  private readonly byType: SingleFlightCache<Subscription[]>;

  constructor(
    private readonly store: Pick<SubscriptionRepository, 'loadSubscription' | 'findSubscriptionsFor'>,
    private readonly secretBox: SecretBox,
    ttlMs = 2000,
    /** Decides when entries go stale and when a previous secret's overlap ends. */
    private readonly clock: Clock = systemClock,
    /** Most subscriptions (and event types) kept loaded (HOOKHUB_CACHE_ENTRIES). */
    maxEntries = 10_000,
  ) {
    this.byId = new SingleFlightCache(ttlMs, clock, maxEntries);
    this.byType = new SingleFlightCache(ttlMs, clock, maxEntries);
  }

  get(id: string): Promise<LoadedSubscription | null> {
    return this.byId.get(id, async () => {
      const stored = await this.store.loadSubscription(id);
      return stored ? loadSubscription(stored, this.secretBox, this.clock) : null;
    });
  }

  findFor(type: string, scopeTenantId: string | null): Promise<Subscription[]> {
    return this.byType.get(`${type}\n${scopeTenantId ?? ''}`, () => this.store.findSubscriptionsFor(type, scopeTenantId));
  }

  invalidate(): void {
    this.byId.clear();
    this.byType.clear();
  }
}

/** A stored subscription as deliveries use it: secrets, secret headers and client certificate unsealed. */
export function loadSubscription(stored: Subscription, secretBox: SecretBox, clock: Clock = systemClock): LoadedSubscription {
  if (stored.kind === 'integration') return { record: stored };
  if (stored.kind === 'relay') return { record: stored, secrets: [secretBox.open(stored.secretSealed)] };
  const record = withSecretHeaders(stored, secretBox);
  const unsealed = signingSecrets(record, secretBox);
  const tls = openTls(record.tlsSealed, secretBox);
  return {
    record,
    ...(tls ? { tls } : {}),
    get secrets(): string[] {
      return activeSecrets(unsealed, clock.now());
    },
  };
}
