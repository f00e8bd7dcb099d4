import { createHash } from 'node:crypto';
import type { EventEnvelope } from '../events/envelope';

export interface RetryConfig {
  maxRetries: number;
  initialDelaySeconds: number;
  backoffMultiplier: number;
  maxBackoffSeconds: number;
}

export type FilterOperator = 'equals' | 'contains' | 'in' | 'exists';

export interface FieldFilter {
  field: string;
  operator: FilterOperator;
  value?: unknown;
}

export interface PayloadOptions {
  fields?: string[];
  transform?: string;
}

export type SigningAlgorithm = 'hmac-sha256' | 'ed25519';

/** How deliveries are signed: Standard Webhooks v1 (HMAC, `whsec_`) or v1a (Ed25519, `whsk_`/`whpk_`). Fixed at creation. */
export interface SigningOptions {
  algorithm: SigningAlgorithm;
}

/** Payload encryption to the tenant's public JWK: listed body fields (or the whole `data`) become JWE compact strings. */
export interface EncryptionOptions {
  /** A public JWK: RSA (RSA-OAEP-256), EC P-256/384/521 or OKP X25519 (ECDH-ES); never with `d`. */
  jwk: Record<string, unknown>;
  /** Dotted paths into the delivered body (`data.contact.email`); absent: the whole `data`. */
  fields?: string[];
}

/** What an integration delivers to: a connection, through its connector's triggers. */
export interface IntegrationTarget {
  connectionId: string;
  connector: string;
  /** Trigger names to run; null runs every trigger of the connector for the event type. */
  triggers: string[] | null;
  /** Lead qualification and routing: score and qualify each event, and pick the connection per route. */
  qualification?: Qualification | null;
}

export interface Qualification {
  /** JSONata over the envelope giving a number, bound as $score in the rest. */
  score: string | null;
  /** JSONata boolean; an event that is not qualified is skipped (and recorded so). */
  qualify: string | null;
  /** The first route whose `when` holds (or has none) picks the connection; none matching: the integration's own. */
  routes: Array<{ when: string | null; connectionId: string; label: string }>;
}

export interface RoutingResult {
  score: number | null;
  qualified: boolean;
  route: string | null;
  connectionId: string;
}

/**
 * A webhook subscription, or an integration (a connection subscribed to events).
 * The router treats both alike; the delivery worker POSTs to endpointUrl for a
 * webhook and runs the connector's actions for an integration.
 */
