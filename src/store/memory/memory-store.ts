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
  OAuthStateRecord,
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

/** The embedded store: the Store contract in memory, for `npm start` without services and for fast tests. */
export class MemoryStore implements Store {
  readonly kind = 'memory' as const;
  private readonly apiKeys = new Map<string, ApiKeyRecord>();
  private readonly auditEntries = new Map<string, AuditEntry>();
  private readonly subscriptions = new Map<string, SubscriptionRecord>();
  private readonly connections = new Map<string, ConnectionRecord>();
  private readonly oauthStates = new Map<string, OAuthStateRecord>();
  private readonly leases = new Map<string, { owner: string; expiresAt: number }>();
  private readonly externalRefs = new Map<string, string>();
  private readonly syncCounts = new Map<string, SyncCountRow>();
  private readonly events = new Map<string, StoredEvent>();
  readonly invalidEvents: InvalidEventRecord[] = [];
  private attempts: AttemptRecord[] = [];
  private readonly attemptIds = new Set<string>();
  private readonly deadLetters = new Map<string, DeadLetterRecord>();
  private ready = false;

  async connect(): Promise<void> {
    this.ready = true;
  }
  async close(): Promise<void> {
    this.ready = false;
  }
  isReady(): boolean {
    return this.ready;
  }
  async ping(): Promise<void> {}

  async upsertApiKey(input: ApiKeyInput): Promise<void> {
    const found = this.apiKeys.get(input.hash);
    this.apiKeys.set(input.hash, {
      id: input.id ?? found?.id ?? apiKeyIdFor(input.hash),
      hash: input.hash,
      tenantId: input.tenantId,
      name: input.name,
      scopes: [...(input.scopes ?? found?.scopes ?? ['admin'])],
      createdAt: found?.createdAt ?? new Date(input.createdAt),
      lastUsedAt: found?.lastUsedAt ?? null,
      revokedAt: found?.revokedAt ?? null,
    });
  }
  async findApiKey(hash: string): Promise<ApiKeyRecord | null> {
    return cloneOrNull(this.apiKeys.get(hash));
  }
  async listApiKeys(tenantId: string, page: PageRequest): Promise<Page<ApiKeyRecord>> {
    return paginate([...this.apiKeys.values()].filter((k) => k.tenantId === tenantId), page);
  }
  async revokeApiKey(tenantId: string, id: string, at: Date): Promise<ApiKeyRecord | null> {
    const found = [...this.apiKeys.values()].find((k) => k.tenantId === tenantId && k.id === id);
    if (!found) return null;
    found.revokedAt ??= new Date(at);
    return clone(found);
  }
  async touchApiKey(hash: string, at: Date): Promise<void> {
    const found = this.apiKeys.get(hash);
    if (found) found.lastUsedAt = new Date(at);
  }

  async recordAuditEntries(entries: AuditEntry[]): Promise<void> {
    for (const entry of entries) if (!this.auditEntries.has(entry.id)) this.auditEntries.set(entry.id, clone(entry));
  }
  async listAuditEntries(tenantId: string, query: AuditQuery): Promise<Page<AuditEntry>> {
    return paginate(
      [...this.auditEntries.values()].filter(
        (e) =>
          e.tenantId === tenantId &&
          (query.resourceType === undefined || e.resourceType === query.resourceType) &&
          (query.resourceId === undefined || e.resourceId === query.resourceId) &&
          (query.action === undefined || e.action === query.action),
      ),
      query,
    );
  }

  async insertSubscription(record: SubscriptionRecord): Promise<void> {
    if (this.subscriptions.has(record.id)) throw duplicateKey();
    this.subscriptions.set(record.id, clone(record));
  }
  async getSubscription(tenantId: string, id: string): Promise<SubscriptionRecord | null> {
    const found = this.subscriptions.get(id);
    return found && found.tenantId === tenantId ? clone(found) : null;
  }
  async loadSubscription(id: string): Promise<SubscriptionRecord | null> {
    return cloneOrNull(this.subscriptions.get(id));
  }
  async listSubscriptions(tenantId: string, kind: SubscriptionRecord['kind'], page: PageRequest): Promise<Page<SubscriptionRecord>> {
    return paginate([...this.subscriptions.values()].filter((s) => s.tenantId === tenantId && s.kind === kind), page);
  }
  async findIntegrationsOf(tenantId: string, connectionId: string): Promise<SubscriptionRecord[]> {
    return [...this.subscriptions.values()].filter((s) => s.tenantId === tenantId && s.integration?.connectionId === connectionId).map(clone);
  }

