import type { ApiKeys, AuditLog, ConsoleSessions } from '../access/ports';
import type { Health } from '../core/health';
import type { InvalidEventLog } from '../events/intake';
import type { ConnectionExports, ConnectionRepository, ExportEvents, ExternalRefStore, Leases, OAuthStates, SyncCounts, TenantSettingsStore, TrackedRecords } from '../integrations/ports';
import type { Retention } from '../jobs/ports';
import type { AttemptLog, DeadLetters, DeliveryStats, EndpointHealthLog, EventLog, OrderedLanes } from '../pipeline/ports';
import type { SealedValues } from '../secrets/sealed-values';
import type { SubscriptionRepository } from '../subscriptions/repository';
import type { LoadTestStore } from '../subscriptions/load-tests';
import type { RateSlots } from '../webhooks/rate-slots';
import type { TunnelStore } from '../tunnels/ports';
import type { TenantPlans, TenantResourceCounts, UsageCounters } from '../plans/ports';

/** Opening and closing the database behind the ports. */
export interface StoreLifecycle {
  connect(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Every storage port the hub's code declares, as one adapter implements them:
 * what the composition root builds and hands out, each consumer taking only its
 * own port. Implementations promise: single-document atomicity, unique ids (a
 * second insert of an id is reported, not applied), and newest-first lists by
 * id. They do NOT promise transactions across documents, atomic
 * read-modify-write under concurrency, or change notifications: callers are
 * written so that none of these are needed.
 */
export type Store = StoreLifecycle &
  Health &
  ApiKeys &
  AuditLog &
  ConsoleSessions &
  SubscriptionRepository &
  LoadTestStore &
  TunnelStore &
  ConnectionRepository &
  OAuthStates &
  Leases &
  ExternalRefStore &
  SyncCounts &
  TrackedRecords &
  ConnectionExports &
  ExportEvents &
  TenantSettingsStore &
  EventLog &
  InvalidEventLog &
  AttemptLog &
  DeliveryStats &
  DeadLetters &
  OrderedLanes &
  EndpointHealthLog &
  RateSlots &
  Retention &
  SealedValues &
  TenantPlans &
  UsageCounters &
  TenantResourceCounts;