export interface SubscriptionRecord {
  id: string;
  tenantId: string;
  kind: 'webhook' | 'integration';
  /** Empty for integrations. */
  endpointUrl: string;
  events: string[];
  filters: FieldFilter[];
  filter: string | null;
  payload: PayloadOptions | null;
  headers: Record<string, string>;
  retryConfig: RetryConfig;
  active: boolean;
  description: string | null;
  /** The signing secret, sealed by SecretBox; never leaves the hub unsealed except on request. Empty for integrations. */
  secretSealed: string;
  /** Absent on records stored before signing options existed: HMAC. */
  signing?: SigningOptions;
  /** Ed25519 subscriptions: `whpk_...`, the public half of the key in secretSealed (not secret). */
  publicKey?: string | null;
  /** The secret before the last rotation, sealed; used to sign too until previousSecretExpiresAt. */
  previousSecretSealed?: string | null;
  previousSecretExpiresAt?: Date | null;
  encryption?: EncryptionOptions | null;
  /** CIDR ranges a delivery may connect to; absent or empty: any public address. */
  allowedIps?: string[];
  /** Deliveries to this endpoint stay within this rate across all workers; the excess waits. */
  rateLimit?: { requestsPerSecond: number } | null;
  /** Mutual TLS: JSON of {cert, key, ca?} (PEM), sealed. */
  tlsSealed?: string | null;
  /** Names of the custom headers marked secret; their values are in headersSealed, never in headers. */
  secretHeaders?: string[];
  /** The values of the secret headers: JSON of {name: value}, sealed. */
  headersSealed?: string | null;
  integration: IntegrationTarget | null;
  disabledReason: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export type SubscriptionPatch = Partial<
  Pick<
    SubscriptionRecord,
    'endpointUrl' | 'events' | 'filters' | 'filter' | 'payload' | 'headers' | 'retryConfig' | 'active' | 'description' | 'disabledReason' | 'integration'
  >
> &
  // Secret rotation and payload encryption (signing.algorithm is fixed at creation).
  Partial<Pick<SubscriptionRecord, 'secretSealed' | 'publicKey' | 'previousSecretSealed' | 'previousSecretExpiresAt' | 'encryption'>> &
  // Network rules.
  Partial<Pick<SubscriptionRecord, 'allowedIps' | 'rateLimit' | 'tlsSealed'>> &
  // Secret custom headers (set together with headers).
  Partial<Pick<SubscriptionRecord, 'secretHeaders' | 'headersSealed'>>;

export interface StoredEvent {
  /** Dedupe key: the event id, namespaced by tenant for tenant-scoped events (see eventStoreKey). */
  key: string;
  envelope: EventEnvelope;
  /** null: a directory event anyone may subscribe to; otherwise only this tenant's subscriptions match. */
  scopeTenantId: string | null;
  receivedAt: Date;
  routedAt: Date | null;
}

export interface InvalidEventRecord {
  id: string;
  source: 'amqp' | 'http';
  tenantId: string | null;
  reason: string;
  problems: Array<{ path: string; message: string }>;
  /** The body as received (truncated to 256 KiB), so nothing is lost. */
  raw: string;
  receivedAt: Date;
}

export type AttemptStatus = 'succeeded' | 'failed';
export type AttemptNext = 'none' | 'retry' | 'dead_letter';

export interface AttemptRecord {
  id: string;
  tenantId: string;
  subscriptionId: string;
  eventId: string;
  eventType: string;
  webhookId: string;
  attempt: number;
  status: AttemptStatus;
  /** What happens next: nothing (success), a scheduled retry, or a dead letter. */
  next: AttemptNext;
  nextAttemptAt: Date | null;
  url: string;
  httpStatus: number | null;
  durationMs: number;
  responseHeaders: Record<string, string>;
  responseBody: string | null;
  error: string | null;
  replay: boolean;
  /** A test send (POST /v1/subscriptions/:id/test): shown in the log, never retried. */
  test?: boolean;
  createdAt: Date;
  /** Integrations: the id the third-party API gave what was created or updated. */
  externalId?: string | null;
  /** Integrations: each request of the attempt, with credentials masked. */
  steps?: AttemptStep[];
  /** Integrations: why nothing was sent (no trigger condition held, not qualified). */
  skipped?: string | null;
  /** Integrations with lead qualification: the score, whether it qualified, and the route taken. */
  routing?: RoutingResult | null;
}

export interface AttemptStep {
  trigger: string;
  action: string;
  method: string;
  url: string;
  status: number | null;
  durationMs: number;
  externalId: string | null;
  error: string | null;
  objectType?: string | null;
  result?: 'created' | 'updated' | 'failed' | null;
}

export type ConnectionStatus = 'active' | 'needs_reauth' | 'error';

/** A tenant's link to a connector: its settings and (sealed) credentials. */
export interface ConnectionRecord {
  id: string;
  tenantId: string;
  connector: string;
  /** The connector version the link was made with; its major version is pinned. */
  connectorVersion: string;
  /** Settings without the secret fields. */
  config: Record<string, unknown>;
  /** JSON of {credentials, secretConfig}, sealed by SecretBox; null when there are none. */
  secretsSealed: string | null;
  /** Values kept from the provider (e.g. Salesforce instance_url), usable as $connection.<name>. */
  metadata: Record<string, unknown>;
  status: ConnectionStatus;
  /** When the OAuth access token expires (null: no expiry known, or not OAuth). */
  tokenExpiresAt: Date | null;
  description: string | null;
  lastCheckAt: Date | null;
  lastCheckOk: boolean | null;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export type ConnectionPatch = Partial<
  Pick<ConnectionRecord, 'connectorVersion' | 'config' | 'secretsSealed' | 'metadata' | 'status' | 'tokenExpiresAt' | 'description' | 'lastCheckAt' | 'lastCheckOk' | 'lastError'>
>;

export type DeadLetterReason =
  | 'retries_exhausted'
  | 'endpoint_gone'
  | 'subscription_disabled'
  | 'permanent_failure'
  | 'connection_needs_reauth'
  /** A filter or transform of the subscription hit a sandbox limit (time, memory) on this event. */
  | 'expression_failed';

/** An OAuth authorization in progress: single use, short-lived, bound to a tenant and a browser. */
export interface OAuthStateRecord {
  /** The `state` parameter sent to the provider. */
  id: string;
  tenantId: string;
  connector: string;
  /** Relinking an existing connection; null creates a new one. */
  connectionId: string | null;
  /** JSON of {config, verifier, description}, sealed (config may hold secret settings). */
  sealed: string;
  /** sha256 of the nonce in the cookie of the browser that opened the flow; empty until one did. */
  browserNonceHash: string;
  authorizationUrl: string;
  redirectAfter: string | null;
  createdAt: Date;
  expiresAt: Date;
}

export interface SyncCountRow {
  tenantId: string;
  connectionId: string;
  objectType: string;
  /** Start of the hour the counts belong to. */
  hour: Date;
  created: number;
  updated: number;
  failed: number;
}

export interface DeadLetterRecord {
  id: string;
  tenantId: string;
  subscriptionId: string;
  eventId: string;
  eventType: string;
  webhookId: string;
  event: EventEnvelope;
  reason: DeadLetterReason;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: Date;
  replayedAt: Date | null;
  replayCount: number;
}

export interface ApiKeyRecord {
  /** Public id (key_...), what the API lists and revokes by. */
  id: string;
  /** sha256 of the key; the key itself is never stored. */
  hash: string;
  tenantId: string;
  name: string;
  /** What the key may do (see src/api/scopes.ts). Keys stored without scopes read as ['admin']. */
  scopes: string[];
  createdAt: Date;
  /** Updated at most about once a minute per process, not on every request. */
  lastUsedAt: Date | null;
  /** Set once revoked: the key is refused from then on. */
  revokedAt: Date | null;
}

/**
 * What upsertApiKey takes: the bootstrap key and older callers give no id or scopes.
 * Without an id one is derived from the hash (stable across restarts); without
 * scopes the key is an admin key. An upsert never clears lastUsedAt or revokedAt.
 */
export type ApiKeyInput = Omit<ApiKeyRecord, 'id' | 'scopes' | 'lastUsedAt' | 'revokedAt'> & Partial<Pick<ApiKeyRecord, 'id' | 'scopes'>>;

/** The id of a key stored without one: derived from its hash, so every process and restart agrees on it. */
export function apiKeyIdFor(hash: string): string {
  return `key_${createHash('sha256').update(`hookhub-api-key-id\n${hash}`).digest('hex').slice(0, 26)}`;
}

/** One change made through the API. Field names only: values are never recorded. */
export interface AuditEntry {
  id: string;
  tenantId: string;
  /** e.g. subscription.create, connection.update, api_key.revoke */
  action: string;
  resourceType: string;
  resourceId: string | null;
  /** Top-level names of the fields the request sent (never their values). */
  fields: string[];
  apiKeyId: string;
  apiKeyName: string;
  ip: string | null;
  userAgent: string | null;
  status: number;
  at: Date;
}

export interface AuditQuery extends PageRequest {
  resourceType?: string | undefined;
  resourceId?: string | undefined;
  action?: string | undefined;
}

/** One value sealed by SecretBox, wherever it is stored. */
export interface SealedValue {
  collection: 'subscriptions' | 'connections' | 'oauth_states';
  id: string;
  /** The field, e.g. secretSealed. */
  field: string;
  value: string;
}

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export interface PageRequest {
  limit: number;
  /** Id of the last item of the previous page; lists run newest first. */
  cursor?: string | undefined;
}

export interface AttemptQuery extends PageRequest {
  subscriptionId?: string | undefined;
  eventId?: string | undefined;
  status?: AttemptStatus | undefined;
}

/** One event's delivery to one subscription (what a webhook-id stands for). */
export interface DeliveryRef {
  tenantId: string;
  subscriptionId: string;
  eventId: string;
}

export interface DeadLetterQuery extends PageRequest {
  subscriptionId?: string | undefined;
}

/**
 * What the hub needs from its database, named by use. Implementations promise:
 * single-document atomicity, unique ids (a second insert of an id is reported,
 * not applied), and newest-first lists by id. They do NOT promise transactions
 * across documents, atomic read-modify-write under concurrency, or change
 * notifications: callers are written so that none of these are needed.
 */
export interface Store {
  readonly kind: 'memory' | 'mongo';
  connect(): Promise<void>;
  close(): Promise<void>;
  isReady(): boolean;
  /** Cheap round trip that proves the store answers. */
  ping(): Promise<void>;

