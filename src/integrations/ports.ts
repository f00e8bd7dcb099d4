import type { Page, PageRequest } from '../core/page';
import type { ConnectionPatch, ConnectionRecord, OAuthStateRecord, RefreshBackoff, SyncCountRow, TenantSettingsRecord } from './model';
import type { TrackedPatch, TrackedRecord, TrackedState } from './tracked-record';
import type { EventCursor, ExportEvent, ExportPatch, ExportRecord } from './connection-export';

/** Where connections are kept. */
export interface ConnectionRepository {
  /** Fails with code 11000 when the id is taken. */
  insertConnection(record: ConnectionRecord): Promise<void>;
  getConnection(tenantId: string, id: string): Promise<ConnectionRecord | null>;
  /** By id alone, for the delivery worker. */
  loadConnection(id: string): Promise<ConnectionRecord | null>;
  listConnections(tenantId: string, page: PageRequest): Promise<Page<ConnectionRecord>>;
  updateConnection(tenantId: string, id: string, patch: ConnectionPatch): Promise<ConnectionRecord | null>;
  deleteConnection(tenantId: string, id: string): Promise<boolean>;
  /** Active connections whose OAuth token expires before `before` (the refresh job). */
  findConnectionsExpiringBefore(before: Date, limit: number): Promise<ConnectionRecord[]>;
  /** Active connections not checked since `before`, or never (the health-check job). */
  findConnectionsToCheck(before: Date, limit: number): Promise<ConnectionRecord[]>;
  /**
   * One more failed token refresh of the connection, seen by every process: the failures in a row
   * go up by one and the next try waits `firstWaitMs` after `at`, doubled per earlier failure, at
   * most `maxWaitMs`. Its caller holds the connection's refresh lease, so notes do not race (two at
   * once may count as one on a server without atomic updates). Null when the connection is gone.
   */
  noteRefreshFailure(id: string, failure: { reason: string; at: Date; firstWaitMs: number; maxWaitMs: number }): Promise<RefreshBackoff | null>;
  /** A refresh worked: the connection's failed refreshes are forgotten (nothing to do when there are none). */
  clearRefreshFailures(id: string): Promise<void>;
}

/** OAuth authorizations in progress: single use, bound to the first browser that opens them. */
export interface OAuthStates {
  /** Fails with code 11000 when the id is taken. */
  insertOAuthState(record: OAuthStateRecord): Promise<void>;
  /** Null once consumed. */
  getOAuthState(id: string): Promise<OAuthStateRecord | null>;
  /** Binds the state to the first browser that opens it; false when another already did. */
  claimOAuthState(id: string, browserNonceHash: string): Promise<boolean>;
  /** Removes the state and says whether this call removed it: only one caller can use a state. */
  consumeOAuthState(id: string): Promise<boolean>;
  /** Deletes states that expired before `before`, with their browser claims and use marks; returns how many states. */
  purgeOAuthStatesBefore(before: Date): Promise<number>;
}

/** Each tenant's settings, one record per tenant; a tenant never reads another's. */
export interface TenantSettingsStore {
  /** Null when the tenant never saved settings. */
  getTenantSettings(tenantId: string): Promise<TenantSettingsRecord | null>;
  /** Replaces the tenant's record as a whole (creates it the first time). */
  putTenantSettings(record: TenantSettingsRecord): Promise<void>;
}

/** Named locks shared by every process (one token refresh per connection at a time). */
export interface Leases {
  /** A lease under a unique name: true when this owner holds it now. An expired lease may be taken over. */
  acquireLease(name: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up if this owner holds it. */
  releaseLease(name: string, owner: string): Promise<void>;
}

/** Ids a connector remembered for things it created (e.g. a business's organization in a CRM). */
export interface ExternalRefStore {
  /** Sets (or replaces) the id kept for this connection, type and key. */
  putExternalRef(connectionId: string, type: string, key: string, externalId: string): Promise<void>;
  getExternalRef(connectionId: string, type: string, key: string): Promise<string | null>;
}

/** Per-hour counts of synced objects; each process keeps its own rows and readers sum them. */
export interface SyncCounts {
  /** Saves this process's counts (each row replaces the process's earlier row for its connection, object and hour). */
  saveSyncCounts(processId: string, rows: SyncCountRow[]): Promise<void>;
  /** Counts of all processes, summed per object type and hour, since `since`, oldest first. */
  listSyncCounts(tenantId: string, connectionId: string, since: Date): Promise<SyncCountRow[]>;
}

/** Records connections created in CRMs, followed by the read-back job until their deal is won or lost (the pipeline funnel). */
export interface TrackedRecords {
  /**
   * Starts following a record: inserted when its id is new; a record only sent so far becomes
   * `created` (with its external id and createdAt) when this one is; anything else is left as it is.
   */
  trackRecord(record: TrackedRecord): Promise<void>;
  /** Ids of connections with records still open (created or converted), at most `limit`. */
  connectionsWithOpenRecords(limit: number): Promise<string[]>;
  /** The connection's open records (created or converted), those read longest ago (or never) first, at most `limit`. */
  openRecords(connectionId: string, limit: number): Promise<TrackedRecord[]>;
  /** Applies the patch when the record is still in state `from`; false when it is not (another change came first) or is gone. */
  updateTrackedRecord(id: string, from: TrackedState, patch: TrackedPatch): Promise<boolean>;
  /** The tenant's records of a connection sent since `since`, at most `limit`, oldest first. */
  listTrackedRecords(tenantId: string, connectionId: string, since: Date, limit: number): Promise<TrackedRecord[]>;
}

/** Exports of past events into linked accounts (POST /v1/connections/:id/export), run by the jobs role. */
export interface ConnectionExports {
  /** Fails with code 11000 when the id is taken. */
  insertExport(record: ExportRecord): Promise<void>;
  /** Null when the tenant has no export of this id. */
  getExport(tenantId: string, id: string): Promise<ExportRecord | null>;
  /** A connection's exports, newest first, at most `limit`. */
  listExports(tenantId: string, connectionId: string, limit: number): Promise<ExportRecord[]>;
  /** Applies the patch; the caller holds the export's lease. */
  updateExport(id: string, patch: ExportPatch): Promise<void>;
  /** Exports queued or running (their process may have stopped), oldest first, at most `limit`. */
  unfinishedExports(limit: number): Promise<ExportRecord[]>;
}

/** The stored events an export reads: a tenant's past events of a type, in pages. */
export interface ExportEvents {
  /**
   * Events of `type` the tenant's subscriptions match (directory events and its own) received in
   * [since, until), after `after` in (receivedAt, key) order, at most `limit`, in that order.
   */
  eventsForExport(tenantId: string, type: string, window: { since: Date; until: Date }, after: EventCursor | null, limit: number): Promise<ExportEvent[]>;
}

/**
 * Rate-limit slots shared by every process (the store's): a slot id only one claim can take.
 * Declared here by shape, as the webhook side declares its own, so this floor imports no other.
 */
export interface SharedRateSlots {
  /** Takes slot `slot` of time bucket `bucket` for `key`; false when another claim took it first. */
  claimRateSlot(key: string, bucket: number, slot: number): Promise<boolean>;
}
