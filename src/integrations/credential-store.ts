import type { LoadedConnector } from '../connectors/loader';
import type { ConnectionContext } from '../connectors/runtime';
import type { ConnectionRecord, RefreshBackoff } from './model';

/** A connection with its secrets opened and the connector version it is pinned to (null: not installed). */
export interface LoadedConnection {
  record: ConnectionRecord;
  connector: LoadedConnector | null;
  context: ConnectionContext;
}

/**
 * What the token manager needs of the connections: the link as stored now, the
 * writes a refresh ends with, and the failed refreshes every process shares.
 * Declared here, by its user, so that the token manager depends on these methods
 * and not on the connection service.
 */
export interface CredentialStore {
  /** The link as stored now, secrets opened, bypassing any read cache; null once deleted. */
  reload(connectionId: string): Promise<LoadedConnection | null>;
  /** Stores refreshed credentials (a rotated refresh token included) before anyone uses them. */
  save(record: ConnectionRecord, credentials: Record<string, unknown>): Promise<ConnectionRecord>;
  /** The grant is gone: the connection waits to be linked again. */
  markNeedsReauth(record: ConnectionRecord, reason: string): Promise<void>;
  /**
   * One more failed refresh, kept with the connection so every process backs off: the next try
   * waits firstWaitMs after `at`, doubled per earlier failure in a row, at most maxWaitMs (the
   * record's `refreshBackoff` from then on). Null when the connection is gone.
   */
  noteRefreshFailure(record: ConnectionRecord, failure: { reason: string; at: Date; firstWaitMs: number; maxWaitMs: number }): Promise<RefreshBackoff | null>;
  /** A refresh worked: the failures are forgotten, in every process. */
  clearRefreshFailures(record: ConnectionRecord): Promise<void>;
}