  async insertConnection(record: ConnectionRecord): Promise<void> {
    if (this.connections.has(record.id)) throw duplicateKey();
    this.connections.set(record.id, clone(record));
  }
  async getConnection(tenantId: string, id: string): Promise<ConnectionRecord | null> {
    const found = this.connections.get(id);
    return found && found.tenantId === tenantId ? clone(found) : null;
  }
  async loadConnection(id: string): Promise<ConnectionRecord | null> {
    return cloneOrNull(this.connections.get(id));
  }
  async listConnections(tenantId: string, page: PageRequest): Promise<Page<ConnectionRecord>> {
    return paginate([...this.connections.values()].filter((c) => c.tenantId === tenantId), page);
  }
  async updateConnection(tenantId: string, id: string, patch: ConnectionPatch): Promise<ConnectionRecord | null> {
    const found = this.connections.get(id);
    if (!found || found.tenantId !== tenantId) return null;
    const updated = { ...found, ...clone(patch), updatedAt: new Date() } as ConnectionRecord;
    this.connections.set(id, updated);
    return clone(updated);
  }
  async deleteConnection(tenantId: string, id: string): Promise<boolean> {
    const found = this.connections.get(id);
    if (!found || found.tenantId !== tenantId) return false;
    return this.connections.delete(id);
  }
  async updateSubscription(tenantId: string, id: string, patch: SubscriptionPatch): Promise<SubscriptionRecord | null> {
    const found = this.subscriptions.get(id);
    if (!found || found.tenantId !== tenantId) return null;
    const updated = { ...found, ...clone(patch), updatedAt: new Date() } as SubscriptionRecord;
    this.subscriptions.set(id, updated);
    return clone(updated);
  }
  async deleteSubscription(tenantId: string, id: string): Promise<boolean> {
    const found = this.subscriptions.get(id);
    if (!found || found.tenantId !== tenantId) return false;
    return this.subscriptions.delete(id);
  }
  async findSubscriptionsFor(type: string, scopeTenantId: string | null): Promise<SubscriptionRecord[]> {
    return [...this.subscriptions.values()]
      .filter((s) => s.active && (s.events.includes(type) || s.events.includes('*')))
      .filter((s) => scopeTenantId === null || s.tenantId === scopeTenantId)
      .map(clone);
  }

  async insertEvents(events: StoredEvent[]): Promise<Array<'inserted' | 'duplicate'>> {
    return events.map((event) => {
      if (this.events.has(event.key)) return 'duplicate';
      this.events.set(event.key, clone(event));
      return 'inserted';
    });
  }
  async getEvent(key: string): Promise<StoredEvent | null> {
    return cloneOrNull(this.events.get(key));
  }
  async markEventsRouted(keys: string[], at: Date): Promise<void> {
    for (const key of keys) {
      const found = this.events.get(key);
      if (found && found.routedAt === null) found.routedAt = at;
    }
  }
  async recordInvalidEvent(record: InvalidEventRecord): Promise<void> {
    this.invalidEvents.push(clone(record));
  }

  async recordAttempts(records: AttemptRecord[]): Promise<void> {
    for (const record of records) {
      if (this.attemptIds.has(record.id)) continue;
      this.attemptIds.add(record.id);
      this.attempts.push(clone(record));
    }
  }
  async listAttempts(tenantId: string, query: AttemptQuery): Promise<Page<AttemptRecord>> {
    return paginate(
      this.attempts.filter(
        (a) =>
          a.tenantId === tenantId &&
          (query.subscriptionId === undefined || a.subscriptionId === query.subscriptionId) &&
          (query.eventId === undefined || a.eventId === query.eventId) &&
          (query.status === undefined || a.status === query.status),
      ),
      query,
    );
  }

