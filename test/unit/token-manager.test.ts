import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_CONNECTORS_DIR } from '../../src/config/config';
import { ManualClock } from '../../src/core/clock';
import { silentLogger } from '../../src/core/logger';
import { ConnectorRegistry } from '../../src/connectors/registry';
import type { LoadedConnector } from '../../src/connectors/loader';
import type { CredentialStore, LoadedConnection } from '../../src/integrations/credential-store';
import { backoffWait } from '../../src/integrations/model';
import type { ConnectionRecord, RefreshBackoff } from '../../src/integrations/model';
import type { Leases } from '../../src/integrations/ports';
import { BACKOFF_FIRST_MS, NeedsReauthError, REFRESH_AHEAD_MS, TokenManager, TokenUnavailableError } from '../../src/integrations/token-manager';

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

  async noteRefreshFailure(record: ConnectionRecord, failure: { reason: string; at: Date; firstWaitMs: number; maxWaitMs: number }): Promise<RefreshBackoff | null> {
    const loaded = this.connections.get(record.id);
    if (!loaded) return null;
    const failures = (loaded.record.refreshBackoff?.failures ?? 0) + 1;
    const refreshBackoff = { failures, retryAt: new Date(failure.at.getTime() + backoffWait(failures, failure.firstWaitMs, failure.maxWaitMs)), reason: failure.reason };
    loaded.record = { ...loaded.record, refreshBackoff };
    return refreshBackoff;
  }

  async clearRefreshFailures(record: ConnectionRecord): Promise<void> {
    const loaded = this.connections.get(record.id);
    if (loaded) delete loaded.record.refreshBackoff;
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
  /** Answered instead of a token while set (an outage, refused app credentials); counted in `requests`. */
  fault: { status: number; body: string } | null;
  requests: number;
  close(): Promise<void>;
}

async function tokenEndpoint(): Promise<TokenEndpoint> {
  const endpoint: TokenEndpoint = { url: '', refreshes: 0, refuse: false, fault: null, requests: 0, close: (): Promise<void> => Promise.resolve() };
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      endpoint.requests++;
      res.setHeader('content-type', 'application/json');
      if (endpoint.fault) {
        res.statusCode = endpoint.fault.status;
        res.end(endpoint.fault.body);
        return;
      }
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
    endpoint.fault = null;
    endpoint.requests = 0;
  });

  function setup(): { clock: ManualClock; credentials: MemoryCredentials; tokens: TokenManager; lost: Array<{ connectionId: string; reason: string }>; appFailed: string[]; loaded: LoadedConnection } {
    const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
    const credentials = new MemoryCredentials();
    const lost: Array<{ connectionId: string; reason: string }> = [];
    const appFailed: string[] = [];
    const env = { HOOKHUB_HUBSPOT_CLIENT_ID: 'client', HOOKHUB_HUBSPOT_CLIENT_SECRET: 'secret', HOOKHUB_HUBSPOT_TOKEN_URL: endpoint.url };
    const tokens = new TokenManager({
      credentials,
      leases: new MemoryLeases(),
      apps: { connectorEnv: env, connectorVariable: () => undefined },
      onGrantLost: async (connection, reason) => {
        lost.push({ connectionId: connection.id, reason });
      },
      onAppCredentialsFailed: async (connection, reason) => {
        appFailed.push(`${connection.id}: ${reason}`);
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
    return { clock, credentials, tokens, lost, appFailed, loaded };
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

  it('backs off refreshes of a connection while the token endpoint is down: one request, then 2 s, 4 s, ... on its clock; the still valid token is used meanwhile', async () => {
    const { clock, credentials, tokens, loaded } = setup();
    endpoint.fault = { status: 503, body: 'Service Unavailable' };
    // In the refresh-ahead window the token still works: used as it is, with no error, while refreshes back off.
    clock.advance(3600_000 - REFRESH_AHEAD_MS + 1000);
    expect((await tokens.fresh(loaded))['access_token']).toBe('access-0');
    expect((await tokens.fresh(loaded))['access_token']).toBe('access-0');
    expect(endpoint.requests).toBe(1);
    clock.advance(BACKOFF_FIRST_MS);
    expect((await tokens.fresh(loaded))['access_token']).toBe('access-0');
    expect(endpoint.requests).toBe(2);
    // Expired: every caller fails at once (a transient failure, retried by its delivery), with no new request.
    const expired: LoadedConnection = { ...loaded, context: { ...loaded.context, credentials: { ...loaded.context.credentials, expires_at: new Date(clock.now() - 1).toISOString() } } };
    for (let i = 0; i < 10; i++) await expect(tokens.fresh(expired)).rejects.toThrow(TokenUnavailableError);
    expect(endpoint.requests).toBe(2);
    // The wait doubled: 4 s after the second failure.
    clock.advance(BACKOFF_FIRST_MS * 2 - 1);
    await expect(tokens.fresh(expired)).rejects.toThrow(/could not be refreshed \(http_503/);
    expect(endpoint.requests).toBe(2);
    clock.advance(1);
    await expect(tokens.fresh(expired)).rejects.toThrow(TokenUnavailableError);
    expect(endpoint.requests).toBe(3);
    clock.advance(BACKOFF_FIRST_MS * 4);
    endpoint.fault = null;
    expect((await tokens.fresh(expired))['access_token']).toBe('access-1');
    expect(endpoint.requests).toBe(4);
    // Working again: the next failure starts from the first wait.
    endpoint.fault = { status: 503, body: '' };
    const current = (await credentials.reload('con_1'))!;
    await expect(tokens.fresh(current, { force: true })).rejects.toThrow(TokenUnavailableError);
    clock.advance(BACKOFF_FIRST_MS);
    await expect(tokens.fresh(current, { force: true })).rejects.toThrow(TokenUnavailableError);
    expect(endpoint.requests).toBe(6);
  });

  it('treats invalid_client as the hub\'s own credentials failing: the link is kept, reported once, and listed until a refresh works', async () => {
    const { clock, credentials, tokens, lost, appFailed, loaded } = setup();
    endpoint.fault = { status: 401, body: JSON.stringify({ error: 'invalid_client', error_description: 'bad secret' }) };
    await expect(tokens.fresh(loaded, { force: true })).rejects.toThrow(TokenUnavailableError);
    clock.advance(BACKOFF_FIRST_MS);
    await expect(tokens.fresh(loaded, { force: true })).rejects.toThrow(/invalid_client/);
    expect(lost).toEqual([]);
    expect((await credentials.reload('con_1'))?.record.status).toBe('active');
    expect(appFailed).toEqual(['con_1: invalid_client: bad secret']);
    expect(tokens.appCredentialProblems()).toEqual([{ connector: 'hubspot', reason: 'invalid_client: bad secret', since: expect.any(String), fix: expect.stringContaining('HOOKHUB_HUBSPOT_CLIENT_SECRET') }]);
    endpoint.fault = { status: 400, body: JSON.stringify({ error: 'unauthorized_client' }) };
    clock.advance(BACKOFF_FIRST_MS * 2);
    await expect(tokens.fresh(loaded, { force: true })).rejects.toThrow(/unauthorized_client/);
    expect((await credentials.reload('con_1'))?.record.status).toBe('active');
    endpoint.fault = null;
    clock.advance(BACKOFF_FIRST_MS * 4);
    expect((await tokens.fresh(loaded, { force: true }))['access_token']).toBe('access-1');
    expect(tokens.appCredentialProblems()).toEqual([]);
  });
});
