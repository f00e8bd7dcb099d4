// Over 300 lines: a link's whole life (create, link, relink, update, check, requirements, who-am-I) in one service.
import { errorMessage, HubError, invalid, NotFoundError } from '../core/errors';
import { newId } from '../core/ids';
import type { Page, PageRequest } from '../core/page';
import type { SubscriptionRepository } from '../subscriptions/repository';
import type { LoadedConnector } from '../connectors/loader';
import type { ConnectorRegistry } from '../connectors/registry';
import { runLinkSteps } from '../connectors/link-steps';
import type { LinkApp, LinkedToken } from '../connectors/link-steps';
import { checkRequirements, lookUpAccount } from '../connectors/requirements';
import type { RequirementsState } from '../connectors/requirements';
import type { ConnectionContext, ConnectorRuntime, Transport } from '../connectors/runtime';
import { ConnectionChecks } from './connection-checks';
import type { ConnectionChecksOptions } from './connection-checks';
import { connectionCreateInput, connectionUpdateInput } from './connection-input';
import { expiresAt } from './connection-vault';
import type { ConnectionVault } from './connection-vault';
import type { LoadedConnection } from './credential-store';
import type { ConnectionRecord } from './model';
import type { ConnectionRepository } from './ports';
import { accountUrlOverride, baseUrlOverride } from './oauth-apps';
import type { ConnectionPacer } from './paced-transport';
import { credentialsFrom } from './token-client';
import type { TokenResponse } from './token-client';

export type { LoadedConnection } from './credential-store';

/** Fresh credentials for a link: the token manager's, as the connection service uses it. */
export interface FreshCredentials {
  fresh(loaded: LoadedConnection): Promise<Record<string, unknown>>;
}

export interface ConnectionServiceOptions extends ConnectionChecksOptions {
  store: ConnectionRepository & Pick<SubscriptionRepository, 'findIntegrationsOf'>;
  /** Where links are sealed, opened and cached (shared with the token manager). */
  vault: ConnectionVault;
  registry: ConnectorRegistry;
  /** Keeps the OAuth tokens of links fresh. */
  tokens: FreshCredentials;
  runtime: ConnectorRuntime;
  transport: Transport;
  /** The connections' rate limits and concurrency, shared with their deliveries; the link's own requests take their slots too. */
  pacer?: Pick<ConnectionPacer, 'paced'>;
  /** Per-connector settings from the environment: base URL overrides. */
  connectorEnv: Readonly<Record<string, string>>;
  /** After a connection was marked broken: tell its tenant (connection.broken). Must not throw. */
  onBroken?: (connection: ConnectionRecord, reason: string) => Promise<void>;
  /** After a broken or unlinked connection was fixed through the API (new settings or credentials): resume its parked deliveries. */
  onRepaired?: (connection: ConnectionRecord) => Promise<void>;
  /** Checks a new link to a connector against the tenant's plan (403 plan_limit). */
  checkPlan?: (tenantId: string, connector: string) => Promise<void>;
}

export interface CheckResult {
  ok: boolean;
  status: number | null;
  durationMs: number;
  error: string | null;
  /** What the linked account lacks of the connector's `requirements`; null when it declares none. */
  requirements: RequirementsState | null;
}

/** Links (connections) of tenants to connectors: validation, sealed secrets, health checks. */
export class ConnectionService {
  private readonly checks: ConnectionChecks;

  constructor(private readonly options: ConnectionServiceOptions) {
    this.checks = new ConnectionChecks(options);
  }

  /** A link's context ready for requests: a fresh OAuth token, and the base URL override if one is set. */
  async contextFor(loaded: LoadedConnection): Promise<ConnectionContext> {
    const baseUrl = baseUrlOverride(loaded.record.connector, this.options.connectorEnv);
    return { ...loaded.context, credentials: await this.options.tokens.fresh(loaded), ...(baseUrl ? { baseUrl } : {}) };
  }

