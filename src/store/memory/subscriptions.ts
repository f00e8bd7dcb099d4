import type { IntegrationSubscription, RelaySubscription, Subscription, SubscriptionKind, SubscriptionOf } from '../../subscriptions/model';
import type { PageRequest } from '../../core/page';
import type { SubscriptionRepository } from '../../subscriptions/repository';
import { clone, cloneOrNull, duplicateKey, ownedBy, paginate } from './tables';
import type { MemoryTables } from './tables';

/** Subscriptions in memory. */
export function memorySubscriptions(tables: MemoryTables): SubscriptionRepository {
  const subscriptions = tables.subscriptions;
  return {
    async insertSubscription(record) {
      if (subscriptions.has(record.id)) throw duplicateKey();
      subscriptions.set(record.id, clone(record));
    },
    async getSubscription(tenantId, id) {
      return cloneOrNull(ownedBy(subscriptions, tenantId, id));
    },
    async loadSubscription(id) {
      return cloneOrNull(subscriptions.get(id));
    },
    async listSubscriptions<K extends SubscriptionKind>(tenantId: string, kind: K, page: PageRequest) {
      return paginate([...subscriptions.values()].filter((s): s is SubscriptionOf<K> => s.tenantId === tenantId && s.kind === kind), page);
    },
    async updateSubscription(tenantId, id, patch) {
      const found = ownedBy(subscriptions, tenantId, id);
      if (!found) return null;
      const updated = { ...found, ...clone(patch), updatedAt: new Date() } as Subscription;
      subscriptions.set(id, updated);
      return clone(updated);
    },
    async deleteSubscription(tenantId, id) {
      return ownedBy(subscriptions, tenantId, id) !== undefined && subscriptions.delete(id);
    },
    async findSubscriptionsFor(type, scopeTenantId) {
      return [...subscriptions.values()]
        .filter((s) => s.active && (s.events.includes(type) || s.events.includes('*')))
        .filter((s) => scopeTenantId === null || s.tenantId === scopeTenantId)
        .map(clone);
    },
    async findRelaysSeenBefore(before) {
      return [...subscriptions.values()].filter((s): s is RelaySubscription => s.kind === 'relay' && s.relay.lastSeenAt < before).map(clone);
    },
    async findIntegrationsOf(tenantId, connectionId) {
      return [...subscriptions.values()]
        .filter((s): s is IntegrationSubscription => s.tenantId === tenantId && s.kind === 'integration' && s.integration.connectionId === connectionId)
        .map(clone);
    },
  };
}
