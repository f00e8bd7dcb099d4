import type { Store } from '../store';
import { memoryApiKeys } from './api-keys';
import { memoryAttemptLog } from './attempts';
import { memoryAuditLog } from './audit-log';
import { memoryConnections } from './connections';
import { memoryDeadLetters } from './dead-letters';
import { memoryEndpointHealthLog } from './endpoint-health-log';
import { memoryEventLog } from './events';
import { memoryExternalRefs } from './external-refs';
import { memoryLeases } from './leases';
import { memoryOAuthStates } from './oauth-states';
import { memoryConsoleSessions } from './console-sessions';
import { memoryRateSlots } from './rate-slots';
import { memorySealedValues } from './sealed-values';
import { memorySubscriptions } from './subscriptions';
import { memorySyncCounts } from './sync-counts';
import { memoryDeliveryStats } from './delivery-stats';
import { MemoryTables } from './tables';
import { memoryTenantSettings } from './tenant-settings';
import { memoryLoadTests } from './load-tests';
import { memoryTrackedRecords } from './tracked-records';
import { memoryConnectionExports } from './connection-exports';
import { memoryTunnels } from './tunnels';
import { memoryPlans } from './plans';
import { memoryOrderedLanes } from './ordered-lanes';

/** The embedded store: every port in memory, for `npm start` without services and for fast tests (`tables`: to look at what is stored). */
export function createMemoryStore(tables: MemoryTables = new MemoryTables()): Store {
  let ready = false;
  return {
    async connect() {
      ready = true;
    },
    async close() {
      ready = false;
    },
    isReady: () => ready,
    async ping() {
      // As a database that is not open does not answer.
      if (!ready) throw new Error('The memory store is not open');
    },
    ...memoryApiKeys(tables),
    ...memoryAuditLog(tables),
    ...memorySubscriptions(tables),
    ...memoryConnections(tables),
    ...memoryOAuthStates(tables),
    ...memoryConsoleSessions(tables),
    ...memoryLeases(tables),
    ...memoryExternalRefs(tables),
    ...memorySyncCounts(tables),
    ...memoryDeliveryStats(tables),
    ...memoryTrackedRecords(tables),
    ...memoryConnectionExports(tables),
    ...memoryTenantSettings(tables),
    ...memoryLoadTests(tables),
    ...memoryTunnels(tables),
    ...memoryEventLog(tables),
    ...memoryAttemptLog(tables),
    ...memoryDeadLetters(tables),
    ...memoryOrderedLanes(tables),
    ...memoryRateSlots(tables),
    ...memoryEndpointHealthLog(tables),
    ...memorySealedValues(tables),
    ...memoryPlans(tables),
  };
}