  async create(tenantId: string, body: Record<string, unknown>): Promise<ConnectionRecord> {
    const input = connectionCreateInput(body);
    const connector = this.options.registry.latest(input.connector);
    if (!connector) throw invalid([{ path: '/connector', message: `"${input.connector}" is not an installed connector; see GET /v1/connectors` }], 'connection');
    if (connector.manifest.auth.type === 'oauth2') {
      throw new HubError('oauth_link_required', `${connector.manifest.title} is linked through OAuth: POST /v1/connections/authorize {"connector": "${input.connector}"} and follow the returned URL.`, { status: 400 });
    }
    await this.checkPlan(tenantId, input.connector);
    const config = input.config ?? {};
    const credentials = input.credentials ?? {};
    const problems = await this.checks.all(connector, config, credentials);
    if (problems.length > 0) throw invalid(problems, 'connection');
    const record = newConnection(tenantId, connector, this.options.vault.seal(connector, config, credentials), {
      metadata: {},
      tokenExpiresAt: null,
      description: input.description ?? null,
    });
    await this.options.store.insertConnection(record);
    return this.recordRequirements(record);
  }

  /** 403 plan_limit when the tenant's plan does not allow one more link to this connector. */
  async checkPlan(tenantId: string, connector: string): Promise<void> {
    await this.options.checkPlan?.(tenantId, connector);
  }

  /** Throws a 400 naming each problem when `config` does not fit the connector's settings schema. */
  assertValidConfig(connector: LoadedConnector, config: Record<string, unknown>): void {
    const problems = this.checks.config(connector, config);
    if (problems.length > 0) throw invalid(problems, 'connection');
  }

  /** A new connection from a finished OAuth authorization. */
  async createOAuth(tenantId: string, connector: LoadedConnector, config: Record<string, unknown>, token: TokenResponse, metadata: Record<string, unknown>, description: string | null): Promise<ConnectionRecord> {
    const credentials = credentialsFrom(token);
    const record = newConnection(tenantId, connector, this.options.vault.seal(connector, config, credentials), { metadata, tokenExpiresAt: expiresAt(credentials), description });
    await this.options.store.insertConnection(record);
    return this.recordRequirements(await this.recordAccount(record));
  }

  /** New tokens for an existing connection (linked again): it becomes active and keeps its settings unless new ones are given. */
  async relinkOAuth(tenantId: string, id: string, token: TokenResponse, metadata: Record<string, unknown>, config: Record<string, unknown>): Promise<ConnectionRecord> {
    const current = await this.get(tenantId, id);
    const connector = this.pinned(current);
    if (!connector) throw new HubError('connector_not_installed', this.missingMessage(current), { status: 409 });
    const merged = { ...this.options.vault.settings(current), ...config };
    const credentials = credentialsFrom(token);
    const updated = await this.options.store.updateConnection(tenantId, id, {
      ...this.options.vault.seal(connector, merged, credentials),
      metadata: { ...withoutAccount(current.metadata), ...metadata },
      status: 'active',
      tokenExpiresAt: expiresAt(credentials),
      lastError: null,
    });
    if (!updated) throw new NotFoundError('connection', id);
    // New tokens start afresh: failed refreshes of the old grant say nothing about the new one.
    if (updated.refreshBackoff) await this.options.store.clearRefreshFailures(id);
    this.invalidate();
    return this.recordRequirements(await this.recordAccount(updated));
  }

  /** The connector's link_steps on a token response fresh from the code exchange, over the hub's transport (HOOKHUB_<NAME>_BASE_URL applies). */
  linkSteps(connector: LoadedConnector, config: Record<string, unknown>, token: TokenResponse, app: LinkApp): Promise<LinkedToken> {
    return runLinkSteps(connector, { config, token, app, baseUrl: baseUrlOverride(connector.manifest.name, this.options.connectorEnv) }, this.options.transport);
  }

  /** Every setting of a link, the secret ones opened. */
  settings(record: ConnectionRecord): Record<string, unknown> {
    return this.options.vault.settings(record);
  }

  /** The link as stored now, secrets opened, bypassing the read cache. */
  reload(id: string): Promise<LoadedConnection | null> {
    return this.options.vault.reload(id);
  }

  async get(tenantId: string, id: string): Promise<ConnectionRecord> {
    const record = await this.options.store.getConnection(tenantId, id);
    if (!record) throw new NotFoundError('connection', id);
    return record;
  }

  list(tenantId: string, page: PageRequest): Promise<Page<ConnectionRecord>> {
    return this.options.store.listConnections(tenantId, page);
  }

