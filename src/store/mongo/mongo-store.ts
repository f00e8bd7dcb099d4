import mongoose from 'mongoose';
import type { Connection, FilterQuery, Model } from 'mongoose';
import { idTimeBound } from '../../core/ids';
import type { EventEnvelope } from '../../events/envelope';
import { apiKeyIdFor } from '../port';
import type {
  ApiKeyInput,
  ApiKeyRecord,
  AuditEntry,
  AuditQuery,
  AttemptQuery,
  AttemptRecord,
  ConnectionPatch,
  ConnectionRecord,
  DeadLetterReason,
  EncryptionOptions,
  OAuthStateRecord,
  Qualification,
  SealedValue,
  SyncCountRow,
  DeadLetterQuery,
  DeadLetterRecord,
  DeliveryRef,
  InvalidEventRecord,
  Page,
  PageRequest,
  Store,
  StoredEvent,
  SubscriptionPatch,
  SubscriptionRecord,
} from '../port';
import { registerModels } from './models';
import type { HubModels } from './models';

type Doc = Record<string, unknown>;

export interface MongoStoreOptions {
  url: string;
  /** How long an operation waits for a reachable server before it fails. */
  serverSelectionTimeoutMs?: number;
}

/** MongoDB adapter (mongoose). Keeps to what MongoDB and FerretDB both do right; see ARCHITECTURE. */
export class MongoStore implements Store {
  readonly kind = 'mongo' as const;
  private connection: Connection | null = null;
  private models: HubModels | null = null;

  constructor(private readonly options: MongoStoreOptions) {}

  async connect(): Promise<void> {
    const connection = mongoose.createConnection(this.options.url, {
      serverSelectionTimeoutMS: this.options.serverSelectionTimeoutMs ?? 5000,
      bufferCommands: false,
      maxPoolSize: 20,
    });
    await connection.asPromise();
    this.connection = connection;
    this.models = registerModels(connection);
    await Promise.all(Object.values(this.models).map((m: Model<Doc>) => m.createIndexes()));
    // Attempts once had a createdAt field and index; the purge now goes by _id, so the index only costs writes.
    // Its absence (IndexNotFound, 27) is the usual case; any other failure is the store's and stops the start.
    await this.models.attempts.collection.dropIndex('createdAt_1').catch((err: unknown) => {
      if ((err as { code?: number }).code !== 27) throw err;
    });
  }

  async close(): Promise<void> {
    await this.connection?.close();
    this.connection = null;
  }

  /**
   * Opened and not closed. Whether the server answers right now is what ping()
   * tells: mongoose's readyState can stay "disconnected" after the driver has
   * quietly reconnected.
   */
  isReady(): boolean {
    return this.connection !== null;
  }

  async ping(): Promise<void> {
    const db = this.connection?.db;
    if (!db) throw new Error('MongoDB connection is not open');
    await db.command({ ping: 1 });
  }

  /** Drops every collection of the database (tests only). */
  async dropDatabase(): Promise<void> {
    await this.connection?.db?.dropDatabase();
  }

  /** Never touches lastUsedAt or revokedAt: restarting with a revoked bootstrap key keeps it revoked. */
  async upsertApiKey(input: ApiKeyInput): Promise<void> {
    const set: Doc = { tenantId: input.tenantId, name: input.name };
    const onInsert: Doc = { createdAt: input.createdAt, lastUsedAt: null, revokedAt: null };
    if (input.id !== undefined) set['keyId'] = input.id;
    else onInsert['keyId'] = apiKeyIdFor(input.hash);
    if (input.scopes !== undefined) set['scopes'] = input.scopes;
    await this.m().apiKeys.collection.updateOne({ _id: input.hash as never }, { $set: set, $setOnInsert: onInsert }, { upsert: true });
  }

  async findApiKey(hash: string): Promise<ApiKeyRecord | null> {
    const doc = await this.m().apiKeys.findById(hash).lean<Doc>();
    return doc ? fromApiKeyDoc(doc) : null;
  }

  async listApiKeys(tenantId: string, page: PageRequest): Promise<Page<ApiKeyRecord>> {
    // A tenant has a handful of keys, and ids derived for old keys are not time-ordered: sort here.
    const docs = await this.m().apiKeys.find({ tenantId }).lean<Doc[]>();
    const sorted = docs
      .map(fromApiKeyDoc)
      .filter((k) => page.cursor === undefined || k.id < page.cursor)
      .sort((a, b) => (a.id < b.id ? 1 : -1));
    const data = sorted.slice(0, page.limit);
    const last = data[data.length - 1];
    return { data, nextCursor: sorted.length > page.limit && last ? last.id : null };
  }

