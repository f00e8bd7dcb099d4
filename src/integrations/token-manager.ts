import { setTimeout as sleep } from 'node:timers/promises';
import { systemClock } from '../core/clock';
import type { Clock } from '../core/clock';
import { errorMessage, UnrecoverableError } from '../core/errors';
import { newId } from '../core/ids';
import type { Logger } from '../core/logger';
import type { CredentialStore, LoadedConnection } from './credential-store';
import { backoffWait } from './model';
import type { ConnectionRecord } from './model';
import { connectorEnvName, oauthApp } from './oauth-apps';
import type { OAuthAppSettings } from './oauth-apps';
import type { Leases } from './ports';
import { credentialsFrom, TokenError, tokenRequest } from './token-client';

/** Refresh when the token has less than this left. */
export const REFRESH_AHEAD_MS = 5 * 60_000;
const LEASE_TTL_MS = 30_000;
const WAIT_FOR_OTHER_MS = 20_000;
/** After a failed refresh, the connection's next one waits this long, doubling with each failure up to BACKOFF_MAX_MS. */
export const BACKOFF_FIRST_MS = 2_000;
export const BACKOFF_MAX_MS = 5 * 60_000;

/**
 * A token could not be refreshed for now (the token endpoint is down, or refused the hub's app
 * credentials): the delivery failed transiently and is retried on its subscription's schedule.
 */
export class TokenUnavailableError extends Error {
  constructor(
    message: string,
    /** No refresh of this connection is tried before this time (epoch ms). */
    readonly retryAt: number,
  ) {
    super(message);
    this.name = 'TokenUnavailableError';
  }
}

/** A connector whose token endpoint refuses the hub's OAuth app credentials: the operator's to fix. */
export interface AppCredentialProblem {
  connector: string;
  reason: string;
  since: string;
  /** The variables holding the app's credentials. */
  fix: string;
}

/** Failed refreshes of one connection in a row, and when the next may be tried. */
interface Backoff {
  failures: number;
  retryAt: number;
  reason: string;
}

/** Another process's failed refresh set the connection's backoff: no refresh is tried now. */
class BackingOff extends Error {
  constructor(readonly backoff: Backoff) {
    super(backoff.reason);
    this.name = 'BackingOff';
  }
}

/** The grant is gone: only linking the account again helps. Deliveries are parked meanwhile. */
export class NeedsReauthError extends UnrecoverableError {
  constructor(message: string) {
    super('connection_needs_reauth', message);
    this.name = 'NeedsReauthError';
  }
}

export interface TokenManagerOptions {
  /** Where the connections' credentials are read and written. */
  credentials: CredentialStore;
  /** One refresh per connection at a time, across processes. */
  leases: Leases;
  /** The hub's OAuth apps. */
  apps: OAuthAppSettings;
  /** After a connection's grant is lost and it was marked needs_reauth: tell its tenant. Must not throw. */
  onGrantLost(connection: ConnectionRecord, reason: string): Promise<void>;
  /** The token endpoint refused the hub's app credentials while refreshing this connection (once per connection and outage). Must not throw. */
  onAppCredentialsFailed?(connection: ConnectionRecord, reason: string): Promise<void>;
  /** Decides when a token expires soon. */
  clock?: Clock;
  logger: Logger;
}

/**
 * Keeps OAuth tokens fresh: ahead of expiry, and once more when an API says the
 * token is no longer good. One refresh per connection at a time across every
 * process (a lease document under a unique id); whoever waits re-reads the
 * connection afterwards. A rotated refresh token is stored before the new
 * access token is used, so a crash never strands the only valid refresh token.
 * A failed refresh backs off per connection (2 s, doubling, at most 5 min), kept
 * with the connection in the store so that every process backs off together:
 * while it does, callers get TokenUnavailableError at once (or the current token
 * while it is still valid), so an outage of the token endpoint costs a few
 * requests, not one per event, nor one per process.
 */
export class TokenManager {
  /** Refreshes in progress in this process, by connection: concurrent callers share one. */
  private readonly inFlight = new Map<string, Promise<Record<string, unknown>>>();
  private readonly backoffs = new Map<string, Backoff>();
  /** Refresh failures already counted while their lease was held. */
  private readonly noted = new WeakSet<object>();
  /** Connectors whose app credentials the token endpoint refused, with the connections already told. */
  private readonly appProblems = new Map<string, AppCredentialProblem & { told: Set<string> }>();
  private readonly clock: Clock;

  constructor(private readonly options: TokenManagerOptions) {
    this.clock = options.clock ?? systemClock;
  }

