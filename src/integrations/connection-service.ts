import { errorMessage, HubError, invalid, NotFoundError } from '../core/errors';
import { newId } from '../core/ids';
import type { SecretBox } from '../core/secret-box';
import { SingleFlightCache } from '../core/single-flight-cache';
import { describeErrors } from '../events/validator';
import type { ValidationProblem } from '../events/validator';
import type { Logger } from '../core/logger';
import type { OperationalEvents } from '../events/operational-events';
import { urlProblem } from '../transport/network-guard';
import type { ConnectionRecord, Page, PageRequest, Store } from '../store/port';
import { baseUrlOverride } from './oauth-apps';
import { credentialsFrom } from './token-client';
import type { TokenResponse } from './token-client';
import { TokenManager } from './token-manager';
import type { LoadedConnector } from '../connectors/loader';
import type { ConnectorRegistry } from '../connectors/registry';
import type { ConnectionContext, ConnectorRuntime, Transport } from '../connectors/runtime';

export interface ConnectionServiceOptions {
  store: Store;
  secretBox: SecretBox;
  registry: ConnectorRegistry;
  runtime: ConnectorRuntime;
  transport: Transport;
  /** Production: webhook URLs must be https and match the connector's url_pattern. */
  production: boolean;
  /**
   * HOOKHUB_ALLOW_PRIVATE_NETWORKS: without it (the default here), URL settings must resolve
   * to public addresses when linked, as the sender requires when it connects.
   */
  allowPrivateNetworks?: boolean;
  /** Per-connector settings from the environment: OAuth apps, base URL overrides. */
  connectorEnv: Readonly<Record<string, string>>;
  /** Where connection.needs_reauth goes when a grant is lost. */
  operational: Pick<OperationalEvents, 'emit'>;
  logger: Logger;
}

interface Secrets {
  credentials: Record<string, unknown>;
  secretConfig: Array<{ path: string[]; value: unknown }>;
}

export interface LoadedConnection {
  record: ConnectionRecord;
  connector: LoadedConnector | null;
  context: ConnectionContext;
}

export interface CheckResult {
  ok: boolean;
  status: number | null;
  durationMs: number;
  error: string | null;
}

const CREDENTIAL_FIELDS: Record<string, string[]> = {
  none: [],
  api_key: ['api_key'],
  basic: ['username', 'password'],
  webhook_url: ['webhook_url'],
  oauth2: [],
};

/** Links (connections) of tenants to connectors: validation, sealed secrets, health checks. */
export class ConnectionService {
  private readonly cache = new SingleFlightCache<LoadedConnection | null>(2000);
  /** Keeps the OAuth tokens of these connections fresh. */
  readonly tokens: TokenManager;

  constructor(private readonly o: ConnectionServiceOptions) {
    this.tokens = new TokenManager({ store: o.store, connections: this, operational: o.operational, config: o, logger: o.logger });
  }

  /** A link's context ready for requests: a fresh OAuth token, and the base URL override if one is set. */
  async contextFor(loaded: LoadedConnection): Promise<ConnectionContext> {
    const baseUrl = baseUrlOverride(loaded.record.connector, this.o.connectorEnv);
    return { ...loaded.context, credentials: await this.tokens.fresh(loaded), ...(baseUrl ? { baseUrl } : {}) };
  }