  upsertApiKey(record: ApiKeyInput): Promise<void>;
  /** By hash, revoked or not (the caller refuses revoked keys). */
  findApiKey(hash: string): Promise<ApiKeyRecord | null>;
  /** A tenant's keys, revoked ones included, newest id first. */
  listApiKeys(tenantId: string, page: PageRequest): Promise<Page<ApiKeyRecord>>;
  /** Marks the key revoked (keeping the first revocation time); null when the tenant has no such key. */
  revokeApiKey(tenantId: string, id: string, at: Date): Promise<ApiKeyRecord | null>;
  /** Records a use of the key; callers throttle it (no write per request). */
  touchApiKey(hash: string, at: Date): Promise<void>;

  /** Insert only, in batches; unordered. */
  recordAuditEntries(entries: AuditEntry[]): Promise<void>;
  /** A tenant's audit trail, newest first. */
  listAuditEntries(tenantId: string, query: AuditQuery): Promise<Page<AuditEntry>>;

  insertSubscription(record: SubscriptionRecord): Promise<void>;
  getSubscription(tenantId: string, id: string): Promise<SubscriptionRecord | null>;
  /** By id alone, for the delivery worker (the job already names the tenant). */
  loadSubscription(id: string): Promise<SubscriptionRecord | null>;
  listSubscriptions(tenantId: string, kind: SubscriptionRecord['kind'], page: PageRequest): Promise<Page<SubscriptionRecord>>;
  updateSubscription(tenantId: string, id: string, patch: SubscriptionPatch): Promise<SubscriptionRecord | null>;
  deleteSubscription(tenantId: string, id: string): Promise<boolean>;
  /** Active subscriptions listening to `type` (or `*`), of any tenant when scope is null. */
  findSubscriptionsFor(type: string, scopeTenantId: string | null): Promise<SubscriptionRecord[]>;

