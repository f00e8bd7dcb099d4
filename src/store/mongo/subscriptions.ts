import type { BatchOptions, OrderingOptions, IntegrationSubscription, IntegrationTarget, Qualification, RelayState, RelaySubscription, Subscription, SubscriptionKind, SubscriptionOf, WebhookSubscription } from '../../subscriptions/model';
import type { SubscriptionRepository } from '../../subscriptions/repository';
import type { EncryptionOptions } from '../../transport/payload-encryption';
import type { PageRequest } from '../../core/page';
import type { MongoDatabase } from './database';
import { findPage } from './documents';
import type { Doc } from './documents';

/** Subscriptions (webhooks and integrations) in `subscriptions`; user-keyed values as JSON strings (see models.ts). */
export function mongoSubscriptions(db: MongoDatabase): SubscriptionRepository {
  const subscriptions = () => db.models.subscriptions;
  const get = async (tenantId: string, id: string): Promise<Subscription | null> => {
    const doc = await subscriptions().findOne({ _id: id, tenantId }).lean<Doc>();
    return doc ? fromSubscriptionDoc(doc) : null;
  };
  return {
    async insertSubscription(record) {
      await subscriptions().collection.insertOne(toSubscriptionDoc(record) as never);
    },

    getSubscription: get,

    async loadSubscription(id) {
      const doc = await subscriptions().findById(id).lean<Doc>();
      return doc ? fromSubscriptionDoc(doc) : null;
    },

    async listSubscriptions<K extends SubscriptionKind>(tenantId: string, kind: K, page: PageRequest) {
      // Subscriptions stored before integrations existed have no kind: they are webhooks (and read as such).
      const filter = kind === 'webhook' ? { tenantId, kind: { $nin: ['integration', 'relay'] } } : { tenantId, kind };
      return findPage(subscriptions(), filter, page, (doc) => fromSubscriptionDoc(doc) as SubscriptionOf<K>);
    },

    async updateSubscription(tenantId, id, patch) {
      const set: Doc = { updatedAt: new Date() };
      for (const [key, value] of Object.entries(patch)) {
        if (value === undefined) continue;
        if (key === 'filters') set['filtersJson'] = JSON.stringify(value);
        else if (key === 'payload') set['payloadJson'] = value === null ? null : JSON.stringify(value);
        else if (key === 'headers') set['headers'] = toNameValues(value as Record<string, string>);
        else if (key === 'integration') set['integration'] = toIntegrationDoc(value as IntegrationTarget);
        else if (key === 'encryption') set['encryptionJson'] = value === null ? null : JSON.stringify(value);
        else if (key === 'signing') set['signingAlgorithm'] = (value as WebhookSubscription['signing'])?.algorithm ?? 'hmac-sha256';
        else set[key] = value;
      }
      const result = await subscriptions().updateOne({ _id: id, tenantId }, { $set: set });
      if (result.matchedCount === 0) return null;
      return get(tenantId, id);
    },

    async deleteSubscription(tenantId, id) {
      const result = await subscriptions().deleteOne({ _id: id, tenantId });
      return result.deletedCount === 1;
    },

    async findSubscriptionsFor(type, scopeTenantId) {
      const query: Doc = { active: true, events: { $in: [type, '*'] } };
      if (scopeTenantId !== null) query['tenantId'] = scopeTenantId;
      const docs = await subscriptions().find(query).lean<Doc[]>();
      return docs.map(fromSubscriptionDoc);
    },

    async findRelaysSeenBefore(before) {
      const docs = await subscriptions().find({ kind: 'relay', 'relay.lastSeenAt': { $lt: before } }).lean<Doc[]>();
      return docs.map(fromSubscriptionDoc).filter((s): s is RelaySubscription => s.kind === 'relay');
    },

    async findIntegrationsOf(tenantId, connectionId) {
      const docs = await subscriptions().find({ tenantId, 'integration.connectionId': connectionId }).lean<Doc[]>();
      return docs.map(fromSubscriptionDoc).filter((s): s is IntegrationSubscription => s.kind === 'integration');
    },
  };
}