  async create(tenantId: string, input: Record<string, unknown>): Promise<ConnectionRecord> {
    const name = input['connector'];
    if (typeof name !== 'string' || name === '') throw invalid([{ path: '/connector', message: 'is required: the name of a connector, see GET /v1/connectors' }], 'connection');
    const connector = this.o.registry.latest(name);
    if (!connector) throw invalid([{ path: '/connector', message: `"${name}" is not an installed connector; see GET /v1/connectors` }], 'connection');
    if (connector.manifest.auth.type === 'oauth2') {
      throw new HubError('oauth_link_required', `${connector.manifest.title} is linked through OAuth: POST /v1/connections/authorize {"connector": "${name}"} and follow the returned URL.`, { status: 400 });
    }
    checkKeys(input, ['connector', 'config', 'credentials', 'description']);
    const config = objectField(input, 'config');
    const credentials = objectField(input, 'credentials');
    const problems = [...this.checkConfig(connector, config), ...this.checkCredentials(connector, credentials)];
    if (problems.length === 0) problems.push(...(await this.checkUrls(connector, config)));
    if (problems.length > 0) throw invalid(problems, 'connection');
    const record = newConnection(tenantId, connector, this.split(connector, config, credentials), {
      metadata: {},
      tokenExpiresAt: null,
      description: typeof input['description'] === 'string' ? input['description'] : null,
    });
    await this.o.store.insertConnection(record);
    return record;
  }

  /** Throws a 400 naming each problem when `config` does not fit the connector's settings schema. */
  assertValidConfig(connector: LoadedConnector, config: Record<string, unknown>): void {
    if (config === null || typeof config !== 'object' || Array.isArray(config)) throw invalid([{ path: '/config', message: 'must be an object' }], 'connection');
    const problems = this.checkConfig(connector, config);
    if (problems.length > 0) throw invalid(problems, 'connection');
  }

  /** A new connection from a finished OAuth authorization. */
  async createOAuth(tenantId: string, connector: LoadedConnector, config: Record<string, unknown>, token: TokenResponse, metadata: Record<string, unknown>, description: string | null): Promise<ConnectionRecord> {
    const credentials = credentialsFrom(token);
    const record = newConnection(tenantId, connector, this.split(connector, config, credentials), { metadata, tokenExpiresAt: expiresAt(credentials), description });
    await this.o.store.insertConnection(record);
    return record;
  }

  /** New tokens for an existing connection (linked again): it becomes active and keeps its settings unless new ones are given. */
  async relinkOAuth(tenantId: string, id: string, token: TokenResponse, metadata: Record<string, unknown>, config: Record<string, unknown>): Promise<ConnectionRecord> {
    const current = await this.get(tenantId, id);
    const connector = this.pinned(current);
    if (!connector) throw new HubError('connector_not_installed', this.missingMessage(current), { status: 409 });
    const merged = { ...this.fullConfig(current, this.open(current)), ...config };
    const credentials = credentialsFrom(token);
    const updated = await this.o.store.updateConnection(tenantId, id, {
      ...this.split(connector, merged, credentials),
      metadata: { ...current.metadata, ...metadata },
      status: 'active',
      tokenExpiresAt: expiresAt(credentials),
      lastError: null,
    });
    if (!updated) throw new NotFoundError('connection', id);
    this.cache.clear();
    return updated;
  }

  /** Stores refreshed OAuth credentials (a rotated refresh token included) before anyone uses them. */
  async saveCredentials(record: ConnectionRecord, credentials: Record<string, unknown>): Promise<ConnectionRecord> {
    const connector = this.pinned(record) ?? this.o.registry.latest(record.connector);
    if (!connector) throw new HubError('connector_not_installed', this.missingMessage(record), { status: 409 });
    const updated = await this.o.store.updateConnection(record.tenantId, record.id, {
      ...this.split(connector, this.fullConfig(record, this.open(record)), credentials),
      tokenExpiresAt: expiresAt(credentials),
    });
    this.cache.clear();
    return updated ?? record;
  }

  async markNeedsReauth(record: ConnectionRecord, reason: string): Promise<void> {
    await this.o.store.updateConnection(record.tenantId, record.id, { status: 'needs_reauth', lastError: reason });
    this.cache.clear();
  }

  /** The link as stored now, secrets opened, bypassing the read cache. */
  async reload(id: string): Promise<LoadedConnection | null> {
    const record = await this.o.store.loadConnection(id);
    return record ? this.unseal(record) : null;
  }

