import type { Page, PageRequest } from '../core/page';
import type { ApiKeyInput, ApiKeyRecord, AuditEntry, AuditQuery, ConsoleSessionRecord } from './model';

/** Where API keys are kept (by hash), for the API's authentication and key routes and the CLI. */
export interface ApiKeys {
  upsertApiKey(record: ApiKeyInput): Promise<void>;
  /** By hash, revoked or not (the caller refuses revoked keys). */
  findApiKey(hash: string): Promise<ApiKeyRecord | null>;
  /** A tenant's keys, revoked ones included, newest id first. */
  listApiKeys(tenantId: string, page: PageRequest): Promise<Page<ApiKeyRecord>>;
  /** Marks the key revoked (keeping the first revocation time); null when the tenant has no such key. */
  revokeApiKey(tenantId: string, id: string, at: Date): Promise<ApiKeyRecord | null>;
  /** Records a use of the key; callers throttle it (no write per request). */
  touchApiKey(hash: string, at: Date): Promise<void>;
}

/** The audit trail of changes made through the API. */
export interface AuditLog {
  /** Insert only, in batches; unordered (an entry already stored is skipped). */
  recordAuditEntries(entries: AuditEntry[]): Promise<void>;
  /** A tenant's audit trail, newest first. */
  listAuditEntries(tenantId: string, query: AuditQuery): Promise<Page<AuditEntry>>;
}

/** Console sessions (sign-in with an API key), by the hash of the session token. */
export interface ConsoleSessions {
  /** A second insert of an id is reported (the token is random: it never happens by chance). */
  insertConsoleSession(record: ConsoleSessionRecord): Promise<void>;
  /** By id, expired or not (the caller refuses expired ones). */
  findConsoleSession(id: string): Promise<ConsoleSessionRecord | null>;
  /** Sign-out; false when there was no such session. */
  deleteConsoleSession(id: string): Promise<boolean>;
  /** Removes sessions that expired before the time; how many. */
  purgeConsoleSessionsBefore(before: Date): Promise<number>;
}