function toNameValues(map: Record<string, string>): Array<{ name: string; value: string }> {
  return Object.entries(map).map(([name, value]) => ({ name, value }));
}

function fromNameValues(list: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of (list as Array<{ name: string; value: string }> | undefined) ?? []) out[item.name] = item.value;
  return out;
}

/**
 * The document of a subscription, shaped as it always was: one collection and
 * one shape for both kinds, so an integration's document keeps the webhook
 * fields, empty, and a webhook's has `integration: null`.
 */
function toSubscriptionDoc(record: Subscription): Doc {
  if (record.kind === 'integration') {
    const { id, filters, integration, ...rest } = record;
    return { _id: id, ...rest, endpointUrl: '', secretSealed: '', integration: toIntegrationDoc(integration), filtersJson: JSON.stringify(filters), payloadJson: null, headers: [] };
  }
  if (record.kind === 'relay') {
    const { id, filters, payload, ...rest } = record;
    return { _id: id, ...rest, endpointUrl: '', integration: null, filtersJson: JSON.stringify(filters), payloadJson: payload === null ? null : JSON.stringify(payload), headers: [] };
  }
  const { id, filters, payload, headers, signing, encryption, ...rest } = record;
  return {
    _id: id,
    ...rest,
    integration: null,
    filtersJson: JSON.stringify(filters),
    payloadJson: payload === null ? null : JSON.stringify(payload),
    headers: toNameValues(headers),
    // publicKey, previousSecretSealed and previousSecretExpiresAt are plain fields (in rest); absent ones stay absent.
    ...(signing === undefined ? {} : { signingAlgorithm: signing.algorithm }),
    ...(encryption === undefined ? {} : { encryptionJson: encryption === null ? null : JSON.stringify(encryption) }),
    ...(record.allowedIps !== undefined ? { allowedIps: record.allowedIps } : {}),
    ...(record.rateLimit !== undefined ? { rateLimit: record.rateLimit } : {}),
    ...(record.tlsSealed !== undefined ? { tlsSealed: record.tlsSealed } : {}),
    ...(record.batch !== undefined ? { batch: record.batch } : {}),
    ...(record.ordering !== undefined ? { ordering: record.ordering } : {}),
  };
}