  async revokeApiKey(tenantId: string, id: string, at: Date): Promise<ApiKeyRecord | null> {
    let doc = await this.m().apiKeys.findOne({ tenantId, keyId: id }).lean<Doc>();
    if (!doc) {
      const legacy = await this.m().apiKeys.find({ tenantId, keyId: { $exists: false } }).lean<Doc[]>();
      doc = legacy.find((d) => apiKeyIdFor(String(d['_id'])) === id) ?? null;
    }
    if (!doc) return null;
    const record = fromApiKeyDoc(doc);
    if (record.revokedAt === null) {
      record.revokedAt = at;
      await this.m().apiKeys.collection.updateOne({ _id: record.hash as never }, { $set: { revokedAt: at, keyId: record.id } });
    }
    return record;
  }

  async touchApiKey(hash: string, at: Date): Promise<void> {
    await this.m().apiKeys.collection.updateOne({ _id: hash as never }, { $set: { lastUsedAt: at } });
  }

  async recordAuditEntries(entries: AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const docs = entries.map(({ id, ...rest }) => ({ _id: id, ...rest }));
    try {
      await this.m().auditLog.collection.insertMany(docs as never[], { ordered: false });
    } catch (err) {
      if (!onlyDuplicateKeys(err)) throw err;
    }
  }

  async listAuditEntries(tenantId: string, query: AuditQuery): Promise<Page<AuditEntry>> {
    const filter: Doc = { tenantId };
    if (query.resourceType !== undefined) filter['resourceType'] = query.resourceType;
    if (query.resourceId !== undefined) filter['resourceId'] = query.resourceId;
    if (query.action !== undefined) filter['action'] = query.action;
    return this.page(this.m().auditLog, filter, query, fromAuditDoc);
  }

  async insertSubscription(record: SubscriptionRecord): Promise<void> {
    await this.m().subscriptions.collection.insertOne(toSubscriptionDoc(record) as never);
  }

  async getSubscription(tenantId: string, id: string): Promise<SubscriptionRecord | null> {
    const doc = await this.m().subscriptions.findOne({ _id: id, tenantId }).lean<Doc>();
    return doc ? fromSubscriptionDoc(doc) : null;
  }

  async loadSubscription(id: string): Promise<SubscriptionRecord | null> {
    const doc = await this.m().subscriptions.findById(id).lean<Doc>();
    return doc ? fromSubscriptionDoc(doc) : null;
  }

  async listSubscriptions(tenantId: string, kind: SubscriptionRecord['kind'], page: PageRequest): Promise<Page<SubscriptionRecord>> {
    // Subscriptions stored before integrations existed have no kind: they are webhooks.
    const filter = kind === 'webhook' ? { tenantId, kind: { $ne: 'integration' } } : { tenantId, kind };
    return this.page(this.m().subscriptions, filter, page, fromSubscriptionDoc);
  }

  async findIntegrationsOf(tenantId: string, connectionId: string): Promise<SubscriptionRecord[]> {
    const docs = await this.m().subscriptions.find({ tenantId, 'integration.connectionId': connectionId }).lean<Doc[]>();
    return docs.map(fromSubscriptionDoc);
  }

  async insertConnection(record: ConnectionRecord): Promise<void> {
    await this.m().connections.collection.insertOne(toConnectionDoc(record) as never);
  }

  async getConnection(tenantId: string, id: string): Promise<ConnectionRecord | null> {
    const doc = await this.m().connections.findOne({ _id: id, tenantId }).lean<Doc>();
    return doc ? fromConnectionDoc(doc) : null;
  }

  async loadConnection(id: string): Promise<ConnectionRecord | null> {
    const doc = await this.m().connections.findById(id).lean<Doc>();
    return doc ? fromConnectionDoc(doc) : null;
  }

  async listConnections(tenantId: string, page: PageRequest): Promise<Page<ConnectionRecord>> {
    return this.page(this.m().connections, { tenantId }, page, fromConnectionDoc);
  }