  async haveSucceeded(deliveries: readonly DeliveryRef[]): Promise<boolean[]> {
    return deliveries.map((d) =>
      this.attempts.some((a) => a.status === 'succeeded' && a.tenantId === d.tenantId && a.eventId === d.eventId && a.subscriptionId === d.subscriptionId),
    );
  }

  async insertDeadLetter(record: DeadLetterRecord): Promise<void> {
    if (this.deadLetters.has(record.id)) throw duplicateKey();
    this.deadLetters.set(record.id, clone(record));
  }
  async getDeadLetter(tenantId: string, id: string): Promise<DeadLetterRecord | null> {
    const found = this.deadLetters.get(id);
    return found && found.tenantId === tenantId ? clone(found) : null;
  }
  async listDeadLetters(tenantId: string, query: DeadLetterQuery): Promise<Page<DeadLetterRecord>> {
    return paginate(
      [...this.deadLetters.values()].filter(
        (d) => d.tenantId === tenantId && (query.subscriptionId === undefined || d.subscriptionId === query.subscriptionId),
      ),
      query,
    );
  }
  async findDeadLettersBetween(tenantId: string, subscriptionId: string, since: Date, until: Date): Promise<DeadLetterRecord[]> {
    return [...this.deadLetters.values()]
      .filter(
        (d) =>
          d.tenantId === tenantId &&
          d.subscriptionId === subscriptionId &&
          d.replayedAt === null &&
          d.createdAt >= since &&
          d.createdAt < until,
      )
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .map(clone);
  }
  async findDeadLettersByReason(tenantId: string, subscriptionIds: string[], reason: DeadLetterReason): Promise<DeadLetterRecord[]> {
    return [...this.deadLetters.values()]
      .filter((d) => d.tenantId === tenantId && subscriptionIds.includes(d.subscriptionId) && d.reason === reason && d.replayedAt === null)
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .map(clone);
  }

  async findConnectionsExpiringBefore(before: Date, limit: number): Promise<ConnectionRecord[]> {
    return [...this.connections.values()]
      .filter((c) => c.status === 'active' && c.tokenExpiresAt !== null && c.tokenExpiresAt < before)
      .slice(0, limit)
      .map(clone);
  }
  async findConnectionsToCheck(before: Date, limit: number): Promise<ConnectionRecord[]> {
    return [...this.connections.values()]
      .filter((c) => c.status === 'active' && (c.lastCheckAt === null || c.lastCheckAt < before))
      .slice(0, limit)
      .map(clone);
  }

  async insertOAuthState(record: OAuthStateRecord): Promise<void> {
    if (this.oauthStates.has(record.id)) throw duplicateKey();
    this.oauthStates.set(record.id, clone(record));
  }
  async getOAuthState(id: string): Promise<OAuthStateRecord | null> {
    return cloneOrNull(this.oauthStates.get(id));
  }
  async claimOAuthState(id: string, browserNonceHash: string): Promise<boolean> {
    const found = this.oauthStates.get(id);
    if (!found || found.browserNonceHash !== '') return false;
    found.browserNonceHash = browserNonceHash;
    return true;
  }
  async consumeOAuthState(id: string): Promise<boolean> {
    return this.oauthStates.delete(id);
  }

  async acquireLease(name: string, owner: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    const held = this.leases.get(name);
    if (held && held.owner !== owner && held.expiresAt > now) return false;
    this.leases.set(name, { owner, expiresAt: now + ttlMs });
    return true;
  }
  async releaseLease(name: string, owner: string): Promise<void> {
    if (this.leases.get(name)?.owner === owner) this.leases.delete(name);
  }

  async putExternalRef(connectionId: string, type: string, key: string, externalId: string): Promise<void> {
    this.externalRefs.set(`${connectionId}\n${type}\n${key}`, externalId);
  }
  async getExternalRef(connectionId: string, type: string, key: string): Promise<string | null> {
    return this.externalRefs.get(`${connectionId}\n${type}\n${key}`) ?? null;
  }