  /**
   * Changes settings, credentials or the description. Config keys not given keep
   * their values (secrets included); `upgrade: true` moves the link to the
   * newest major version of its connector.
   */
  async update(tenantId: string, id: string, body: Record<string, unknown>): Promise<ConnectionRecord> {
    const input = connectionUpdateInput(body);
    const current = await this.get(tenantId, id);
    const upgrade = input.upgrade === true;
    const connector = upgrade ? this.options.registry.latest(current.connector) : this.pinned(current);
    if (!connector) throw new HubError('connector_not_installed', this.missingMessage(current), { status: 409 });
    const config = { ...this.options.vault.settings(current), ...input.config };
    const problems = await this.checks.all(connector, config, input.credentials);
    if (problems.length > 0) throw invalid(problems, 'connection');
    // New credentials may fix a lost grant; new credentials or settings may fix a dead link (a new webhook URL, a new key).
    const repaired =
      (input.credentials !== undefined && current.status === 'needs_reauth') || ((input.credentials !== undefined || input.config !== undefined) && current.status === 'broken');
    const updated = await this.options.store.updateConnection(tenantId, id, {
      ...this.options.vault.seal(connector, config, input.credentials ?? this.options.vault.credentials(current)),
      connectorVersion: upgrade ? connector.manifest.version : current.connectorVersion,
      ...(typeof input.description === 'string' ? { description: input.description } : {}),
      ...(repaired ? { status: 'active' as const, lastError: null } : {}),
    });
    if (!updated) throw new NotFoundError('connection', id);
    this.invalidate();
    if (repaired) await this.options.onRepaired?.(updated);
    // New credentials or settings may grant or point at what the account lacked (or lose it).
    return input.credentials !== undefined || input.config !== undefined || upgrade ? this.recordRequirements(updated) : updated;
  }

  async remove(tenantId: string, id: string): Promise<void> {
    await this.get(tenantId, id);
    const integrations = await this.options.store.findIntegrationsOf(tenantId, id);
    if (integrations.length > 0) {
      throw new HubError('connection_in_use', `The connection is used by ${integrations.length} integration(s); delete them first (DELETE /v1/integrations/:id).`, {
        status: 409,
        details: { integrationIds: integrations.map((i) => i.id) },
      });
    }
    await this.options.store.deleteConnection(tenantId, id);
    this.invalidate();
  }

  /**
   * Runs the connector's health check and its requirements with the link's credentials and records
   * both: the health check in lastCheckOk / lastError, what the account lacks in requirements.
   */
  async check(tenantId: string, id: string): Promise<CheckResult> {
    const loaded = this.unseal(await this.withAccountValues(await this.get(tenantId, id)));
    if (!loaded.connector) throw new HubError('connector_not_installed', this.missingMessage(loaded.record), { status: 409 });
    const spec = loaded.connector.healthCheck;
    if (!spec && !loaded.connector.requirements) throw new HubError('health_check_not_declared', `Connector ${loaded.record.connector} declares no health_check and no requirements.`, { status: 409 });
    let context: ConnectionContext;
    try {
      context = await this.contextFor(loaded);
    } catch (err) {
      const error = errorMessage(err);
      await this.options.store.updateConnection(tenantId, id, { lastCheckAt: new Date(), lastCheckOk: false, lastError: error });
      return { ok: false, status: null, durationMs: 0, error, requirements: loaded.record.requirements ?? null };
    }
    const transport = this.transportOf(loaded);
    const result = spec ? await this.options.runtime.check(loaded.connector, context, spec, transport) : { ok: true, status: null, durationMs: 0, error: null };
    const requirements = await checkRequirements(loaded.connector, context, transport);
    await this.options.store.updateConnection(tenantId, id, { lastCheckAt: new Date(), lastCheckOk: result.ok, lastError: result.error, ...(requirements ? { requirements } : {}) });
    return { ...result, requirements };
  }