  async updateConnection(tenantId: string, id: string, patch: ConnectionPatch): Promise<ConnectionRecord | null> {
    const set: Doc = { updatedAt: new Date() };
    for (const [key, value] of Object.entries(patch)) {
      if (value === undefined) continue;
      if (key === 'config') set['configJson'] = JSON.stringify(value);
      else if (key === 'metadata') set['metadataJson'] = JSON.stringify(value);
      else set[key] = value;
    }
    const result = await this.m().connections.updateOne({ _id: id, tenantId }, { $set: set });
    if (result.matchedCount === 0) return null;
    return this.getConnection(tenantId, id);
  }

  async deleteConnection(tenantId: string, id: string): Promise<boolean> {
    const result = await this.m().connections.deleteOne({ _id: id, tenantId });
    return result.deletedCount === 1;
  }

  async updateSubscription(tenantId: string, id: string, patch: SubscriptionPatch): Promise<SubscriptionRecord | null> {
    const set: Doc = { updatedAt: new Date() };
    for (const [key, value] of Object.entries(patch)) {
      if (value === undefined) continue;
      if (key === 'filters') set['filtersJson'] = JSON.stringify(value);
      else if (key === 'payload') set['payloadJson'] = value === null ? null : JSON.stringify(value);
      else if (key === 'headers') set['headers'] = toNameValues(value as Record<string, string>);
      else if (key === 'integration') set['integration'] = toIntegrationDoc(value as SubscriptionRecord['integration']);
      else if (key === 'encryption') set['encryptionJson'] = value === null ? null : JSON.stringify(value);
      else if (key === 'signing') set['signingAlgorithm'] = (value as SubscriptionRecord['signing'])?.algorithm ?? 'hmac-sha256';
      else set[key] = value;
    }
    const result = await this.m().subscriptions.updateOne({ _id: id, tenantId }, { $set: set });
    if (result.matchedCount === 0) return null;
    return this.getSubscription(tenantId, id);
  }

  async deleteSubscription(tenantId: string, id: string): Promise<boolean> {
    const result = await this.m().subscriptions.deleteOne({ _id: id, tenantId });
    return result.deletedCount === 1;
  }

  async findSubscriptionsFor(type: string, scopeTenantId: string | null): Promise<SubscriptionRecord[]> {
    const query: Doc = { active: true, events: { $in: [type, '*'] } };
    if (scopeTenantId !== null) query['tenantId'] = scopeTenantId;
    const docs = await this.m().subscriptions.find(query).lean<Doc[]>();
    return docs.map(fromSubscriptionDoc);
  }

  async insertEvents(events: StoredEvent[]): Promise<Array<'inserted' | 'duplicate'>> {
    const results: Array<'inserted' | 'duplicate'> = events.map(() => 'inserted');
    if (events.length === 0) return results;
    const docs = events.map((event) => ({
      _id: event.key,
      type: event.envelope.type,
      envelopeJson: JSON.stringify(event.envelope),
      scopeTenantId: event.scopeTenantId,
      receivedAt: event.receivedAt,
    }));
    try {
      await this.m().events.collection.insertMany(docs as never[], { ordered: false });
    } catch (err) {
      if (!onlyDuplicateKeys(err)) throw err;
      for (const e of writeErrorsOf(err)) if (e.index !== undefined) results[e.index] = 'duplicate';
    }
    return results;
  }

  async getEvent(key: string): Promise<StoredEvent | null> {
    const [doc, routed] = await Promise.all([
      this.m().events.findById(key).lean<Doc>(),
      this.m().routedEvents.findById(key).lean<Doc>(),
    ]);
    if (!doc) return null;
    return {
      key,
      envelope: JSON.parse(String(doc['envelopeJson'])) as EventEnvelope,
      scopeTenantId: (doc['scopeTenantId'] as string | null) ?? null,
      receivedAt: doc['receivedAt'] as Date,
      routedAt: (routed?.['at'] as Date | undefined) ?? null,
    };
  }

  /**
   * Routed marks are inserts into a collection of their own rather than an
   * update of the events: a batch insert stays cheap on every MongoDB-protocol
   * server, where an update by a list of ids can mean a scan.
   */
  async markEventsRouted(keys: string[], at: Date): Promise<void> {
    if (keys.length === 0) return;
    try {
      await this.m().routedEvents.collection.insertMany(keys.map((key) => ({ _id: key, at })) as never[], { ordered: false });
    } catch (err) {
      if (!onlyDuplicateKeys(err)) throw err;
    }
  }

  async recordInvalidEvent(record: InvalidEventRecord): Promise<void> {
    await this.m().invalidEvents.collection.insertOne({
      _id: record.id,
      source: record.source,
      tenantId: record.tenantId,
      reason: record.reason,
      problemsJson: JSON.stringify(record.problems),
      raw: record.raw,
      receivedAt: record.receivedAt,
    } as never);
  }