  /** Credentials good for the next request; refreshed first when they expire soon (or `force`, after a 401). */
  async fresh(loaded: LoadedConnection, how: { force?: boolean } = {}): Promise<Record<string, unknown>> {
    const { record, context } = loaded;
    if (loaded.connector?.manifest.auth.type !== 'oauth2') return context.credentials;
    if (!how.force && !this.expiresSoon(context.credentials)) return context.credentials;
    const backoff = this.backoffOf(record);
    if (backoff && this.clock.now() < backoff.retryAt) return this.unavailable(loaded, how, backoff);
    let pending = this.inFlight.get(record.id);
    if (!pending) {
      pending = this.refreshShared(loaded)
        .then(
          (credentials) => {
            this.backoffs.delete(record.id);
            return credentials;
          },
          async (err: unknown) => {
            if (err instanceof BackingOff) this.backoffs.set(record.id, err.backoff);
            else if (!(err instanceof UnrecoverableError) && !(typeof err === 'object' && err !== null && this.noted.has(err))) await this.failed(record, err);
            throw err;
          },
        )
        .finally(() => this.inFlight.delete(record.id));
      this.inFlight.set(record.id, pending);
    }
    try {
      return await pending;
    } catch (err) {
      const failed = this.backoffs.get(record.id);
      if (err instanceof UnrecoverableError || !failed) throw err;
      return this.unavailable(loaded, how, failed);
    }
  }

  /** Connectors whose token endpoint refuses the hub's app credentials (for /readyz). */
  appCredentialProblems(): AppCredentialProblem[] {
    return [...this.appProblems.values()].map(({ connector, reason, since, fix }) => ({ connector, reason, since, fix }));
  }

  /** The connection's backoff as this process knows it: its own, or the one stored with the connection, whichever ends later. */
  private backoffOf(record: ConnectionRecord): Backoff | undefined {
    const own = this.backoffs.get(record.id);
    const stored = record.refreshBackoff;
    if (!stored || (own && own.retryAt >= stored.retryAt.getTime())) return own;
    return { failures: stored.failures, retryAt: stored.retryAt.getTime(), reason: stored.reason };
  }

  /**
   * One more failed refresh: the next waits twice as long as the last. Counted with the connection
   * in the store, so the other processes back off too; in this process alone if the store fails.
   */
  private async failed(record: ConnectionRecord, err: unknown): Promise<void> {
    const reason = errorMessage(err);
    const now = this.clock.now();
    let backoff: Backoff | undefined;
    try {
      const stored = await this.options.credentials.noteRefreshFailure(record, { reason, at: new Date(now), firstWaitMs: BACKOFF_FIRST_MS, maxWaitMs: BACKOFF_MAX_MS });
      if (stored) backoff = { failures: stored.failures, retryAt: stored.retryAt.getTime(), reason };
    } catch (storeErr) {
      this.options.logger.warn({ connectionId: record.id, err: errorMessage(storeErr) }, 'could not store a failed OAuth refresh; backing off in this process only');
    }
    if (!backoff) {
      const failures = (this.backoffs.get(record.id)?.failures ?? 0) + 1;
      backoff = { failures, retryAt: now + backoffWait(failures, BACKOFF_FIRST_MS, BACKOFF_MAX_MS), reason };
    }
    this.backoffs.set(record.id, backoff);
    this.options.logger.warn({ connectionId: record.id, connector: record.connector, failures: backoff.failures, nextTryInMs: backoff.retryAt - now, reason }, 'OAuth token refresh failed; backing off');
  }

  /** No refresh now: the current token while it still works, else a transient failure of the delivery. */
  private unavailable(loaded: LoadedConnection, how: { force?: boolean }, backoff: Backoff): Record<string, unknown> {
    const credentials = loaded.context.credentials;
    const at = credentials['expires_at'];
    if (!how.force && typeof at === 'string' && new Date(at).getTime() > this.clock.now()) return credentials;
    throw new TokenUnavailableError(
      `the OAuth token of connection ${loaded.record.id} could not be refreshed (${backoff.reason}); no new try before ${new Date(backoff.retryAt).toISOString()}, and the delivery is retried on its schedule`,
      backoff.retryAt,
    );
  }

  /** One refresh across processes: the lease holder refreshes, the others wait and read its result. */
  private async refreshShared(loaded: LoadedConnection): Promise<Record<string, unknown>> {
    const { record, context } = loaded;
    const used = context.credentials['access_token'];
    const owner = newId('lease');
    const lease = `oauth-refresh:${record.id}`;
    // Wall time: the wait is for another process, whose lease runs on the store's clock.
    const deadline = Date.now() + WAIT_FOR_OTHER_MS;
    for (;;) {
      // Someone else may have refreshed already: use theirs.
      const current = await this.options.credentials.reload(record.id);
      if (!current) throw new UnrecoverableError('connection_deleted', 'the connection was deleted');
      if (current.record.status === 'needs_reauth') throw new NeedsReauthError(`the connection needs to be linked again (${current.record.lastError ?? 'grant revoked'})`);
      const theirs = current.context.credentials;
      if (theirs['access_token'] !== used && !this.expiresSoon(theirs)) return theirs;
      this.notBackingOff(current.record);
      if (await this.options.leases.acquireLease(lease, owner, LEASE_TTL_MS)) {
        try {
          const again = await this.options.credentials.reload(record.id);
          const latest = again?.context.credentials ?? theirs;
          if (latest['access_token'] !== used && !this.expiresSoon(latest)) return latest;
          // The lease's last holder may have failed just now.
          this.notBackingOff((again ?? current).record);
          try {
            return await this.refresh(again ?? current);
          } catch (err) {
            // Counted before the lease is released: the process that takes it next sees the backoff and asks nothing.
            if (!(err instanceof UnrecoverableError) && typeof err === 'object' && err !== null) {
              await this.failed(record, err);
              this.noted.add(err);
            }
            throw err;
          }
        } finally {
          await this.options.leases.releaseLease(lease, owner);
        }
      }
      if (Date.now() > deadline) throw new Error(`another process has been refreshing the token of ${record.id} for too long; will retry`);
      await sleep(100 + Math.random() * 100);
    }
  }

