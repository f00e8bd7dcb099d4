import { HubError } from '../core/errors';
import type { SecretBox } from '../core/secret-box';
import { SingleFlightCache } from '../core/single-flight-cache';
import type { LoadedConnector } from '../connectors/loader';
import type { ConnectorRegistry } from '../connectors/registry';
import type { CredentialStore, LoadedConnection } from './credential-store';
import type { ConnectionRecord, RefreshBackoff } from './model';
import type { ConnectionRepository } from './ports';

export interface ConnectionVaultOptions {
  store: Pick<ConnectionRepository, 'loadConnection' | 'updateConnection' | 'noteRefreshFailure' | 'clearRefreshFailures'>;
  secretBox: SecretBox;
  registry: ConnectorRegistry;
}

/** What a connection keeps sealed: its credentials and the settings its connector marks secret. */
interface Secrets {
  credentials: Record<string, unknown>;
  secretConfig: Array<{ path: string[]; value: unknown }>;
}

/**
 * Connections with their secrets: sealed when written, opened when read, and a
 * short read cache for the delivery worker that every write clears. The token
 * manager's credential store.
 */
export class ConnectionVault implements CredentialStore {
  private readonly cache = new SingleFlightCache<LoadedConnection | null>(2000);

  constructor(private readonly options: ConnectionVaultOptions) {}

  /** For the delivery worker: the link with its secrets opened and its pinned connector, cached briefly. */
  load(id: string): Promise<LoadedConnection | null> {
    return this.cache.get(id, () => this.reload(id));
  }

  async reload(id: string): Promise<LoadedConnection | null> {
    const record = await this.options.store.loadConnection(id);
    return record ? this.unseal(record) : null;
  }

  async save(record: ConnectionRecord, credentials: Record<string, unknown>): Promise<ConnectionRecord> {
    const connector = this.pinned(record) ?? this.options.registry.latest(record.connector);
    if (!connector) throw new HubError('connector_not_installed', this.missingMessage(record), { status: 409 });
    const updated = await this.options.store.updateConnection(record.tenantId, record.id, {
      ...this.seal(connector, this.settings(record), credentials),
      tokenExpiresAt: expiresAt(credentials),
    });
    this.invalidate();
    return updated ?? record;
  }

  async markNeedsReauth(record: ConnectionRecord, reason: string): Promise<void> {
    await this.options.store.updateConnection(record.tenantId, record.id, { status: 'needs_reauth', lastError: reason });
    this.invalidate();
  }

  async noteRefreshFailure(record: ConnectionRecord, failure: { reason: string; at: Date; firstWaitMs: number; maxWaitMs: number }): Promise<RefreshBackoff | null> {
    const backoff = await this.options.store.noteRefreshFailure(record.id, failure);
    this.invalidate();
    return backoff;
  }

  async clearRefreshFailures(record: ConnectionRecord): Promise<void> {
    await this.options.store.clearRefreshFailures(record.id);
    this.invalidate();
  }

  /** The API said the link is dead; false when it was marked broken already (by another delivery). */
  async markBroken(record: ConnectionRecord, reason: string): Promise<boolean> {
    const current = await this.options.store.loadConnection(record.id);
    if (!current || current.status === 'broken') return false;
    await this.options.store.updateConnection(record.tenantId, record.id, { status: 'broken', lastError: reason });
    this.invalidate();
    return true;
  }

  invalidate(): void {
    this.cache.clear();
  }

  unseal(record: ConnectionRecord): LoadedConnection {
    const secrets = this.open(record);
    const secretValues: string[] = [];
    for (const s of secrets.secretConfig) if (typeof s.value === 'string') secretValues.push(s.value);
    return {
      record,
      connector: this.pinned(record),
      context: { connectionId: record.id, config: withSecrets(record, secrets), credentials: secrets.credentials, metadata: record.metadata, secretValues },
    };
  }

  /** The stored credentials of a link (empty when it has none). */
  credentials(record: ConnectionRecord): Record<string, unknown> {
    return this.open(record).credentials;
  }

  /** Every setting of a link, the secret ones opened. */
  settings(record: ConnectionRecord): Record<string, unknown> {
    return withSecrets(record, this.open(record));
  }

  /** Public settings, and the secrets (credentials and the settings the connector marks secret) sealed together. */
  seal(connector: LoadedConnector, config: Record<string, unknown>, credentials: Record<string, unknown>): Pick<ConnectionRecord, 'config' | 'secretsSealed'> {
    const publicConfig = structuredClone(config);
    const secretConfig: Secrets['secretConfig'] = [];
    for (const path of connector.secretPaths) {
      const value = takePath(publicConfig, path);
      if (value !== undefined) secretConfig.push({ path, value });
    }
    const empty = secretConfig.length === 0 && Object.keys(credentials).length === 0;
    return { config: publicConfig, secretsSealed: empty ? null : this.options.secretBox.seal(JSON.stringify({ credentials, secretConfig } satisfies Secrets)) };
  }

  /** The installed connector of the link's pinned major version; null when none is installed. */
  pinned(record: ConnectionRecord): LoadedConnector | null {
    return this.options.registry.resolve(record.connector, Number(record.connectorVersion.split('.')[0]));
  }

  /** Why a link's connector cannot be used, and what to do about it. */
  missingMessage(record: ConnectionRecord): string {
    const major = record.connectorVersion.split('.')[0] ?? '?';
    const majors = this.options.registry.majors(record.connector);
    return majors.length === 0
      ? `Connector ${record.connector} is not installed on this hub.`
      : `The connection is pinned to ${record.connector} ${major}.x, which is no longer installed (installed: ${majors.map((m) => `${m}.x`).join(', ')}); PATCH /v1/connections/${record.id} {"upgrade": true} to move it to the newest version.`;
  }

  private open(record: ConnectionRecord): Secrets {
    if (record.secretsSealed === null) return { credentials: {}, secretConfig: [] };
    return JSON.parse(this.options.secretBox.open(record.secretsSealed)) as Secrets;
  }
}

/** When the access token of these credentials expires (null: unknown, or not OAuth). */
export function expiresAt(credentials: Record<string, unknown>): Date | null {
  return typeof credentials['expires_at'] === 'string' ? new Date(credentials['expires_at']) : null;
}

function withSecrets(record: ConnectionRecord, secrets: Secrets): Record<string, unknown> {
  const config = structuredClone(record.config);
  for (const { path, value } of secrets.secretConfig) setPath(config, path, value);
  return config;
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