  async recordAttempts(records: AttemptRecord[]): Promise<void> {
    if (records.length === 0) return;
    // createdAt rides in the detail: the purge goes by _id (time-ordered), and every field of its own costs a write.
    const docs = records.map((r) => {
      const { id, tenantId, subscriptionId, eventId, status, ...detail } = r;
      return { _id: id, tenantId, subscriptionId, eventId, status, detailJson: JSON.stringify(detail) };
    });
    try {
      await this.m().attempts.collection.insertMany(docs as never[], { ordered: false });
    } catch (err) {
      // A batch retried after a partial failure re-inserts rows that already landed.
      if (!onlyDuplicateKeys(err)) throw err;
    }
  }

  async listAttempts(tenantId: string, query: AttemptQuery): Promise<Page<AttemptRecord>> {
    const filter: Doc = { tenantId };
    if (query.subscriptionId !== undefined) filter['subscriptionId'] = query.subscriptionId;
    if (query.eventId !== undefined) filter['eventId'] = query.eventId;
    if (query.status !== undefined) filter['status'] = query.status;
    return this.page(this.m().attempts, filter, query, fromAttemptDoc);
  }

  /**
   * One query per distinct event, on the { tenantId, eventId, _id } index: the
   * deliveries of one redelivered fan-out message share their event. (FerretDB
   * pushes the eventId equality down to PostgreSQL; an $or of pairs it would not.)
   */
  async haveSucceeded(deliveries: readonly DeliveryRef[]): Promise<boolean[]> {
    const byEvent = new Map<string, DeliveryRef[]>();
    for (const d of deliveries) byEvent.set(d.eventId, [...(byEvent.get(d.eventId) ?? []), d]);
    const succeeded = new Set<string>();
    await Promise.all(
      [...byEvent].map(async ([eventId, refs]) => {
        const filter = {
          tenantId: { $in: [...new Set(refs.map((r) => r.tenantId))] },
          eventId,
          subscriptionId: { $in: [...new Set(refs.map((r) => r.subscriptionId))] },
          status: 'succeeded',
        };
        const docs = await this.m().attempts.collection.find(filter as never, { projection: { tenantId: 1, subscriptionId: 1 } }).toArray();
        for (const doc of docs) succeeded.add(deliveryKey({ tenantId: String(doc['tenantId']), subscriptionId: String(doc['subscriptionId']), eventId }));
      }),
    );
    return deliveries.map((d) => succeeded.has(deliveryKey(d)));
  }

  async insertDeadLetter(record: DeadLetterRecord): Promise<void> {
    const { id, event, ...rest } = record;
    await this.m().deadLetters.collection.insertOne({ _id: id, ...rest, eventJson: JSON.stringify(event) } as never);
  }

  async getDeadLetter(tenantId: string, id: string): Promise<DeadLetterRecord | null> {
    const doc = await this.m().deadLetters.findOne({ _id: id, tenantId }).lean<Doc>();
    return doc ? fromDeadLetterDoc(doc) : null;
  }

  async listDeadLetters(tenantId: string, query: DeadLetterQuery): Promise<Page<DeadLetterRecord>> {
    const filter: Doc = { tenantId };
    if (query.subscriptionId !== undefined) filter['subscriptionId'] = query.subscriptionId;
    return this.page(this.m().deadLetters, filter, query, fromDeadLetterDoc);
  }

  async findDeadLettersBetween(tenantId: string, subscriptionId: string, since: Date, until: Date): Promise<DeadLetterRecord[]> {
    const docs = await this.m()
      .deadLetters.find({ tenantId, subscriptionId, replayedAt: null, createdAt: { $gte: since, $lt: until } })
      .sort({ _id: 1 })
      .lean<Doc[]>();
    return docs.map(fromDeadLetterDoc);
  }

  async findDeadLettersByReason(tenantId: string, subscriptionIds: string[], reason: DeadLetterReason): Promise<DeadLetterRecord[]> {
    if (subscriptionIds.length === 0) return [];
    const docs = await this.m()
      .deadLetters.find({ tenantId, subscriptionId: { $in: subscriptionIds }, reason, replayedAt: null })
      .sort({ _id: 1 })
      .lean<Doc[]>();
    return docs.map(fromDeadLetterDoc);
  }

