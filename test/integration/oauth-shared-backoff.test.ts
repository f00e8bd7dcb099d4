import http from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { DEFAULT_CONNECTORS_DIR } from '../../src/config/config';
import { ManualClock } from '../../src/core/clock';
import { silentLogger } from '../../src/core/logger';
import { SecretBox } from '../../src/core/secret-box';
import { newId } from '../../src/core/ids';
import { ConnectorRegistry } from '../../src/connectors/registry';
import { ConnectionVault } from '../../src/integrations/connection-vault';
import { BACKOFF_FIRST_MS, TokenManager, TokenUnavailableError } from '../../src/integrations/token-manager';
import { createMongoStore } from '../../src/store/mongo/mongo-store';
import type { MongoStore } from '../../src/store/mongo/mongo-store';
import { mongoUrlFor, uniqueName } from '../support/services';

/**
 * The refresh backoff is shared by every process: two hub processes (each its own store
 * connection, vault and token manager) over one FerretDB database, and a token endpoint on
 * 127.0.0.1 that answers 503. Whichever process fails a refresh, the other sees the backoff
 * with the connection and fails its deliveries transiently without asking the token endpoint.
 */
interface Endpoint {
  url: string;
  requests: number;
  down: boolean;
  close(): Promise<void>;
}

async function tokenEndpoint(): Promise<Endpoint> {
  const endpoint: Endpoint = { url: '', requests: 0, down: true, close: () => Promise.resolve() };
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      endpoint.requests++;
      if (endpoint.down) {
        res.writeHead(503, { 'content-type': 'text/plain' }).end('Service Unavailable');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: `access-${endpoint.requests}`, refresh_token: 'refresh-1', expires_in: 3600, token_type: 'Bearer' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
  endpoint.close = () => new Promise((resolve) => server.close(() => resolve()));
  return endpoint;
}

interface Process {
  store: MongoStore;
  vault: ConnectionVault;
  tokens: TokenManager;
}

const url = mongoUrlFor(uniqueName('hhbackoff'));
const clock = new ManualClock(Date.now());
const secretBox = new SecretBox([{ id: 'k1', key: randomBytes(32) }]);
let endpoint: Endpoint;
let registry: ConnectorRegistry;
let a: Process;
let b: Process;

async function startProcess(): Promise<Process> {
  const store = createMongoStore({ url });
  await store.connect();
  const vault = new ConnectionVault({ store, secretBox, registry });
  const apps = { connectorEnv: { HOOKHUB_HUBSPOT_CLIENT_ID: 'client', HOOKHUB_HUBSPOT_CLIENT_SECRET: 'secret', HOOKHUB_HUBSPOT_TOKEN_URL: endpoint.url }, connectorVariable: () => undefined };
  const tokens = new TokenManager({ credentials: vault, leases: store, apps, onGrantLost: async () => undefined, clock, logger: silentLogger });
  return { store, vault, tokens };
}

beforeAll(async () => {
  endpoint = await tokenEndpoint();
  registry = new ConnectorRegistry({ dir: DEFAULT_CONNECTORS_DIR, logger: silentLogger });
  registry.load();
  a = await startProcess();
  b = await startProcess();
});

afterAll(async () => {
  await a?.store.dropDatabase();
  await Promise.all([a?.store.close(), b?.store.close()]);
  await endpoint?.close();
});

/** A HubSpot connection whose access token expired a second ago. */
async function expiredConnection(): Promise<string> {
  const hubspot = registry.latest('hubspot');
  if (!hubspot) throw new Error('the hubspot connector is not installed');
  const now = new Date(clock.now());
  const id = newId('con');
  const credentials = { access_token: 'access-0', refresh_token: 'refresh-0', expires_at: new Date(clock.now() - 1000).toISOString() };
  await a.store.insertConnection({
    id, tenantId: 't1', connector: 'hubspot', connectorVersion: hubspot.manifest.version, ...a.vault.seal(hubspot, {}, credentials), metadata: {},
    status: 'active', tokenExpiresAt: null, description: null, lastCheckAt: null, lastCheckOk: null, lastError: null, createdAt: now, updatedAt: now,
  });
  return id;
}

/** `n` deliveries in each process at once, each with the connection as its process loaded it: what they got. */
async function deliveries(id: string, n: number): Promise<Array<PromiseSettledResult<Record<string, unknown>>>> {
  const calls = [a, b].flatMap((p) => Array.from({ length: n }, async () => p.tokens.fresh((await p.vault.load(id))!)));
  return Promise.allSettled(calls);
}

const reasons = (results: Array<PromiseSettledResult<unknown>>): unknown[] => results.map((r) => (r.status === 'rejected' ? r.reason : r.value));

describe('the OAuth refresh backoff across processes', () => {
  it('an outage of the token endpoint costs one request per backoff step, whichever process asks; once it is back both processes get the new token', async () => {
    const id = await expiredConnection();

    // Ten deliveries in each process: one refresh is tried, and every delivery fails transiently.
    const first = await deliveries(id, 10);
    for (const reason of reasons(first)) expect(reason).toBeInstanceOf(TokenUnavailableError);
    expect(endpoint.requests).toBe(1);
    expect((await b.store.loadConnection(id))?.refreshBackoff).toMatchObject({ failures: 1, retryAt: new Date(clock.now() + BACKOFF_FIRST_MS) });

    // Within the backoff, deliveries in either process (after their caches expire, too) ask nothing.
    a.vault.invalidate();
    b.vault.invalidate();
    const waiting = await deliveries(id, 10);
    for (const reason of reasons(waiting)) expect(String(reason)).toContain('could not be refreshed (http_503');
    expect(endpoint.requests).toBe(1);

    // The backoff over: one process tries again and fails; the other waits for it and backs off with it, for twice as long.
    clock.advance(BACKOFF_FIRST_MS);
    const second = await deliveries(id, 5);
    for (const reason of reasons(second)) expect(reason).toBeInstanceOf(TokenUnavailableError);
    expect(endpoint.requests).toBe(2);
    expect((await a.store.loadConnection(id))?.refreshBackoff).toMatchObject({ failures: 2, retryAt: new Date(clock.now() + 2 * BACKOFF_FIRST_MS) });
    clock.advance(2 * BACKOFF_FIRST_MS - 1);
    b.vault.invalidate();
    for (const reason of reasons(await deliveries(id, 5))) expect(reason).toBeInstanceOf(TokenUnavailableError);
    expect(endpoint.requests).toBe(2);

    // The endpoint is back: one refresh, whose token both processes use, and the backoff is forgotten.
    endpoint.down = false;
    clock.advance(1);
    const back = await deliveries(id, 5);
    const tokens = new Set(reasons(back).map((c) => (c as Record<string, unknown>)['access_token']));
    expect([...tokens]).toEqual(['access-3']);
    expect(endpoint.requests).toBe(3);
    expect((await a.store.loadConnection(id))?.refreshBackoff).toBeUndefined();
  });
});