  async saveSyncCounts(processId: string, rows: SyncCountRow[]): Promise<void> {
    for (const row of rows) this.syncCounts.set(`${processId}|${row.connectionId}|${row.objectType}|${row.hour.getTime()}`, clone(row));
  }
  async listSyncCounts(tenantId: string, connectionId: string, since: Date): Promise<SyncCountRow[]> {
    const sums = new Map<string, SyncCountRow>();
    for (const row of this.syncCounts.values()) {
      if (row.tenantId !== tenantId || row.connectionId !== connectionId || row.hour < since) continue;
      const key = `${row.objectType}|${row.hour.getTime()}`;
      const sum = sums.get(key) ?? { ...clone(row), created: 0, updated: 0, failed: 0 };
      sum.created += row.created;
      sum.updated += row.updated;
      sum.failed += row.failed;
      sums.set(key, sum);
    }
    return [...sums.values()].sort((a, b) => a.hour.getTime() - b.hour.getTime() || a.objectType.localeCompare(b.objectType));
  }

  async markDeadLetterReplayed(tenantId: string, id: string, at: Date): Promise<void> {
    const found = this.deadLetters.get(id);
    if (found && found.tenantId === tenantId) {
      found.replayedAt = at;
      found.replayCount += 1;
    }
  }

  private readonly rateSlots = new Map<string, number>();
  async claimRateSlot(key: string, bucket: number, slot: number): Promise<boolean> {
    const id = `${key}|${bucket}|${slot}`;
    if (this.rateSlots.has(id)) return false;
    this.rateSlots.set(id, Date.now());
    return true;
  }
  async deleteRateSlotsBefore(before: Date): Promise<number> {
    let n = 0;
    for (const [id, at] of this.rateSlots) if (at < before.getTime() && this.rateSlots.delete(id)) n++;
    return n;
  }

  async *scanSealed(): AsyncIterable<SealedValue> {
    const sources: Array<[SealedValue['collection'], Map<string, object>]> = [
      ['subscriptions', this.subscriptions],
      ['connections', this.connections],
      ['oauth_states', this.oauthStates],
    ];
    for (const [collection, map] of sources) {
      for (const [id, record] of map) {
        for (const [field, value] of Object.entries(record)) {
          if (/sealed$/i.test(field) && typeof value === 'string' && value !== '') yield { collection, id, field, value };
        }
      }
    }
  }
  async replaceSealed(found: SealedValue, value: string): Promise<boolean> {
    const map = { subscriptions: this.subscriptions, connections: this.connections, oauth_states: this.oauthStates }[found.collection] as unknown as Map<string, Record<string, unknown>>;
    const record = map.get(found.id);
    if (!record || record[found.field] !== found.value) return false;
    record[found.field] = value;
    return true;
  }

  async purgeAttemptsBefore(before: Date): Promise<number> {
    const kept = this.attempts.filter((a) => a.createdAt >= before);
    const purged = this.attempts.length - kept.length;
    for (const gone of this.attempts.filter((a) => a.createdAt < before)) this.attemptIds.delete(gone.id);
    this.attempts = kept;
    return purged;
  }
}

function paginate<T extends { id: string }>(items: T[], page: PageRequest): Page<T> {
  const sorted = items.filter((i) => page.cursor === undefined || i.id < page.cursor).sort((a, b) => (a.id < b.id ? 1 : -1));
  const data = sorted.slice(0, page.limit).map(clone);
  const last = data[data.length - 1];
  return { data, nextCursor: sorted.length > page.limit && last ? last.id : null };
}

/** structuredClone keeps Dates as Dates, as a database round trip does. */
function clone<T>(value: T): T {
  return structuredClone(value);
}

function cloneOrNull<T>(value: T | undefined): T | null {
  return value === undefined ? null : clone(value);
}

function duplicateKey(): Error {
  return Object.assign(new Error('duplicate key'), { code: 11000 });
}