  async findConnectionsExpiringBefore(before: Date, limit: number): Promise<ConnectionRecord[]> {
    const docs = await this.m().connections.find({ status: 'active', tokenExpiresAt: { $ne: null, $lt: before } }).limit(limit).lean<Doc[]>();
    return docs.map(fromConnectionDoc);
  }

  async findConnectionsToCheck(before: Date, limit: number): Promise<ConnectionRecord[]> {
    const docs = await this.m()
      .connections.find({ status: 'active', $or: [{ lastCheckAt: null }, { lastCheckAt: { $lt: before } }] })
      .limit(limit)
      .lean<Doc[]>();
    return docs.map(fromConnectionDoc);
  }

  async insertOAuthState(record: OAuthStateRecord): Promise<void> {
    const { id, ...rest } = record;
    await this.m().oauthStates.collection.insertOne({ _id: id, ...rest } as never);
  }

  async getOAuthState(id: string): Promise<OAuthStateRecord | null> {
    const [doc, claim, used] = await Promise.all([
      this.m().oauthStates.findById(id).lean<Doc>(),
      this.m().oauthClaims.findById(`browser:${id}`).lean<Doc>(),
      this.m().oauthClaims.findById(`used:${id}`).lean<Doc>(),
    ]);
    if (!doc || used) return null;
    const { _id, ...rest } = doc;
    return { ...(rest as Omit<OAuthStateRecord, 'id'>), id: String(_id), browserNonceHash: claim ? String(claim['value']) : '' };
  }

  /**
   * Claims and uses are inserts under a unique id, not conditional updates: a MongoDB-protocol
   * server need not make an update-if-unchanged atomic under concurrency, but a second insert of
   * an id always fails.
   */
  async claimOAuthState(id: string, browserNonceHash: string): Promise<boolean> {
    return this.claimOnce(`browser:${id}`, browserNonceHash);
  }

  async consumeOAuthState(id: string): Promise<boolean> {
    const first = await this.claimOnce(`used:${id}`, 'used');
    if (first) await this.m().oauthStates.deleteOne({ _id: id });
    return first;
  }

  private async claimOnce(id: string, value: string): Promise<boolean> {
    try {
      await this.m().oauthClaims.collection.insertOne({ _id: id, kind: id.split(':')[0], value, at: new Date() } as never);
      return true;
    } catch (err) {
      if ((err as { code?: number }).code === 11000) return false;
      throw err;
    }
  }

  async acquireLease(name: string, owner: string, ttlMs: number): Promise<boolean> {
    const leases = this.m().leases;
    const insert = async (id: string): Promise<boolean> => {
      try {
        await leases.collection.insertOne({ _id: id, owner, expiresAt: new Date(Date.now() + ttlMs) } as never);
        return true;
      } catch (err) {
        if ((err as { code?: number }).code === 11000) return false;
        throw err;
      }
    };
    if (await insert(name)) return true;
    const held = await leases.findById(name).lean<Doc>();
    if (!held) return insert(name);
    if (held['owner'] === owner) return true;
    const expiresAt = held['expiresAt'] as Date;
    if (expiresAt > new Date()) return false;
    // Expired: whoever first claims this very lease (owner and expiry) by an insert takes it over.
    // A delete by filter is not atomic on every MongoDB-protocol server, so no one deletes on a guess.
    // The claim stays (a racer with the same stale view must still lose); old claims are swept.
    const takeover = `takeover:${name}:${String(held['owner'])}:${expiresAt.getTime()}`;
    if (!(await insert(takeover))) return false;
    await leases.deleteOne({ _id: name });
    const won = await insert(name);
    await leases.collection.deleteMany({ _id: { $regex: `^takeover:${escapeRegex(name)}:` }, expiresAt: { $lt: new Date(Date.now() - 10 * 60_000) } } as never);
    return won;
  }

  async releaseLease(name: string, owner: string): Promise<void> {
    await this.m().leases.deleteOne({ _id: name, owner });
  }

  async putExternalRef(connectionId: string, type: string, key: string, externalId: string): Promise<void> {
    const _id = JSON.stringify([connectionId, type, key]);
    await this.m().externalRefs.replaceOne({ _id }, { _id, connectionId, externalId, at: new Date() }, { upsert: true });
  }

  async getExternalRef(connectionId: string, type: string, key: string): Promise<string | null> {
    const doc = await this.m().externalRefs.findById(JSON.stringify([connectionId, type, key])).lean<Doc>();
    return doc ? String(doc['externalId']) : null;
  }