/** A subscription from its document: the kind decides which fields are read; an integration's empty webhook fields are dropped. */
function fromSubscriptionDoc(doc: Doc): Subscription {
  const retry = doc['retryConfig'] as Doc;
  const common = {
    id: String(doc['_id']),
    tenantId: String(doc['tenantId']),
    events: [...(doc['events'] as string[])],
    filters: JSON.parse(String(doc['filtersJson'])) as Subscription['filters'],
    filter: (doc['filter'] as string | null) ?? null,
    retryConfig: {
      maxRetries: Number(retry['maxRetries']),
      initialDelaySeconds: Number(retry['initialDelaySeconds']),
      backoffMultiplier: Number(retry['backoffMultiplier']),
      maxBackoffSeconds: Number(retry['maxBackoffSeconds']),
    },
    active: Boolean(doc['active']),
    description: (doc['description'] as string | null) ?? null,
    disabledReason: (doc['disabledReason'] as string | null) ?? null,
    createdAt: doc['createdAt'] as Date,
    updatedAt: doc['updatedAt'] as Date,
  };
  if (doc['kind'] === 'integration') {
    // A damaged document without its target reads as an integration whose connection is gone: its deliveries fail as such.
    return { ...common, kind: 'integration', integration: fromIntegrationDoc(doc['integration']) ?? { connectionId: '', connector: '', triggers: null } };
  }
  if (doc['kind'] === 'relay') {
    const relay = (doc['relay'] ?? {}) as Doc;
    const state: RelayState = {
      holder: typeof relay['holder'] === 'string' ? relay['holder'] : null,
      lastSeenAt: relay['lastSeenAt'] instanceof Date ? relay['lastSeenAt'] : new Date(0),
      keepSeconds: Number(relay['keepSeconds'] ?? 0),
    };
    return { ...common, kind: 'relay', payload: payloadOf(doc), secretSealed: String(doc['secretSealed'] ?? ''), relay: state };
  }
  return {
    ...common,
    kind: 'webhook',
    endpointUrl: String(doc['endpointUrl'] ?? ''),
    payload: payloadOf(doc),
    headers: fromNameValues(doc['headers']),
    secretSealed: String(doc['secretSealed'] ?? ''),
    // Documents stored before signing options existed lack these fields: readers default them (HMAC, no rotation, no encryption).
    ...('signingAlgorithm' in doc ? { signing: { algorithm: doc['signingAlgorithm'] === 'ed25519' ? ('ed25519' as const) : ('hmac-sha256' as const) } } : {}),
    ...('publicKey' in doc ? { publicKey: typeof doc['publicKey'] === 'string' ? doc['publicKey'] : null } : {}),
    ...('previousSecretSealed' in doc ? { previousSecretSealed: typeof doc['previousSecretSealed'] === 'string' ? doc['previousSecretSealed'] : null } : {}),
    ...('previousSecretExpiresAt' in doc ? { previousSecretExpiresAt: doc['previousSecretExpiresAt'] instanceof Date ? doc['previousSecretExpiresAt'] : null } : {}),
    ...('encryptionJson' in doc ? { encryption: typeof doc['encryptionJson'] === 'string' ? (JSON.parse(doc['encryptionJson']) as EncryptionOptions) : null } : {}),
    // Network rules are on the record only when they were stored.
    ...(Array.isArray(doc['allowedIps']) ? { allowedIps: (doc['allowedIps'] as unknown[]).map(String) } : {}),
    ...(doc['rateLimit'] !== undefined
      ? { rateLimit: doc['rateLimit'] && typeof doc['rateLimit'] === 'object' ? { requestsPerSecond: Number((doc['rateLimit'] as Doc)['requestsPerSecond']) } : null }
      : {}),
    ...(doc['batch'] !== undefined ? { batch: batchOf(doc['batch']) } : {}),
    ...(doc['ordering'] !== undefined ? { ordering: orderingOf(doc['ordering']) } : {}),
    ...(doc['tlsSealed'] !== undefined ? { tlsSealed: typeof doc['tlsSealed'] === 'string' ? doc['tlsSealed'] : null } : {}),
    ...(Array.isArray(doc['secretHeaders']) ? { secretHeaders: (doc['secretHeaders'] as unknown[]).map(String) } : {}),
    ...(doc['headersSealed'] !== undefined ? { headersSealed: typeof doc['headersSealed'] === 'string' ? doc['headersSealed'] : null } : {}),
  };
}

function payloadOf(doc: Doc): WebhookSubscription['payload'] {
  return doc['payloadJson'] ? (JSON.parse(String(doc['payloadJson'])) as WebhookSubscription['payload']) : null;
}

function toIntegrationDoc(target: IntegrationTarget): Doc {
  const { qualification, ...rest } = target;
  return { ...rest, qualificationJson: qualification ? JSON.stringify(qualification) : null };
}

function fromIntegrationDoc(value: unknown): IntegrationTarget | null {
  if (value === null || value === undefined || typeof value !== 'object') return null;
  const doc = value as Doc;
  return {
    connectionId: String(doc['connectionId']),
    connector: String(doc['connector']),
    triggers: Array.isArray(doc['triggers']) ? (doc['triggers'] as string[]).map(String) : null,
    ...(typeof doc['qualificationJson'] === 'string' ? { qualification: JSON.parse(doc['qualificationJson']) as Qualification } : {}),
  };
}

function batchOf(value: unknown): BatchOptions | null {
  if (!value || typeof value !== 'object') return null;
  const batch = value as Doc;
  return { maxEvents: Number(batch['maxEvents']), maxWaitMs: Number(batch['maxWaitMs']), maxBytes: Number(batch['maxBytes']) };
}

function orderingOf(value: unknown): OrderingOptions | null {
  if (!value || typeof value !== 'object') return null;
  return { key: String((value as Doc)['key']) };
}