  /** Throws BackingOff while the connection's stored backoff (another process's failures) forbids a refresh. */
  private notBackingOff(record: ConnectionRecord): void {
    const stored = record.refreshBackoff;
    if (stored && stored.retryAt.getTime() > this.clock.now()) {
      throw new BackingOff({ failures: stored.failures, retryAt: stored.retryAt.getTime(), reason: stored.reason });
    }
  }

  private async refresh(loaded: LoadedConnection): Promise<Record<string, unknown>> {
    const { record, context, connector } = loaded;
    if (connector?.manifest.auth.type !== 'oauth2') return context.credentials;
    const spec = connector.manifest.auth;
    const refreshToken = context.credentials['refresh_token'];
    if (typeof refreshToken !== 'string' || refreshToken === '') {
      // Not expired (or never expiring, as Mailchimp's and Facebook Page tokens): the API refused it, e.g. revoked.
      const why = this.expiresSoon(context.credentials) ? 'the access token expired' : 'the API refused the access token';
      return this.lost(loaded, `${why} and the provider gave no refresh token to replace it`);
    }
    const app = oauthApp(record.connector, spec, this.options.apps);
    if (!app.ok) throw new Error(`cannot refresh ${record.connector} tokens: set ${app.missing.join(' and ')}`);
    try {
      const token = await tokenRequest(app.app, spec, { grant_type: 'refresh_token', refresh_token: refreshToken });
      const credentials = credentialsFrom(token, context.credentials, this.clock.now());
      await this.options.credentials.save(record, credentials);
      if (record.refreshBackoff) await this.options.credentials.clearRefreshFailures(record);
      this.options.logger.info({ connectionId: record.id, connector: record.connector, rotated: token.refresh_token !== undefined && token.refresh_token !== refreshToken }, 'OAuth token refreshed');
      this.appCredentialsWork(record.connector);
      return credentials;
    } catch (err) {
      if (err instanceof TokenError && err.permanent) return this.lost(loaded, err.message);
      if (err instanceof TokenError && err.appCredentials) await this.appCredentialsFailed(record, spec, err.message);
      throw err;
    }
  }

  /** The provider refused the hub's own client: alert operators; the link is kept, and works again once the credentials do. */
  private async appCredentialsFailed(record: ConnectionRecord, spec: { client_id_env?: string; client_secret_env?: string }, reason: string): Promise<void> {
    let problem = this.appProblems.get(record.connector);
    if (!problem) {
      const idVar = spec.client_id_env ?? connectorEnvName(record.connector, 'CLIENT_ID');
      const secretVar = spec.client_secret_env ?? connectorEnvName(record.connector, 'CLIENT_SECRET');
      const fix = `check ${idVar} and ${secretVar} against the app registered with the provider (a rotated or mistyped secret); deliveries resume by themselves once a refresh works`;
      problem = { connector: record.connector, reason, since: new Date(this.clock.now()).toISOString(), fix, told: new Set() };
      this.appProblems.set(record.connector, problem);
    }
    problem.reason = reason;
    this.options.logger.error({ connector: record.connector, connectionId: record.id, reason, fix: problem.fix }, "the token endpoint refused the hub's OAuth app credentials; the connections are kept");
    if (problem.told.has(record.id) || !this.options.onAppCredentialsFailed) return;
    problem.told.add(record.id);
    try {
      await this.options.onAppCredentialsFailed(record, reason);
    } catch (err) {
      this.options.logger.warn({ connectionId: record.id, err: errorMessage(err) }, 'could not report refused OAuth app credentials');
    }
  }

  private appCredentialsWork(connector: string): void {
    if (!this.appProblems.delete(connector)) return;
    this.options.logger.info({ connector }, "the token endpoint accepts the hub's OAuth app credentials again");
  }

  private async lost(loaded: LoadedConnection, reason: string): Promise<never> {
    const { record } = loaded;
    await this.options.credentials.markNeedsReauth(record, reason);
    this.options.logger.warn({ connectionId: record.id, connector: record.connector, reason }, 'OAuth grant lost; the connection needs to be linked again');
    try {
      await this.options.onGrantLost(record, reason);
    } catch (err) {
      this.options.logger.warn({ connectionId: record.id, err: errorMessage(err) }, 'could not report a lost OAuth grant');
    }
    throw new NeedsReauthError(`the connection needs to be linked again (${reason})`);
  }

  private expiresSoon(credentials: Record<string, unknown>): boolean {
    const at = credentials['expires_at'];
    if (typeof at !== 'string') return false;
    return new Date(at).getTime() - this.clock.now() < REFRESH_AHEAD_MS;
  }
}