  async saveSyncCounts(processId: string, rows: SyncCountRow[]): Promise<void> {
    await Promise.all(
      rows.map((row) => {
        const _id = JSON.stringify([processId, row.connectionId, row.objectType, row.hour.getTime()]);
        return this.m().syncCounts.replaceOne({ _id }, { _id, ...row }, { upsert: true });
      }),
    );
  }

  async listSyncCounts(tenantId: string, connectionId: string, since: Date): Promise<SyncCountRow[]> {
    // Summed here rather than with $group: FerretDB 1.24 returns 0 for every $sum after the first in one $group.
    const docs = await this.m().syncCounts.find({ tenantId, connectionId, hour: { $gte: since } }).lean<Doc[]>();
    const sums = new Map<string, SyncCountRow>();
    for (const doc of docs) {
      const objectType = String(doc['objectType']);
      const hour = doc['hour'] as Date;
      const key = `${objectType}|${hour.getTime()}`;
      const sum = sums.get(key) ?? { tenantId, connectionId, objectType, hour, created: 0, updated: 0, failed: 0 };
      sum.created += Number(doc['created'] ?? 0);
      sum.updated += Number(doc['updated'] ?? 0);
      sum.failed += Number(doc['failed'] ?? 0);
      sums.set(key, sum);
    }
    return [...sums.values()].sort((a, b) => a.hour.getTime() - b.hour.getTime() || a.objectType.localeCompare(b.objectType));
  }

  async markDeadLetterReplayed(tenantId: string, id: string, at: Date): Promise<void> {
    await this.m().deadLetters.updateOne({ _id: id, tenantId }, { $set: { replayedAt: at }, $inc: { replayCount: 1 } });
  }

  async claimRateSlot(key: string, bucket: number, slot: number): Promise<boolean> {
    try {
      await this.m().rateSlots.collection.insertOne({ _id: `${key}|${bucket}|${slot}`, at: new Date() } as never);
      return true;
    } catch (err) {
      if ((err as { code?: number }).code === 11000) return false;
      throw err;
    }
  }

  async deleteRateSlotsBefore(before: Date): Promise<number> {
    return (await this.m().rateSlots.deleteMany({ at: { $lt: before } })).deletedCount;
  }

  async *scanSealed(): AsyncIterable<SealedValue> {
    const sources: Array<[SealedValue['collection'], Model<Doc>]> = [
      ['subscriptions', this.m().subscriptions],
      ['connections', this.m().connections],
      ['oauth_states', this.m().oauthStates],
    ];
    for (const [collection, model] of sources) {
      for await (const doc of model.collection.find({}, { batchSize: 500 })) {
        for (const [field, value] of Object.entries(doc)) {
          if (/sealed$/i.test(field) && typeof value === 'string' && value !== '') yield { collection, id: String(doc['_id']), field, value };
        }
      }
    }
  }

  async replaceSealed(found: SealedValue, value: string): Promise<boolean> {
    const model = { subscriptions: this.m().subscriptions, connections: this.m().connections, oauth_states: this.m().oauthStates }[found.collection];
    const result = await model.collection.updateOne({ _id: found.id as never, [found.field]: found.value }, { $set: { [found.field]: value } });
    return result.modifiedCount === 1;
  }

  async purgeAttemptsBefore(before: Date): Promise<number> {
    // Attempt ids are time-ordered (newId at createdAt): every id below the bound's time part is older than `before`.
    const result = await this.m().attempts.collection.deleteMany({ _id: { $lt: idTimeBound('att', before) as never } });
    return result.deletedCount;
  }

  private async page<T extends { id: string }>(
    model: Model<Doc>,
    filter: Doc,
    page: PageRequest,
    map: (doc: Doc) => T,
  ): Promise<Page<T>> {
    const query: FilterQuery<Doc> = page.cursor === undefined ? filter : { ...filter, _id: { $lt: page.cursor } };
    const docs = await model.find(query).sort({ _id: -1 }).limit(page.limit + 1).lean<Doc[]>();
    const data = docs.slice(0, page.limit).map(map);
    const last = data[data.length - 1];
    return { data, nextCursor: docs.length > page.limit && last ? last.id : null };
  }

  private m(): HubModels {
    if (!this.models) throw new Error('MongoStore used before connect()');
    return this.models;
  }
}

/**
 * True when an unordered insertMany failed only on ids that already exist (rows
 * a retried batch had stored before). A network error can arrive as a bulk
 * error with no write errors at all: that is a failure, not a duplicate.
 */
