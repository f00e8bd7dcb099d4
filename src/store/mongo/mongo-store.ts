import type { Store } from '../store';
import { mongoApiKeys } from './api-keys';
import { mongoAttemptLog } from './attempts';
import { mongoAuditLog } from './audit-log';
import { mongoConnections } from './connections';
import { MongoDatabase } from './database';
import type { MongoStoreOptions } from './database';
import { mongoDeadLetters } from './dead-letters';
import { mongoOrderedLanes } from './ordered-lanes';
import { mongoEndpointHealthLog } from './endpoint-health-log';
import { mongoEventLog } from './events';
import { mongoExternalRefs } from './external-refs';
import { mongoLeases } from './leases';
import { mongoOAuthStates } from './oauth-states';
import { mongoConsoleSessions } from './console-sessions';
import { mongoRateSlots } from './rate-slots';
import { mongoSealedValues } from './sealed-values';
import { mongoSubscriptions } from './subscriptions';
import { mongoSyncCounts } from './sync-counts';
import { mongoDeliveryStats } from './delivery-stats';
import { mongoTenantSettings } from './tenant-settings';
import { mongoPlans } from './plans';
import { mongoLoadTests } from './load-tests';
import { mongoTunnels } from './tunnels';
import { mongoTrackedRecords } from './tracked-records';
import { mongoConnectionExports } from './connection-exports';

export type { MongoStoreOptions } from './database';

/** The Mongo adapter, and what tests reach for besides the ports. */
export type MongoStore = Store & {
  /** Drops every collection of the database (tests only). */
  dropDatabase(): Promise<void>;
  /** The connection and models behind the aggregates (tests of stored shapes). */
  readonly database: MongoDatabase;
};

/** MongoDB adapter (mongoose): one file per aggregate. Keeps to what MongoDB and FerretDB both do right; see docs/architecture.md. */
export function createMongoStore(options: MongoStoreOptions): MongoStore {
  const db = new MongoDatabase(options);
  return {
    database: db,
    connect: () => db.connect(),
    close: () => db.close(),
    isReady: () => db.isReady(),
    ping: () => db.ping(),
    dropDatabase: () => db.dropDatabase(),
    ...mongoApiKeys(db),
    ...mongoAuditLog(db),
    ...mongoSubscriptions(db),
    ...mongoConnections(db),
    ...mongoOAuthStates(db),
    ...mongoConsoleSessions(db),
    ...mongoLeases(db),
    ...mongoExternalRefs(db),
    ...mongoSyncCounts(db),
    ...mongoDeliveryStats(db),
    ...mongoTrackedRecords(db),
    ...mongoConnectionExports(db),
    ...mongoTenantSettings(db),
    ...mongoPlans(db),
    ...mongoLoadTests(db),
    ...mongoTunnels(db),
    ...mongoEventLog(db),
    ...mongoAttemptLog(db),
    ...mongoDeadLetters(db),
    ...mongoOrderedLanes(db),
    ...mongoRateSlots(db),
    ...mongoEndpointHealthLog(db),
    ...mongoSealedValues(db),
  };
}