  async get(tenantId: string, id: string): Promise<ConnectionRecord> {
    const record = await this.o.store.getConnection(tenantId, id);
    if (!record) throw new NotFoundError('connection', id);
    return record;
  }

  list(tenantId: string, page: PageRequest): Promise<Page<ConnectionRecord>> {
    return this.o.store.listConnections(tenantId, page);
  }

  /**
   * Changes settings, credentials or the description. Config keys not given keep
   * their values (secrets included); `upgrade: true` moves the link to the
   * newest major version of its connector.
   */
  async update(tenantId: string, id: string, input: Record<string, unknown>): Promise<ConnectionRecord> {
    checkKeys(input, ['config', 'credentials', 'description', 'upgrade']);
    const current = await this.get(tenantId, id);
    const upgrade = input['upgrade'] === true;
    const connector = upgrade ? this.o.registry.latest(current.connector) : this.pinned(current);
    if (!connector) throw new HubError('connector_not_installed', this.missingMessage(current), { status: 409 });
    const secrets = this.open(current);
    const config = { ...this.fullConfig(current, secrets), ...objectField(input, 'config') };
    const credentials = input['credentials'] === undefined ? secrets.credentials : objectField(input, 'credentials');
    const problems = [...this.checkConfig(connector, config), ...(input['credentials'] === undefined ? [] : this.checkCredentials(connector, credentials))];
    if (problems.length === 0) problems.push(...(await this.checkUrls(connector, config)));
    if (problems.length > 0) throw invalid(problems, 'connection');
    const updated = await this.o.store.updateConnection(tenantId, id, {
      ...this.split(connector, config, credentials),
      connectorVersion: upgrade ? connector.manifest.version : current.connectorVersion,
      ...(typeof input['description'] === 'string' ? { description: input['description'] } : {}),
      ...(input['credentials'] !== undefined && current.status === 'needs_reauth' ? { status: 'active' as const } : {}),
    });
    if (!updated) throw new NotFoundError('connection', id);
    this.cache.clear();
    return updated;
  }

  async remove(tenantId: string, id: string): Promise<void> {
    await this.get(tenantId, id);
    const integrations = await this.o.store.findIntegrationsOf(tenantId, id);
    if (integrations.length > 0) {
      throw new HubError('connection_in_use', `The connection is used by ${integrations.length} integration(s); delete them first (DELETE /v1/integrations/:id).`, {
        status: 409,
        details: { integrationIds: integrations.map((i) => i.id) },
      });
    }
    await this.o.store.deleteConnection(tenantId, id);
    this.cache.clear();
  }

  /** Runs the connector's health check with the link's credentials and records the result. */
  async check(tenantId: string, id: string): Promise<CheckResult> {
    const loaded = await this.unseal(await this.get(tenantId, id));
    if (!loaded.connector) throw new HubError('connector_not_installed', this.missingMessage(loaded.record), { status: 409 });
    const spec = loaded.connector.healthCheck;
    if (!spec) throw new HubError('health_check_not_declared', `Connector ${loaded.record.connector} declares no health_check.`, { status: 409 });
    let context: ConnectionContext;
    try {
      context = await this.contextFor(loaded);
    } catch (err) {
      const error = errorMessage(err);
      await this.o.store.updateConnection(tenantId, id, { lastCheckAt: new Date(), lastCheckOk: false, lastError: error });
      return { ok: false, status: null, durationMs: 0, error };
    }
    const result = await this.o.runtime.check(loaded.connector, context, spec, this.o.transport);
    await this.o.store.updateConnection(tenantId, id, { lastCheckAt: new Date(), lastCheckOk: result.ok, lastError: result.error });
    return result;
  }

  /** For the delivery worker: the link with its secrets opened and its pinned connector. */
  load(id: string): Promise<LoadedConnection | null> {
    return this.cache.get(id, async () => {
      const record = await this.o.store.loadConnection(id);
      return record ? this.unseal(record) : null;
    });
  }