function deliveryKey(d: DeliveryRef): string {
  return JSON.stringify([d.tenantId, d.subscriptionId, d.eventId]);
}

function onlyDuplicateKeys(err: unknown): boolean {
  const list = writeErrorsOf(err);
  if (list.length > 0) return list.every((e) => e.code === 11000);
  return (err as { code?: number }).code === 11000;
}

function writeErrorsOf(err: unknown): Array<{ code?: number; index?: number }> {
  const { writeErrors } = err as { writeErrors?: Array<{ code?: number; index?: number }> | { code?: number; index?: number } };
  return Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : [];
}

function fromApiKeyDoc(doc: Doc): ApiKeyRecord {
  const hash = String(doc['_id']);
  return {
    id: typeof doc['keyId'] === 'string' ? doc['keyId'] : apiKeyIdFor(hash),
    hash,
    tenantId: String(doc['tenantId']),
    name: String(doc['name']),
    // Keys stored before scopes existed (bootstrap, CLI) were all-powerful: they stay admin keys.
    scopes: Array.isArray(doc['scopes']) ? (doc['scopes'] as unknown[]).map(String) : ['admin'],
    createdAt: doc['createdAt'] as Date,
    lastUsedAt: (doc['lastUsedAt'] as Date | null | undefined) ?? null,
    revokedAt: (doc['revokedAt'] as Date | null | undefined) ?? null,
  };
}

function fromAuditDoc(doc: Doc): AuditEntry {
  return {
    id: String(doc['_id']),
    tenantId: String(doc['tenantId']),
    action: String(doc['action']),
    resourceType: String(doc['resourceType']),
    resourceId: (doc['resourceId'] as string | null | undefined) ?? null,
    fields: Array.isArray(doc['fields']) ? (doc['fields'] as unknown[]).map(String) : [],
    apiKeyId: String(doc['apiKeyId']),
    apiKeyName: String(doc['apiKeyName']),
    ip: (doc['ip'] as string | null | undefined) ?? null,
    userAgent: (doc['userAgent'] as string | null | undefined) ?? null,
    status: Number(doc['status']),
    at: doc['at'] as Date,
  };
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function toNameValues(map: Record<string, string>): Array<{ name: string; value: string }> {
  return Object.entries(map).map(([name, value]) => ({ name, value }));
}

function fromNameValues(list: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of (list as Array<{ name: string; value: string }> | undefined) ?? []) out[item.name] = item.value;
  return out;
}

function toSubscriptionDoc(record: SubscriptionRecord): Doc {
  const { id, filters, payload, headers, integration, signing, encryption, ...rest } = record;
  return {
    _id: id,
    ...rest,
    integration: toIntegrationDoc(integration),
    filtersJson: JSON.stringify(filters),
    payloadJson: payload === null ? null : JSON.stringify(payload),
    headers: toNameValues(headers),
    // publicKey, previousSecretSealed and previousSecretExpiresAt are plain fields (in rest); absent ones stay absent.
    ...(signing === undefined ? {} : { signingAlgorithm: signing.algorithm }),
    ...(encryption === undefined ? {} : { encryptionJson: encryption === null ? null : JSON.stringify(encryption) }),
    ...(record.allowedIps !== undefined ? { allowedIps: record.allowedIps } : {}),
    ...(record.rateLimit !== undefined ? { rateLimit: record.rateLimit } : {}),
    ...(record.tlsSealed !== undefined ? { tlsSealed: record.tlsSealed } : {}),
  };
}

function fromSubscriptionDoc(doc: Doc): SubscriptionRecord {
  const retry = doc['retryConfig'] as Doc;
  return {
    id: String(doc['_id']),
    tenantId: String(doc['tenantId']),
    kind: doc['kind'] === 'integration' ? 'integration' : 'webhook',
    endpointUrl: String(doc['endpointUrl'] ?? ''),
    events: [...(doc['events'] as string[])],
    filters: JSON.parse(String(doc['filtersJson'])) as SubscriptionRecord['filters'],
    filter: (doc['filter'] as string | null) ?? null,
    payload: doc['payloadJson'] ? (JSON.parse(String(doc['payloadJson'])) as SubscriptionRecord['payload']) : null,
    headers: fromNameValues(doc['headers']),
    retryConfig: {
      maxRetries: Number(retry['maxRetries']),
      initialDelaySeconds: Number(retry['initialDelaySeconds']),
      backoffMultiplier: Number(retry['backoffMultiplier']),
      maxBackoffSeconds: Number(retry['maxBackoffSeconds']),
    },
    active: Boolean(doc['active']),
    description: (doc['description'] as string | null) ?? null,
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
    ...(doc['tlsSealed'] !== undefined ? { tlsSealed: typeof doc['tlsSealed'] === 'string' ? doc['tlsSealed'] : null } : {}),
    ...(Array.isArray(doc['secretHeaders']) ? { secretHeaders: (doc['secretHeaders'] as unknown[]).map(String) } : {}),
    ...(doc['headersSealed'] !== undefined ? { headersSealed: typeof doc['headersSealed'] === 'string' ? doc['headersSealed'] : null } : {}),
    integration: fromIntegrationDoc(doc['integration']),
    disabledReason: (doc['disabledReason'] as string | null) ?? null,
    createdAt: doc['createdAt'] as Date,
    updatedAt: doc['updatedAt'] as Date,
  };
}