  /** Integrations of one connection, of any state. */
  findIntegrationsOf(tenantId: string, connectionId: string): Promise<SubscriptionRecord[]>;

  insertConnection(record: ConnectionRecord): Promise<void>;
  getConnection(tenantId: string, id: string): Promise<ConnectionRecord | null>;
  /** By id alone, for the delivery worker. */
  loadConnection(id: string): Promise<ConnectionRecord | null>;
  listConnections(tenantId: string, page: PageRequest): Promise<Page<ConnectionRecord>>;
  updateConnection(tenantId: string, id: string, patch: ConnectionPatch): Promise<ConnectionRecord | null>;
  deleteConnection(tenantId: string, id: string): Promise<boolean>;

  /** Active connections whose OAuth token expires before `before`. */
  findConnectionsExpiringBefore(before: Date, limit: number): Promise<ConnectionRecord[]>;
  /** Active connections not checked since `before` (or never). */
  findConnectionsToCheck(before: Date, limit: number): Promise<ConnectionRecord[]>;

  insertOAuthState(record: OAuthStateRecord): Promise<void>;
  getOAuthState(id: string): Promise<OAuthStateRecord | null>;
  /** Binds the state to the first browser that opens it; false when another already did. */
  claimOAuthState(id: string, browserNonceHash: string): Promise<boolean>;
  /** Removes the state and says whether this call removed it: only one caller can use a state. */
  consumeOAuthState(id: string): Promise<boolean>;

