import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_CONNECTORS_DIR } from '../../src/config/config';
import { ManualClock } from '../../src/core/clock';
import { silentLogger } from '../../src/core/logger';
import { ConnectorRegistry } from '../../src/connectors/registry';
import type { LoadedConnector } from '../../src/connectors/loader';
import type { CredentialStore, LoadedConnection } from '../../src/integrations/credential-store';
import type { ConnectionRecord } from '../../src/integrations/model';
import type { Leases } from '../../src/integrations/ports';
import { NeedsReauthError, REFRESH_AHEAD_MS, TokenManager } from '../../src/integrations/token-manager';

/** Connections kept in memory: what a refresh reads and writes, nothing sealed. */
class MemoryCredentials implements CredentialStore {
  readonly connections = new Map<string, LoadedConnection>();

  async reload(id: string): Promise<LoadedConnection | null> {
    const loaded = this.connections.get(id);
    return loaded ? copy(loaded) : null;
  }

  async save(record: ConnectionRecord, credentials: Record<string, unknown>): Promise<ConnectionRecord> {
    const loaded = this.connections.get(record.id);
    if (loaded) loaded.context.credentials = { ...credentials };
    return record;
  }

  async markNeedsReauth(record: ConnectionRecord, reason: string): Promise<void> {
    const loaded = this.connections.get(record.id);
    if (loaded) loaded.record = { ...loaded.record, status: 'needs_reauth', lastError: reason };
  }
}

/** A copy that shares only the (immutable) connector. */
function copy(loaded: LoadedConnection): LoadedConnection {
  return { record: { ...loaded.record }, connector: loaded.connector, context: structuredClone(loaded.context) };
}

class MemoryLeases implements Leases {
  private readonly held = new Map<string, string>();

  async acquireLease(name: string, owner: string): Promise<boolean> {
    if (this.held.has(name)) return false;
    this.held.set(name, owner);
    return true;
  }

  async releaseLease(name: string, owner: string): Promise<void> {
    if (this.held.get(name) === owner) this.held.delete(name);
  }
}

/** A token endpoint on 127.0.0.1: issues a new access token per refresh, or refuses the grant. */
interface TokenEndpoint {
  url: string;
  refreshes: number;
  refuse: boolean;
  close(): Promise<void>;
}

async function tokenEndpoint(): Promise<TokenEndpoint> {
  const endpoint = { url: '', refreshes: 0, refuse: false, close: (): Promise<void> => Promise.resolve() };
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (endpoint.refuse) {
        res.statusCode = 400;
        res.end(JSON.stringify({ error: 'invalid_grant', error_description: 'the refresh token was revoked' }));
        return;
      }
      endpoint.refreshes++;
      res.end(JSON.stringify({ access_token: `access-${endpoint.refreshes}`, refresh_token: `refresh-${endpoint.refreshes}`, expires_in: 3600, token_type: 'Bearer' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
  endpoint.close = () => new Promise((resolve) => server.close(() => resolve()));
  return endpoint;
}

describe('TokenManager', () => {
  let endpoint: TokenEndpoint;
  let hubspot: LoadedConnector;

  beforeAll(async () => {
    endpoint = await tokenEndpoint();
    const registry = new ConnectorRegistry({ dir: DEFAULT_CONNECTORS_DIR, logger: silentLogger });
    registry.load();
    const found = registry.latest('hubspot');
    if (!found) throw new Error('the hubspot connector is not installed');
    hubspot = found;
  });
  afterAll(() => endpoint.close());
  beforeEach(() => {
    endpoint.refreshes = 0;
    endpoint.refuse = false;
  });

  function setup(): { clock: ManualClock; credentials: MemoryCredentials; tokens: TokenManager; lost: Array<{ connectionId: string; reason: string }>; loaded: LoadedConnection } {
    const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
    const credentials = new MemoryCredentials();
    const lost: Array<{ connectionId: string; reason: string }> = [];
    const env = { HOOKHUB_HUBSPOT_CLIENT_ID: 'client', HOOKHUB_HUBSPOT_CLIENT_SECRET: 'secret', HOOKHUB_HUBSPOT_TOKEN_URL: endpoint.url };
    const tokens = new TokenManager({
      credentials,
      leases: new MemoryLeases(),
      apps: { connectorEnv: env, connectorVariable: () => undefined },
      onGrantLost: async (connection, reason) => {
        lost.push({ connectionId: connection.id, reason });
      },
      clock,
      logger: silentLogger,
    });
    const now = new Date(clock.now());
    const record: ConnectionRecord = {
      id: 'con_1',
      tenantId: 't1',
      connector: 'hubspot',
      connectorVersion: hubspot.manifest.version,
      config: {},
      secretsSealed: null,
      metadata: {},
      status: 'active',
      tokenExpiresAt: null,
      description: null,
      lastCheckAt: null,
      lastCheckOk: null,
      lastError: null,
      createdAt: now,
      updatedAt: now,
    };
    const expiresAt = new Date(clock.now() + 3600_000).toISOString();
    const loaded: LoadedConnection = {
      record,
      connector: hubspot,
      context: { connectionId: record.id, config: {}, credentials: { access_token: 'access-0', refresh_token: 'refresh-0', expires_at: expiresAt }, metadata: {} },
    };
    credentials.connections.set(record.id, copy(loaded));
    return { clock, credentials, tokens, lost, loaded };
  }

  it('uses the token while it has time left and refreshes it ahead of expiry, on the clock it is given', async () => {
    const { clock, credentials, tokens, loaded } = setup();
    expect((await tokens.fresh(loaded))['access_token']).toBe('access-0');
    // Just outside the refresh-ahead window: still good.
    clock.advance(3600_000 - REFRESH_AHEAD_MS - 1000);
    expect((await tokens.fresh(loaded))['access_token']).toBe('access-0');
    expect(endpoint.refreshes).toBe(0);
    // Inside it: refreshed once, however many ask at the same time, and stored before use.
    clock.advance(2000);
    const results = await Promise.all([tokens.fresh(loaded), tokens.fresh(loaded), tokens.fresh(loaded)]);
    expect(results.map((c) => c['access_token'])).toEqual(['access-1', 'access-1', 'access-1']);
    expect(endpoint.refreshes).toBe(1);
    const stored = (await credentials.reload('con_1'))?.context.credentials;
    expect(stored).toMatchObject({ access_token: 'access-1', refresh_token: 'refresh-1', expires_at: new Date(clock.now() + 3600_000).toISOString() });
  });

  it('marks the connection needs_reauth and calls onGrantLost once when the refresh token is refused', async () => {
    const { credentials, tokens, lost, loaded } = setup();
    endpoint.refuse = true;
    await expect(tokens.fresh(loaded, { force: true })).rejects.toThrow(NeedsReauthError);
    expect(lost).toEqual([{ connectionId: 'con_1', reason: expect.stringContaining('invalid_grant') }]);
    expect((await credentials.reload('con_1'))?.record).toMatchObject({ status: 'needs_reauth', lastError: expect.stringContaining('invalid_grant') });
    // Asked again, it refuses from the stored status without calling the provider or reporting twice.
    await expect(tokens.fresh(loaded, { force: true })).rejects.toThrow(NeedsReauthError);
    expect(lost).toHaveLength(1);
    expect(endpoint.refreshes).toBe(0);
  });
});
