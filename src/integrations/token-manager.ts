import { setTimeout as sleep } from 'node:timers/promises';
import type { HubConfig } from '../config/config';
import { UnrecoverableError } from '../core/errors';
import { newId } from '../core/ids';
import type { Logger } from '../core/logger';
import type { ConnectionService, LoadedConnection } from './connection-service';
import type { OperationalEvents } from '../events/operational-events';
import type { Store } from '../store/port';
import { oauthApp } from './oauth-apps';
import { credentialsFrom, TokenError, tokenRequest } from './token-client';

/** Refresh when the token has less than this left. */
export const REFRESH_AHEAD_MS = 5 * 60_000;
const LEASE_TTL_MS = 30_000;
const WAIT_FOR_OTHER_MS = 20_000;

/** The grant is gone: only linking the account again helps. Deliveries are parked meanwhile. */
export class NeedsReauthError extends UnrecoverableError {
  constructor(message: string) {
    super('connection_needs_reauth', message);
    this.name = 'NeedsReauthError';
  }
}

export interface TokenManagerOptions {
  store: Store;
  connections: ConnectionService;
  operational: Pick<OperationalEvents, 'emit'>;
  config: Pick<HubConfig, 'connectorEnv'>;
  logger: Logger;
}

/**
 * Keeps OAuth tokens fresh: ahead of expiry, and once more when an API says the
 * token is no longer good. One refresh per connection at a time across every
 * process (a lease document under a unique id); whoever waits re-reads the
 * connection afterwards. A rotated refresh token is stored before the new
 * access token is used, so a crash never strands the only valid refresh token.
 */
export class TokenManager {
  /** Refreshes in progress in this process, by connection: concurrent callers share one. */
  private readonly inFlight = new Map<string, Promise<Record<string, unknown>>>();

  constructor(private readonly o: TokenManagerOptions) {}

  /** Credentials good for the next request; refreshed first when they expire soon (or `force`, after a 401). */
  async fresh(loaded: LoadedConnection, options: { force?: boolean } = {}): Promise<Record<string, unknown>> {
    const { record, context } = loaded;
    if (loaded.connector?.manifest.auth.type !== 'oauth2') return context.credentials;
    if (!options.force && !expiresSoon(context.credentials)) return context.credentials;
    let pending = this.inFlight.get(record.id);
    if (!pending) {
      pending = this.refreshShared(loaded).finally(() => this.inFlight.delete(record.id));
      this.inFlight.set(record.id, pending);
    }
    return pending;
  }

  /** One refresh across processes: the lease holder refreshes, the others wait and read its result. */
  private async refreshShared(loaded: LoadedConnection): Promise<Record<string, unknown>> {
    const { record, context } = loaded;
    const used = context.credentials['access_token'];
    const owner = newId('lease');
    const lease = `oauth-refresh:${record.id}`;
    const deadline = Date.now() + WAIT_FOR_OTHER_MS;
    for (;;) {
      // Someone else may have refreshed already: use theirs.
      const current = await this.o.connections.reload(record.id);
      if (!current) throw new UnrecoverableError('connection_deleted', 'the connection was deleted');
      if (current.record.status === 'needs_reauth') throw new NeedsReauthError(`the connection needs to be linked again (${current.record.lastError ?? 'grant revoked'})`);
      const theirs = current.context.credentials;
      if (theirs['access_token'] !== used && !expiresSoon(theirs)) return theirs;
      if (await this.o.store.acquireLease(lease, owner, LEASE_TTL_MS)) {
        try {
          const again = await this.o.connections.reload(record.id);
          const latest = again?.context.credentials ?? theirs;
          if (latest['access_token'] !== used && !expiresSoon(latest)) return latest;
          return await this.refresh(again ?? current);
        } finally {
          await this.o.store.releaseLease(lease, owner);
        }
      }
      if (Date.now() > deadline) throw new Error(`another process has been refreshing the token of ${record.id} for too long; will retry`);
      await sleep(100 + Math.random() * 100);
    }
  }

  private async refresh(loaded: LoadedConnection): Promise<Record<string, unknown>> {
    const { record, context, connector } = loaded;
    if (connector?.manifest.auth.type !== 'oauth2') return context.credentials;
    const spec = connector.manifest.auth;
    const refreshToken = context.credentials['refresh_token'];
    if (typeof refreshToken !== 'string' || refreshToken === '') {
      return this.lost(loaded, 'the provider gave no refresh token and the access token expired');
    }
    const app = oauthApp(record.connector, spec, this.o.config.connectorEnv);
    if (!app.ok) throw new Error(`cannot refresh ${record.connector} tokens: set ${app.missing.join(' and ')}`);
    try {
      const token = await tokenRequest(app.app, spec, { grant_type: 'refresh_token', refresh_token: refreshToken });
      const credentials = credentialsFrom(token, context.credentials);
      await this.o.connections.saveCredentials(record, credentials);
      this.o.logger.info({ connectionId: record.id, connector: record.connector, rotated: token.refresh_token !== undefined && token.refresh_token !== refreshToken }, 'OAuth token refreshed');
      return credentials;
    } catch (err) {
      if (err instanceof TokenError && err.permanent) return this.lost(loaded, err.message);
      throw err;
    }
  }

  private async lost(loaded: LoadedConnection, reason: string): Promise<never> {
    const { record } = loaded;
    await this.o.connections.markNeedsReauth(record, reason);
    this.o.logger.warn({ connectionId: record.id, connector: record.connector, reason }, 'OAuth grant lost; the connection needs to be linked again');
    await this.o.operational.emit(record.tenantId, 'connection.needs_reauth', {
      connection_id: record.id,
      connector: record.connector,
      reason,
      relink: `POST /v1/connections/authorize {"connector": "${record.connector}", "connectionId": "${record.id}"}`,
    });
    throw new NeedsReauthError(`the connection needs to be linked again (${reason})`);
  }
}

function expiresSoon(credentials: Record<string, unknown>): boolean {
  const at = credentials['expires_at'];
  if (typeof at !== 'string') return false;
  return new Date(at).getTime() - Date.now() < REFRESH_AHEAD_MS;
}
