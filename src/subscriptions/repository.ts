import type { Page, PageRequest } from '../core/page';
import type { SubscriptionPatch, SubscriptionRecord } from './model';

/** Where subscriptions (webhooks and integrations) are kept. */
export interface SubscriptionRepository {
  /** Fails with code 11000 when the id is taken. */
  insertSubscription(record: SubscriptionRecord): Promise<void>;
  getSubscription(tenantId: string, id: string): Promise<SubscriptionRecord | null>;
  /** By id alone, for the delivery worker (the job already names the tenant). */
  loadSubscription(id: string): Promise<SubscriptionRecord | null>;
  listSubscriptions(tenantId: string, kind: SubscriptionRecord['kind'], page: PageRequest): Promise<Page<SubscriptionRecord>>;
  updateSubscription(tenantId: string, id: string, patch: SubscriptionPatch): Promise<SubscriptionRecord | null>;
  deleteSubscription(tenantId: string, id: string): Promise<boolean>;
  /** Active subscriptions listening to `type` (or `*`), of any tenant when scope is null. */
  findSubscriptionsFor(type: string, scopeTenantId: string | null): Promise<SubscriptionRecord[]>;
  /** Integrations of one connection, of any state. */
  findIntegrationsOf(tenantId: string, connectionId: string): Promise<SubscriptionRecord[]>;
}