function toIntegrationDoc(target: SubscriptionRecord['integration']): Doc | null {
  if (!target) return null;
  const { qualification, ...rest } = target;
  return { ...rest, qualificationJson: qualification ? JSON.stringify(qualification) : null };
}

function fromIntegrationDoc(value: unknown): SubscriptionRecord['integration'] {
  if (value === null || value === undefined || typeof value !== 'object') return null;
  const doc = value as Doc;
  return {
    connectionId: String(doc['connectionId']),
    connector: String(doc['connector']),
    triggers: Array.isArray(doc['triggers']) ? (doc['triggers'] as string[]).map(String) : null,
    ...(typeof doc['qualificationJson'] === 'string' ? { qualification: JSON.parse(doc['qualificationJson']) as Qualification } : {}),
  };
}

function toConnectionDoc(record: ConnectionRecord): Doc {
  const { id, config, metadata, ...rest } = record;
  return { _id: id, ...rest, configJson: JSON.stringify(config), metadataJson: JSON.stringify(metadata) };
}

function fromConnectionDoc(doc: Doc): ConnectionRecord {
  return {
    id: String(doc['_id']),
    tenantId: String(doc['tenantId']),
    connector: String(doc['connector']),
    connectorVersion: String(doc['connectorVersion']),
    config: JSON.parse(String(doc['configJson'] ?? '{}')) as Record<string, unknown>,
    secretsSealed: (doc['secretsSealed'] as string | null) ?? null,
    metadata: JSON.parse(String(doc['metadataJson'] ?? '{}')) as Record<string, unknown>,
    status: (doc['status'] as ConnectionRecord['status'] | undefined) ?? 'active',
    tokenExpiresAt: (doc['tokenExpiresAt'] as Date | null | undefined) ?? null,
    description: (doc['description'] as string | null) ?? null,
    lastCheckAt: (doc['lastCheckAt'] as Date | null) ?? null,
    lastCheckOk: (doc['lastCheckOk'] as boolean | null) ?? null,
    lastError: (doc['lastError'] as string | null) ?? null,
    createdAt: doc['createdAt'] as Date,
    updatedAt: doc['updatedAt'] as Date,
  };
}

function fromAttemptDoc(doc: Doc): AttemptRecord {
  const detail = JSON.parse(String(doc['detailJson'])) as Omit<AttemptRecord, 'id' | 'tenantId' | 'subscriptionId' | 'eventId' | 'status' | 'createdAt' | 'nextAttemptAt'> & {
    nextAttemptAt: string | null;
    createdAt?: string;
  };
  return {
    ...detail,
    id: String(doc['_id']),
    tenantId: String(doc['tenantId']),
    subscriptionId: String(doc['subscriptionId']),
    eventId: String(doc['eventId']),
    status: doc['status'] as AttemptRecord['status'],
    // Rows written before createdAt moved into the detail have it as a field.
    createdAt: detail.createdAt === undefined ? (doc['createdAt'] as Date) : new Date(detail.createdAt),
    nextAttemptAt: detail.nextAttemptAt === null ? null : new Date(detail.nextAttemptAt),
  };
}

function fromDeadLetterDoc(doc: Doc): DeadLetterRecord {
  const { _id, eventJson, ...rest } = doc;
  return {
    ...(rest as Omit<DeadLetterRecord, 'id' | 'event'>),
    id: String(_id),
    event: JSON.parse(String(eventJson)) as EventEnvelope,
    replayedAt: (rest['replayedAt'] as Date | null) ?? null,
  };
}