  /** A lease under a unique name: true when this owner holds it now. An expired lease may be taken over. */
  acquireLease(name: string, owner: string, ttlMs: number): Promise<boolean>;
  releaseLease(name: string, owner: string): Promise<void>;

  /** Ids a connector remembered for things it created (e.g. a business's organization in a CRM). */
  putExternalRef(connectionId: string, type: string, key: string, externalId: string): Promise<void>;
  getExternalRef(connectionId: string, type: string, key: string): Promise<string | null>;

  /** Saves this process's counts (each row replaces the process's earlier row for its connection, object and hour). */
  saveSyncCounts(processId: string, rows: SyncCountRow[]): Promise<void>;
  /** Counts of all processes, summed per object type and hour, since `since`. */
  listSyncCounts(tenantId: string, connectionId: string, since: Date): Promise<SyncCountRow[]>;

  /** Inserts a batch; per event, 'duplicate' when one with its key was stored before. */
  insertEvents(events: StoredEvent[]): Promise<Array<'inserted' | 'duplicate'>>;
  getEvent(key: string): Promise<StoredEvent | null>;
  markEventsRouted(keys: string[], at: Date): Promise<void>;
  recordInvalidEvent(record: InvalidEventRecord): Promise<void>;

  /** Batch insert; unordered, so one bad row does not hold back the rest. */
  recordAttempts(records: AttemptRecord[]): Promise<void>;
  listAttempts(tenantId: string, query: AttemptQuery): Promise<Page<AttemptRecord>>;
  /**
   * For each delivery, in order, whether a successful attempt of it is on record
   * (checked before sending a redelivered job again). Sees what recordAttempts
   * stored before the call; no more.
   */
  haveSucceeded(deliveries: readonly DeliveryRef[]): Promise<boolean[]>;

  insertDeadLetter(record: DeadLetterRecord): Promise<void>;
  getDeadLetter(tenantId: string, id: string): Promise<DeadLetterRecord | null>;
  listDeadLetters(tenantId: string, query: DeadLetterQuery): Promise<Page<DeadLetterRecord>>;
  /** Dead letters of one subscription created in [since, until), not yet replayed. */
  findDeadLettersBetween(tenantId: string, subscriptionId: string, since: Date, until: Date): Promise<DeadLetterRecord[]>;
  markDeadLetterReplayed(tenantId: string, id: string, at: Date): Promise<void>;
  /** Not yet replayed dead letters of these subscriptions with this reason (parked deliveries). */
  findDeadLettersByReason(tenantId: string, subscriptionIds: string[], reason: DeadLetterReason): Promise<DeadLetterRecord[]>;

  /** Takes slot `slot` of time bucket `bucket` for `key` (a rate limit shared by all processes); false when taken. */
  claimRateSlot(key: string, bucket: number, slot: number): Promise<boolean>;
  /** Deletes rate slots older than `before`; returns how many. */
  deleteRateSlotsBefore(before: Date): Promise<number>;

  /** Every sealed value (fields named *Sealed / sealed), for the key check at start and re-encryption. */
  scanSealed(): AsyncIterable<SealedValue>;
  /** Replaces a sealed value if it is still the one scanned; false when it changed meanwhile. */
  replaceSealed(found: SealedValue, value: string): Promise<boolean>;

  /**
   * Deletes attempt records older than `before`; returns how many. Attempt ids are
   * time-ordered, made by newId at createdAt, and a store may go by the id's time.
   */
  purgeAttemptsBefore(before: Date): Promise<number>;
}
