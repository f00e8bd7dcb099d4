import { createMemoryStore } from '../../src/store/memory/memory-store';
import { MemoryTables } from '../../src/store/memory/tables';
import { createMongoStore } from '../../src/store/mongo/mongo-store';
import type { Store } from '../../src/store/store';
import type { InvalidEventRecord } from '../../src/pipeline/model';
import type { IntegrationSubscription, WebhookSubscription } from '../../src/subscriptions/model';
import { newId } from '../../src/core/ids';
import { mongoUrlFor, uniqueName } from '../support/services';

/** A store under test, with what only a test needs. */
export interface StoreUnderTest {
  store: Store;
  /** The database URL (null in memory). */
  url: string | null;
  /** Removes everything the suite stored. */
  drop(): Promise<void>;
  /** Invalid events as parked: no port reads them back (they are for operators), so each adapter is looked into. */
  invalidEvent(id: string): Promise<InvalidEventRecord | null>;
}

/** Every adapter of the storage ports: each contract suite runs against all of them. */
export const adapters: Array<[string, () => StoreUnderTest]> = [
  [
    'memory',
    () => {
      const tables = new MemoryTables();
      return {
        store: createMemoryStore(tables),
        url: null,
        drop: async () => {},
        invalidEvent: async (id) => tables.invalidEvents.find((e) => e.id === id) ?? null,
      };
    },
  ],
  [
    'mongo',
    () => {
      const url = mongoUrlFor(uniqueName('hhcontract'));
      const store = createMongoStore({ url });
      return {
        store,
        url,
        drop: () => store.dropDatabase(),
        invalidEvent: async (id) => {
          const doc = await store.database.models.invalidEvents.findById(id).lean<Record<string, unknown>>();
          if (!doc) return null;
          const { _id, problemsJson, ...rest } = doc;
          return { ...(rest as Omit<InvalidEventRecord, 'id' | 'problems'>), id: String(_id), problems: JSON.parse(String(problemsJson)) as InvalidEventRecord['problems'] };
        },
      };
    },
  ],
];

/** The adapter's store, connected before the suite's tests and dropped and closed after them. */
export function connectedStore(create: () => StoreUnderTest): StoreUnderTest {
  const made = create();
  beforeAll(() => made.store.connect());
  afterAll(async () => {
    await made.drop();
    await made.store.close();
  });
  return made;
}

/** A webhook subscription with awkward keys in the values stored as JSON. */
export function subscriptionRecord(tenantId: string, overrides: Partial<WebhookSubscription> = {}): WebhookSubscription {
  return {
    id: newId('sub'), tenantId, kind: 'webhook', endpointUrl: 'https://example.com/hook', events: ['business.created'],
    filters: [{ field: 'data.category', operator: 'equals', value: { $weird: 'key', 'dotted.key': 1 } }], filter: null,
    payload: { fields: ['data.name'] }, headers: { 'X-Api.Version': '2' },
    retryConfig: { maxRetries: 8, initialDelaySeconds: 5, backoffMultiplier: 5, maxBackoffSeconds: 36000 },
    active: true, description: null, secretSealed: 'v1:k1:a:b:c', disabledReason: null,
    createdAt: new Date('2026-01-01T00:00:00Z'), updatedAt: new Date('2026-01-01T00:00:00Z'), ...overrides,
  };
}

/** An integration of the given connection target. */
export function integrationRecord(tenantId: string, integration: IntegrationSubscription['integration'], overrides: Partial<IntegrationSubscription> = {}): IntegrationSubscription {
  return {
    id: newId('int'), tenantId, kind: 'integration', integration, events: ['business.created'],
    filters: [{ field: 'data.category', operator: 'equals', value: { $weird: 'key', 'dotted.key': 1 } }], filter: null,
    retryConfig: { maxRetries: 8, initialDelaySeconds: 5, backoffMultiplier: 5, maxBackoffSeconds: 36000 },
    active: true, description: null, disabledReason: null,
    createdAt: new Date('2026-01-01T00:00:00Z'), updatedAt: new Date('2026-01-01T00:00:00Z'), ...overrides,
  };
}