  invalidate(): void {
    this.cache.clear();
  }

  pinned(record: ConnectionRecord): LoadedConnector | null {
    return this.o.registry.resolve(record.connector, Number(record.connectorVersion.split('.')[0]));
  }

  missingMessage(record: ConnectionRecord): string {
    const major = record.connectorVersion.split('.')[0] ?? '?';
    const majors = this.o.registry.majors(record.connector);
    return majors.length === 0
      ? `Connector ${record.connector} is not installed on this hub.`
      : `The connection is pinned to ${record.connector} ${major}.x, which is no longer installed (installed: ${majors.map((m) => `${m}.x`).join(', ')}); PATCH /v1/connections/${record.id} {"upgrade": true} to move it to the newest version.`;
  }

  async unseal(record: ConnectionRecord): Promise<LoadedConnection> {
    const secrets = this.open(record);
    const secretValues: string[] = [];
    for (const s of secrets.secretConfig) if (typeof s.value === 'string') secretValues.push(s.value);
    return {
      record,
      connector: this.pinned(record),
      context: { connectionId: record.id, config: this.fullConfig(record, secrets), credentials: secrets.credentials, metadata: record.metadata, secretValues },
    };
  }

  private open(record: ConnectionRecord): Secrets {
    if (record.secretsSealed === null) return { credentials: {}, secretConfig: [] };
    return JSON.parse(this.o.secretBox.open(record.secretsSealed)) as Secrets;
  }

  private fullConfig(record: ConnectionRecord, secrets: Secrets): Record<string, unknown> {
    const config = structuredClone(record.config);
    for (const { path, value } of secrets.secretConfig) setPath(config, path, value);
    return config;
  }

  /** Public config, and the secrets (credentials and secret config fields) sealed together. */
  private split(connector: LoadedConnector, config: Record<string, unknown>, credentials: Record<string, unknown>): Pick<ConnectionRecord, 'config' | 'secretsSealed'> {
    const publicConfig = structuredClone(config);
    const secretConfig: Secrets['secretConfig'] = [];
    for (const path of connector.secretPaths) {
      const value = takePath(publicConfig, path);
      if (value !== undefined) secretConfig.push({ path, value });
    }
    const empty = secretConfig.length === 0 && Object.keys(credentials).length === 0;
    return { config: publicConfig, secretsSealed: empty ? null : this.o.secretBox.seal(JSON.stringify({ credentials, secretConfig } satisfies Secrets)) };
  }

  private checkConfig(connector: LoadedConnector, config: Record<string, unknown>): ValidationProblem[] {
    const validate = connector.configValidator;
    if (!validate) return Object.keys(config).length === 0 ? [] : [{ path: '/config', message: `connector ${connector.manifest.name} takes no settings` }];
    return validate(config) ? [] : describeErrors(validate.errors, '/config');
  }

  /**
   * The settings the connector declares as URLs (`format: uri`), e.g. webhook-custom's url: the
   * rules of subscription endpoints, so that a URL the sender would refuse is refused when linked
   * instead of dead-lettering every event later. Runs on settings that passed the schema.
   */
  private async checkUrls(connector: LoadedConnector, config: Record<string, unknown>): Promise<ValidationProblem[]> {
    const secret = connector.secretPaths.map((p) => `config.${p.join('.')}`);
    const rules = {
      requireHttps: this.o.production,
      allowPrivateNetworks: this.o.allowPrivateNetworks ?? false,
      credentialsHint:
        secret.length > 0
          ? `put them in ${secret.join(', ')} instead, which ${secret.length > 1 ? 'are' : 'is'} stored encrypted and never shown (see GET /v1/connectors/${connector.manifest.name})`
          : `connector ${connector.manifest.name} takes no credentials in its settings`,
    };
    const problems: ValidationProblem[] = [];
    for (const path of uriPaths(connector.manifest.config)) {
      const value = valueAt(config, path);
      if (typeof value !== 'string') continue;
      const problem = await urlProblem(value, rules);
      if (problem !== null) problems.push({ path: `/config/${path.join('/')}`, message: problem });
    }
    return problems;
  }

