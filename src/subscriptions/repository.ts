import type { Page, PageRequest } from '../core/page';
import type { Subscription, SubscriptionKind, SubscriptionOf, SubscriptionPatch } from './model';

/** Where subscriptions (webhooks and integrations) are kept. */
export interface SubscriptionRepository {
  /** Fails with code 11000 when the id is taken. */
  insertSubscription(record: Subscription): Promise<void>;
  getSubscription(tenantId: string, id: string): Promise<Subscription | null>;
  /** By id alone, for the delivery worker (the job already names the tenant). */
  loadSubscription(id: string): Promise<Subscription | null>;
  listSubscriptions<K extends SubscriptionKind>(tenantId: string, kind: K, page: PageRequest): Promise<Page<SubscriptionOf<K>>>;
  /** Applies a patch of the stored subscription's kind (the services read it first, so they know which). */
  updateSubscription(tenantId: string, id: string, patch: SubscriptionPatch): Promise<Subscription | null>;
  deleteSubscription(tenantId: string, id: string): Promise<boolean>;
  /** Active subscriptions listening to `type` (or `*`), of any tenant when scope is null. */
  findSubscriptionsFor(type: string, scopeTenantId: string | null): Promise<Subscription[]>;
  /** Relays of every tenant whose client was last seen before `before` (the sweep decides which are idle past their keep). */
  findRelaysSeenBefore(before: Date): Promise<Array<SubscriptionOf<'relay'>>>;
  /** Integrations of one connection, of any state. */
  findIntegrationsOf(tenantId: string, connectionId: string): Promise<Array<SubscriptionOf<'integration'>>>;
}