  /**
   * A new or relinked OAuth link: the account it went to from the provider's "who am I" answer (the manifest's
   * `account`), where the token response named none, and the values it keeps (read on every link). A failed request keeps what was there.
   */
  private async recordAccount(record: ConnectionRecord): Promise<ConnectionRecord> {
    const loaded = this.unseal(record);
    const spec = loaded.connector?.account;
    if (!loaded.connector || !spec) return record;
    const named = record.metadata['provider_account'] as { id?: unknown } | undefined;
    if (spec.keep.length === 0 && typeof named?.id === 'string' && named.id !== '') return record;
    try {
      const found = await lookUpAccount(loaded.connector, await this.contextFor(loaded), this.transportOf(loaded), accountUrlOverride(record.connector, this.options.connectorEnv));
      if (!found || (!found.account && Object.keys(found.kept).length === 0)) return record;
      const metadata = { ...record.metadata, ...found.kept, ...(found.account ? { provider_account: found.account } : {}) };
      const updated = await this.options.store.updateConnection(record.tenantId, record.id, { metadata });
      this.invalidate();
      return updated ?? record;
    } catch {
      return record;
    }
  }

  /** The link, with the account request's kept values read again when one is missing (it failed at linking). */
  private withAccountValues(record: ConnectionRecord): Promise<ConnectionRecord> {
    const keep = this.pinned(record)?.account?.keep ?? [];
    return keep.some(([name]) => record.metadata[name] === undefined) ? this.recordAccount(record) : Promise.resolve(record);
  }

  /**
   * Checks a link just made or changed against its connector's requirements and keeps what it
   * found on the connection, so a missing scope or property shows before the first delivery fails.
   * A check that cannot run is recorded as unchecked; the link stands either way.
   */
  private async recordRequirements(record: ConnectionRecord): Promise<ConnectionRecord> {
    const loaded = this.unseal(record);
    if (!loaded.connector?.requirements) return record;
    let state: RequirementsState | null;
    try {
      state = await checkRequirements(loaded.connector, await this.contextFor(loaded), this.transportOf(loaded));
    } catch (err) {
      state = { checkedAt: new Date().toISOString(), missing: [], unchecked: [{ name: 'requirements', message: `could not be checked: ${errorMessage(err)}` }] };
    }
    if (!state) return record;
    return (await this.options.store.updateConnection(record.tenantId, record.id, { requirements: state })) ?? record;
  }

  /**
   * The connector's API said this link is dead: mark it broken (its deliveries are parked from now
   * on) and, the first time, tell its tenant.
   */
  async markBroken(record: ConnectionRecord, reason: string): Promise<void> {
    if (await this.options.vault.markBroken(record, reason)) await this.options.onBroken?.(record, reason);
  }

  /** The transport of a link's own requests (health check, requirements, who-am-I), paced as its deliveries are; a check waits up to 10 s for a slot. */
  private transportOf(loaded: LoadedConnection): Transport {
    return (loaded.connector && this.options.pacer?.paced(this.options.transport, loaded.connector, loaded.record.id, 10_000)) || this.options.transport;
  }

  /** For the delivery worker: the link with its secrets opened and its pinned connector. */
  load(id: string): Promise<LoadedConnection | null> {
    return this.options.vault.load(id);
  }

  invalidate(): void {
    this.options.vault.invalidate();
  }

  pinned(record: ConnectionRecord): LoadedConnector | null {
    return this.options.vault.pinned(record);
  }

  missingMessage(record: ConnectionRecord): string {
    return this.options.vault.missingMessage(record);
  }

  unseal(record: ConnectionRecord): LoadedConnection {
    return this.options.vault.unseal(record);
  }
}

/** A link's metadata without the account it was linked to: a relink names its account anew (by its token, or the account request). */
function withoutAccount(metadata: Record<string, unknown>): Record<string, unknown> {
  const { provider_account: _previous, ...rest } = metadata;
  return rest;
}

function newConnection(
  tenantId: string,
  connector: LoadedConnector,
  sealed: Pick<ConnectionRecord, 'config' | 'secretsSealed'>,
  more: Pick<ConnectionRecord, 'metadata' | 'tokenExpiresAt' | 'description'>,
): ConnectionRecord {
  const now = new Date();
  return {
    id: newId('con'),
    tenantId,
    connector: connector.manifest.name,
    connectorVersion: connector.manifest.version,
    ...sealed,
    ...more,
    status: 'active',
    lastCheckAt: null,
    lastCheckOk: null,
    lastError: null,
    createdAt: now,
    updatedAt: now,
  };
}