  private checkCredentials(connector: LoadedConnector, credentials: Record<string, unknown>): ValidationProblem[] {
    const auth = connector.manifest.auth;
    const fields = CREDENTIAL_FIELDS[auth.type] ?? [];
    const problems: ValidationProblem[] = [];
    for (const key of Object.keys(credentials)) {
      if (!fields.includes(key)) problems.push({ path: `/credentials/${key}`, message: fields.length === 0 ? `connector ${connector.manifest.name} takes no credentials` : `is not a credential of ${auth.type} auth (expected: ${fields.join(', ')})` });
    }
    for (const field of fields) {
      const value = credentials[field];
      if (typeof value !== 'string' || value === '') problems.push({ path: `/credentials/${field}`, message: `is required by ${auth.type} auth` });
    }
    const url = credentials['webhook_url'];
    if (auth.type === 'webhook_url' && typeof url === 'string' && url !== '') {
      let parsed: URL | null = null;
      try {
        parsed = new URL(url);
      } catch {
        problems.push({ path: '/credentials/webhook_url', message: 'is not a valid URL' });
      }
      if (parsed && this.o.production) {
        if (parsed.protocol !== 'https:') problems.push({ path: '/credentials/webhook_url', message: 'must use https' });
        if (connector.urlPattern && !connector.urlPattern.test(url)) {
          problems.push({ path: '/credentials/webhook_url', message: `does not look like a ${connector.manifest.title} webhook URL (expected to match ${connector.urlPattern.source})` });
        }
      }
    }
    return problems;
  }
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

function expiresAt(credentials: Record<string, unknown>): Date | null {
  return typeof credentials['expires_at'] === 'string' ? new Date(credentials['expires_at']) : null;
}


function checkKeys(input: Record<string, unknown>, allowed: string[]): void {
  const extra = Object.keys(input).filter((k) => !allowed.includes(k));
  if (extra.length > 0) throw invalid(extra.map((k) => ({ path: `/${k}`, message: `is not an allowed property (allowed: ${allowed.join(', ')})` })), 'connection');
}

function objectField(input: Record<string, unknown>, name: string): Record<string, unknown> {
  const value = input[name];
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid([{ path: `/${name}`, message: 'must be an object' }], 'connection');
  return value as Record<string, unknown>;
}

function takePath(target: Record<string, unknown>, path: string[]): unknown {
  let node: unknown = target;
  for (const key of path.slice(0, -1)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  const last = path[path.length - 1];
  if (last === undefined || node === null || typeof node !== 'object' || !Object.hasOwn(node, last)) return undefined;
  const value = (node as Record<string, unknown>)[last];
  delete (node as Record<string, unknown>)[last];
  return value;
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === null || typeof next !== 'object') node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  const last = path[path.length - 1];
  if (last !== undefined) node[last] = value;
}

/** Paths of the properties a settings schema declares as URLs (`format: uri`), nested objects included. */
function uriPaths(schema: Record<string, unknown> | undefined, prefix: string[] = []): string[][] {
  const props = schema?.['properties'];
  if (props === null || typeof props !== 'object') return [];
  const out: string[][] = [];
  for (const [name, prop] of Object.entries(props as Record<string, unknown>)) {
    if (prop === null || typeof prop !== 'object') continue;
    if ((prop as Record<string, unknown>)['format'] === 'uri') out.push([...prefix, name]);
    out.push(...uriPaths(prop as Record<string, unknown>, [...prefix, name]));
  }
  return out;
}

function valueAt(target: Record<string, unknown>, path: string[]): unknown {
  let node: unknown = target;
  for (const key of path) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}
