import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../src/config/config';
import { sha256Hex } from '../../src/core/ids';
import { createLogger, silentLogger } from '../../src/core/logger';
import type { Logger } from '../../src/core/logger';
import { Hub } from '../../src/hub';
import { receiverPool, waitUntil } from './receiver';
import type { ReceiverPool } from './receiver';
import { AMQP_URL, deleteTopology, dropDatabase, mongoUrlFor, uniqueName } from './services';

export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

export interface TestHub {
  hub: Hub;
  apiKey: string;
  prefix: string;
  database: string;
  env: Record<string, string>;
  api<T = Record<string, unknown>>(method: string, path: string, body?: unknown, apiKey?: string): Promise<ApiResponse<T>>;
  /** Creates an API key for another tenant. */
  keyForTenant(tenantId: string): Promise<string>;
  stop(): Promise<void>;
  /** Stops the hub and removes its queues and database. */
  destroy(): Promise<void>;
}

export interface TestHubOptions {
  mode?: 'services' | 'embedded';
  env?: Record<string, string>;
  /** Reuse the queues and database of an earlier hub (restart scenarios). */
  reuse?: { prefix: string; database: string; encryptionKey: string };
  /** Another MongoDB-protocol server than the shared one (outage tests). */
  mongoBase?: string;
  /** The hub's logger (default: silent, or debug to stdout with HOOKHUB_TEST_LOGS set). */
  logger?: Logger;
}

/** What one test hub's processes share: the environment (queue prefix, database, API key, encryption key) and its names. */
export interface TestHubSettings {
  env: Record<string, string>;
  apiKey: string;
  prefix: string;
  database: string;
}

/** The environment of a test hub, with a queue prefix and a database of its own, for a hub in this process or in processes of its own. */
export function testHubSettings(options: Pick<TestHubOptions, 'mode' | 'env' | 'reuse' | 'mongoBase'> = {}): TestHubSettings {
  const mode = options.mode ?? 'services';
  const prefix = options.reuse?.prefix ?? uniqueName('hhtest');
  const database = options.reuse?.database ?? uniqueName('hhtest');
  const apiKey = `hh_test_${randomBytes(12).toString('hex')}`;
  const env: Record<string, string> = {
    PORT: '0',
    HOST: '127.0.0.1',
    HOOKHUB_API_KEY: apiKey,
    HOOKHUB_ALLOW_PRIVATE_NETWORKS: 'true',
    HOOKHUB_QUEUE_PREFIX: prefix,
    // Four ordered shards instead of sixteen: fewer quorum queues per test hub on a shared broker.
    HOOKHUB_ORDERED_SHARDS: '4',
    LOG_LEVEL: 'silent',
    ...(mode === 'services'
      ? {
          AMQP_URL,
          MONGODB_URL: options.mongoBase ? `${options.mongoBase}/${database}` : mongoUrlFor(database),
          HOOKHUB_ENCRYPTION_KEY: options.reuse?.encryptionKey ?? randomBytes(32).toString('base64'),
        }
      : {}),
    ...options.env,
  };
  return { env, apiKey, prefix, database };
}

/** Calls a hub's API at `baseUrl` with an API key (JSON in, JSON out). */
export function apiClient(baseUrl: () => string, apiKey: string): TestHub['api'] {
  return async <T,>(method: string, path: string, body?: unknown, key: string = apiKey): Promise<ApiResponse<T>> => {
    const init: RequestInit = { method, headers: { authorization: `Bearer ${key}` } };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] = 'application/json';
    }
    const response = await fetch(`${baseUrl()}${path}`, init);
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : {}) as T, headers: response.headers };
  };
}

export async function startTestHub(options: TestHubOptions = {}): Promise<TestHub> {
  const mode = options.mode ?? 'services';
  const { env, apiKey, prefix, database } = testHubSettings(options);
  const logger = options.logger ?? (process.env['HOOKHUB_TEST_LOGS'] ? createLogger({ level: 'debug' }) : silentLogger);
  const hub = new Hub(loadConfig(env), { logger });
  await hub.start();
  const api = apiClient(() => hub.url, apiKey);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await hub.stop();
  };
  return {
    hub,
    apiKey,
    prefix,
    database,
    env,
    api,
    async keyForTenant(tenantId) {
      const key = `hh_${tenantId}_${randomBytes(12).toString('hex')}`;
      await hub.store.upsertApiKey({ hash: sha256Hex(key), tenantId, name: 'test', createdAt: new Date() });
      return key;
    },
    stop,
    async destroy() {
      await stop();
      if (mode === 'services') {
        await deleteTopology(prefix);
        if (!options.reuse) await dropDatabase(database, options.mongoBase);
      }
    },
  };
}

/** A valid business.created envelope body (without id/version/timestamp unless given). */
export function businessCreated(overrides: Record<string, unknown> = {}, data: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'business.created',
    data: {
      id: `biz_${randomBytes(4).toString('hex')}`,
      name: 'Blue Door Bistro',
      category: 'restaurant',
      address: { street: '1 Main St', city: 'Austin', state: 'TX', zip: '78701', coordinates: { lat: 30.26, lng: -97.74 } },
      contact: { phone: '+1-512-555-0100', email: 'hello@bluedoor.example', website: 'https://bluedoor.example' },
      status: 'active',
      created_at: '2026-11-01T10:00:00Z',
      ...data,
    },
    ...overrides,
  };
}

export type TenantApi = (method: string, path: string, body?: unknown) => Promise<ApiResponse<Record<string, unknown>>>;

/**
 * One hub for a whole test file (started before its tests, destroyed after them), receivers
 * started through `receiver` and closed after the tests, and `tenant()` for a tenant of its own.
 */
export function hubPerFile(options: TestHubOptions = {}): { readonly th: TestHub; receiver: ReceiverPool['start']; tenant(): Promise<TenantApi> } {
  let th: TestHub | undefined;
  const receivers = receiverPool();
  beforeAll(async () => {
    th = await startTestHub(options);
  });
  afterAll(async () => {
    await receivers.closeAll();
    await th?.destroy();
  });
  const started = (): TestHub => {
    if (!th) throw new Error('hubPerFile: the hub is used before beforeAll started it');
    return th;
  };
  return {
    get th() {
      return started();
    },
    receiver: receivers.start,
    tenant: () => tenantApi(started()),
  };
}

/** The API as a new tenant of its own sees it: each test in its own tenant sees only what it made. */
export async function tenantApi(th: TestHub): Promise<TenantApi> {
  const key = await th.keyForTenant(`t${randomBytes(4).toString('hex')}`);
  return (method, path, body) => th.api<Record<string, unknown>>(method, path, body, key);
}

/** Waits until a subscription (or integration) has at least `count` delivery attempts; newest first. */
export async function waitForAttempts(api: TenantApi, subscriptionId: string, count: number, timeoutMs = 20_000): Promise<Array<Record<string, unknown>>> {
  let attempts: Array<Record<string, unknown>> = [];
  await waitUntil(
    async () => {
      attempts = (await api('GET', `/v1/deliveries?subscriptionId=${subscriptionId}&limit=100`)).body['data'] as Array<Record<string, unknown>>;
      return attempts.length >= count;
    },
    timeoutMs,
    () => `expected ${count} attempts, got ${JSON.stringify(attempts)}`,
  );
  return attempts;
}
