import type { ApiKeyRecord, AuditEntry, ConsoleSessionRecord } from '../../access/model';
import type { Page, PageRequest } from '../../core/page';
import type { ConnectionRecord, OAuthStateRecord, SyncCountRow, TenantSettingsRecord } from '../../integrations/model';
import type { TrackedRecord } from '../../integrations/tracked-record';
import type { ExportRecord } from '../../integrations/connection-export';
import type { HealthRecord, StoredHealthSlice } from '../../pipeline/health-model';
import type { AttemptRecord, BacklogEntry, DeadLetterRecord, InvalidEventRecord, OrderedLane, StoredEvent } from '../../pipeline/model';
import type { DeliveryStatsRow } from '../../pipeline/delivery-stats';
import type { Subscription } from '../../subscriptions/model';
import type { LoadTestRecord } from '../../subscriptions/load-tests';
import type { TunnelRecord } from '../../tunnels/model';
import type { TenantPlanRecord, UsageDelta } from '../../plans/model';

/** Everything the memory adapter holds, shared by its aggregates (sealed values span three of them). */
export class MemoryTables {
  readonly apiKeys = new Map<string, ApiKeyRecord>();
  readonly auditEntries = new Map<string, AuditEntry>();
  readonly consoleSessions = new Map<string, ConsoleSessionRecord>();
  readonly subscriptions = new Map<string, Subscription>();
  readonly connections = new Map<string, ConnectionRecord>();
  readonly oauthStates = new Map<string, OAuthStateRecord>();
  readonly leases = new Map<string, { owner: string; expiresAt: number }>();
  readonly externalRefs = new Map<string, string>();
  readonly syncCounts = new Map<string, SyncCountRow>();
  readonly trackedRecords = new Map<string, TrackedRecord>();
  readonly exports = new Map<string, ExportRecord>();
  readonly tenantSettings = new Map<string, TenantSettingsRecord>();
  readonly loadTests = new Map<string, LoadTestRecord>();
  readonly tunnels = new Map<string, TunnelRecord>();
  readonly tenantPlans = new Map<string, TenantPlanRecord>();
  /** Usage rows by process, tenant, period and metric. */
  readonly usage = new Map<string, UsageDelta>();
  /** Claimed usage notices: JSON of [tenant, period, notice]. */
  readonly usageNotices = new Set<string>();
  readonly events = new Map<string, StoredEvent>();
  readonly invalidEvents: InvalidEventRecord[] = [];
  readonly attempts = new Map<string, AttemptRecord>();
  readonly deadLetters = new Map<string, DeadLetterRecord>();
  /** Per-key ordering: lanes by id; backlog entries by lane id, then webhook-id. */
  readonly orderedLanes = new Map<string, OrderedLane>();
  readonly backlogs = new Map<string, Map<string, BacklogEntry>>();
  /** Delivery stats rows by writer and row key, with the id of the last write that added to each. */
  readonly deliveryStats = new Map<string, { writeId: number; row: DeliveryStatsRow }>();
  /** Endpoint health slices by process, subscription and slice start; verdicts by subscription. */
  readonly healthSlices = new Map<string, StoredHealthSlice>();
  readonly healthRecords = new Map<string, HealthRecord>();
  /** Claimed slot ids, with when they were claimed (ms). */
  readonly rateSlots = new Map<string, number>();
}

/** One page, newest id first, after the cursor: what the database adapter gives. */
export function paginate<T extends { id: string }>(items: Iterable<T>, page: PageRequest): Page<T> {
  const sorted = [...items].filter((i) => page.cursor === undefined || i.id < page.cursor).sort((a, b) => (a.id < b.id ? 1 : -1));
  const data = sorted.slice(0, page.limit).map(clone);
  const last = data[data.length - 1];
  return { data, nextCursor: sorted.length > page.limit && last ? last.id : null };
}

/** structuredClone keeps Dates as Dates, as a database round trip does. */
export function clone<T>(value: T): T {
  return structuredClone(value);
}

export function cloneOrNull<T>(value: T | undefined): T | null {
  return value === undefined ? null : clone(value);
}

/** What a second insert of an id fails with, as the MongoDB driver reports it. */
export function duplicateKey(): Error {
  return Object.assign(new Error('duplicate key'), { code: 11000 });
}

/** The record of `map` under `id` when it belongs to the tenant. */
export function ownedBy<T extends { tenantId: string }>(map: Map<string, T>, tenantId: string, id: string): T | undefined {
  const found = map.get(id);
  return found && found.tenantId === tenantId ? found : undefined;
}
