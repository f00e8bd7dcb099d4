import { Schema } from 'mongoose';
import type { Connection, Model } from 'mongoose';

/*
 * Document shapes. Anything that carries user-supplied keys (event data, filter
 * values, payload options) is stored as a JSON string: MongoDB-compatible
 * servers differ on keys with dots or a leading `$`, and the hub never queries
 * inside those values. Header maps are stored as name/value lists for the same reason.
 */

const nameValue = new Schema({ name: String, value: String }, { _id: false });

const subscriptionSchema = new Schema(
  {
    _id: String,
    tenantId: { type: String, required: true },
    kind: { type: String, default: 'webhook' },
    endpointUrl: { type: String, default: '' },
    events: { type: [String], required: true },
    filtersJson: { type: String, required: true },
    filter: { type: String, default: null },
    payloadJson: { type: String, default: null },
    headers: { type: [nameValue], default: [] },
    retryConfig: {
      maxRetries: Number,
      initialDelaySeconds: Number,
      backoffMultiplier: Number,
      maxBackoffSeconds: Number,
    },
    active: { type: Boolean, required: true },
    description: { type: String, default: null },
    secretSealed: { type: String, default: '' },
    // Signing and encryption; documents stored before these existed lack them (HMAC, no rotation, no encryption).
    signingAlgorithm: { type: String, default: 'hmac-sha256' },
    publicKey: { type: String, default: null },
    previousSecretSealed: { type: String, default: null },
    previousSecretExpiresAt: { type: Date, default: null },
    encryptionJson: { type: String, default: null },
    // Network rules; absent on older documents (any public address, no rate limit, no client certificate).
    allowedIps: { type: [String], default: undefined },
    rateLimit: { type: new Schema({ requestsPerSecond: Number }, { _id: false }), default: null },
    tlsSealed: { type: String, default: null },
    // Batch delivery; absent on older documents (one request per event).
    batch: { type: new Schema({ maxEvents: Number, maxWaitMs: Number, maxBytes: Number }, { _id: false }), default: null },
    // Per-key ordering; absent on older documents (no ordering).
    ordering: { type: new Schema({ key: String }, { _id: false }), default: null },
    // Secret custom headers: their names, and their values sealed; absent on older documents (none).
    secretHeaders: { type: [String], default: undefined },
    headersSealed: { type: String, default: null },
    integration: {
      type: new Schema({ connectionId: String, connector: String, triggers: { type: [String], default: undefined }, qualificationJson: { type: String, default: null } }, { _id: false }),
      default: null,
    },
    // A relay's client (hookhub listen): the process holding it, when last seen, how long it is kept without one.
    relay: { type: new Schema({ holder: { type: String, default: null }, lastSeenAt: Date, keepSeconds: Number }, { _id: false }), default: undefined },
    disabledReason: { type: String, default: null },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { versionKey: false, autoIndex: false },
);
subscriptionSchema.index({ tenantId: 1, _id: -1 });
subscriptionSchema.index({ events: 1, active: 1 });
subscriptionSchema.index({ tenantId: 1, 'integration.connectionId': 1 });
// The relay sweep: relays whose client was last seen long ago.
subscriptionSchema.index({ 'relay.lastSeenAt': 1 }, { sparse: true });

const connectionSchema = new Schema(
  {
    _id: String,
    tenantId: String,
    connector: String,
    connectorVersion: String,
    configJson: String,
    secretsSealed: { type: String, default: null },
    metadataJson: String,
    status: String,
    tokenExpiresAt: { type: Date, default: null },
    description: { type: String, default: null },
    lastCheckAt: { type: Date, default: null },
    lastCheckOk: { type: Boolean, default: null },
    lastError: { type: String, default: null },
    requirementsJson: { type: String, default: null },
    // Failed token refreshes in a row (absent while refreshes work), shared by every process.
    refreshFailures: Number,
    refreshRetryAt: Date,
    refreshError: String,
    createdAt: Date,
    updatedAt: Date,
  },
  { versionKey: false, autoIndex: false },
);
connectionSchema.index({ tenantId: 1, _id: -1 });
connectionSchema.index({ status: 1, tokenExpiresAt: 1 });
connectionSchema.index({ status: 1, lastCheckAt: 1 });

const oauthStateSchema = new Schema(
  {
    _id: String,
    tenantId: String,
    connector: String,
    connectionId: { type: String, default: null },
    sealed: String,
    browserNonceHash: String,
    authorizationUrl: String,
    redirectAfter: { type: String, default: null },
    createdAt: Date,
    expiresAt: Date,
  },
  { versionKey: false, autoIndex: false },
);
oauthStateSchema.index({ expiresAt: 1 });

/** Console sessions, under the sha256 of their token (see access/model.ts). */
const consoleSessionSchema = new Schema(
  { _id: String, tenantId: String, keyHash: String, csrfHash: String, createdAt: Date, expiresAt: Date },
  { versionKey: false, autoIndex: false },
);
consoleSessionSchema.index({ expiresAt: 1 });

/** Claims and uses of OAuth states: an insert under the state's id is the atomic "first one wins". */
const oauthClaimSchema = new Schema({ _id: String, kind: String, value: String, at: Date }, { versionKey: false, autoIndex: false });
oauthClaimSchema.index({ at: 1 });

/** Rate slots: a delivery may go in a time bucket once it inserted one of the bucket's slot ids. */
const rateSlotSchema = new Schema({ _id: String, at: Date }, { versionKey: false, autoIndex: false });
rateSlotSchema.index({ at: 1 });

/** Leases: a unique _id is the lock; expiresAt lets a crashed holder's lease be taken over. */
const leaseSchema = new Schema({ _id: String, owner: String, expiresAt: Date }, { versionKey: false, autoIndex: false });

const externalRefSchema = new Schema({ _id: String, connectionId: String, externalId: String, at: Date }, { versionKey: false, autoIndex: false });

/** A tenant's settings, under the tenant's id; the origins as a plain list of strings. */
const tenantPlanSchema = new Schema({ _id: String, plan: String, source: String, changedAt: Date, directoryChangedAt: Date }, { versionKey: false, autoIndex: false });
tenantPlanSchema.index({ plan: 1 });
const usageCountSchema = new Schema({ _id: String, tenantId: String, period: String, metric: String, count: Number }, { versionKey: false, autoIndex: false });
usageCountSchema.index({ tenantId: 1, period: 1 });
const usageNoticeSchema = new Schema({ _id: String, tenantId: String, period: String, notice: String }, { versionKey: false, autoIndex: false });
usageNoticeSchema.index({ notice: 1 });
const tenantSettingsSchema = new Schema({ _id: String, redirectOrigins: { type: [String], default: undefined }, updatedAt: Date }, { versionKey: false, autoIndex: false });

/** A load test of a subscription's endpoint; listed per subscription, newest first. */
const loadTestSchema = new Schema(
  { _id: String, tenantId: String, subscriptionId: String, rate: Number, seconds: Number, createdAt: Date, resultJson: String },
  { versionKey: false, autoIndex: false },
);
loadTestSchema.index({ tenantId: 1, subscriptionId: 1, _id: -1 });

/** `hookhub tunnel` URLs: found by the hash of their token (unique), listed by tenant. */
const tunnelSchema = new Schema(
  { _id: String, tenantId: String, tokenHash: String, resumeHash: String, target: String, apiKeyId: String, holder: String, lastSeenAt: Date, keepSeconds: Number, createdAt: Date },
  { versionKey: false, autoIndex: false },
);
tunnelSchema.index({ tokenHash: 1 }, { unique: true });
tunnelSchema.index({ tenantId: 1, _id: -1 });

/** One row per process, connection, object type and hour; readers sum the processes' rows. */
const syncCountSchema = new Schema(
  { _id: String, tenantId: String, connectionId: String, objectType: String, hour: Date, created: Number, updated: Number, failed: Number },
  { versionKey: false, autoIndex: false },
);
syncCountSchema.index({ tenantId: 1, connectionId: 1, hour: 1 });

/**
 * Delivery analytics: one row per writer (process), tenant, subscription, event type, resolution
 * ('m' minute, 'h' hour) and start, added to with $inc by its writer alone and summed on read.
 * Counters in `c`, latency histograms (bucket index → count) in `lat`, `first`, `ok`; `w` is the
 * id of the last write that added to the row (a retried write skips the rows it reached).
 */
const deliveryStatsSchema = new Schema(
  { _id: String, writer: String, tenantId: String, subscriptionId: String, eventType: String, resolution: String, start: Date, w: Number },
  { versionKey: false, autoIndex: false, strict: false },
);
deliveryStatsSchema.index({ tenantId: 1, resolution: 1, start: 1 });
deliveryStatsSchema.index({ start: 1 });

/** Endpoint health: one slice per process, subscription and slice start (whole documents, written by their process). */
const healthSliceSchema = new Schema(
  {
    _id: String, processId: String, tenantId: String, subscriptionId: String, sliceStart: Date, attempts: Number, succeeded: Number,
    latency: { type: [Number], default: undefined }, lastSuccessAt: Date, lastFailureAt: Date, recentFailures: { type: [Date], default: undefined },
  },
  { versionKey: false, autoIndex: false },
);
healthSliceSchema.index({ sliceStart: 1 });
healthSliceSchema.index({ subscriptionId: 1, sliceStart: 1 });

/** The endpoint health monitor's verdict, under the subscription's id. */
const healthRecordSchema = new Schema(
  {
    _id: String, tenantId: String, state: String, since: Date, reason: String, lastSuccessAt: Date, lastFailureAt: Date,
    failingSince: Date, countFrom: Date, updatedAt: Date,
  },
  { versionKey: false, autoIndex: false },
);
healthRecordSchema.index({ state: 1 });

/** Records connections created in CRMs, followed until won or lost; the read-back takes the open ones read longest ago first. */
const trackedRecordSchema = new Schema(
  {
    _id: String, tenantId: String, connectionId: String, objectType: String, eventId: String, subjectId: String, route: String,
    externalId: String, state: String, sentAt: Date, createdAt: Date, convertedAt: Date, closedAt: Date, opportunityId: String,
    stage: String, amount: Number, currency: String, checkedAt: Date,
  },
  { versionKey: false, autoIndex: false },
);
trackedRecordSchema.index({ connectionId: 1, state: 1, checkedAt: 1 });
trackedRecordSchema.index({ tenantId: 1, connectionId: 1, sentAt: 1 });

/** Exports of past events; the cursor and the written-ahead page as plain fields (see connection-exports.ts). */
const exportSchema = new Schema(
  {
    _id: String, tenantId: String, connectionId: String, type: String, since: Date, until: Date, state: String, exported: Number,
    cursorReceivedAt: Date, cursorKey: String, pending: [String], pendingSet: Boolean, lastRange: String, error: String,
    createdAt: Date, updatedAt: Date, finishedAt: Date,
  },
  { versionKey: false, autoIndex: false },
);
exportSchema.index({ tenantId: 1, connectionId: 1, createdAt: -1 });
exportSchema.index({ state: 1, createdAt: 1 });

const eventSchema = new Schema(
  {
    _id: String,
    type: String,
    envelopeJson: String,
    scopeTenantId: { type: String, default: null },
    receivedAt: Date,
  },
  { versionKey: false, autoIndex: false },
);
eventSchema.index({ receivedAt: 1 });

const routedEventSchema = new Schema({ _id: String, at: Date }, { versionKey: false, autoIndex: false });
routedEventSchema.index({ at: 1 });

const invalidEventSchema = new Schema(
  {
    _id: String,
    source: String,
    tenantId: { type: String, default: null },
    reason: String,
    problemsJson: String,
    raw: String,
    receivedAt: Date,
  },
  { versionKey: false, autoIndex: false },
);
invalidEventSchema.index({ receivedAt: 1 });

/**
 * Attempts are the hottest write: only the fields lists filter on are fields
 * of their own; the rest travels as one JSON string, which costs a
 * MongoDB-protocol server markedly less per row than a dozen fields do.
 */
const attemptSchema = new Schema(
  {
    _id: String,
    tenantId: String,
    subscriptionId: String,
    eventId: String,
    status: String,
    eventType: String,
    // Only on failed attempts with a retry to come: when it is due (the tenant's pending retries are counted by it).
    retryAt: Date,
    // createdAt is in detailJson; ids are time-ordered, so retention purges by _id.
    detailJson: String,
  },
  { versionKey: false, autoIndex: false },
);
attemptSchema.index({ tenantId: 1, _id: -1 });
attemptSchema.index({ tenantId: 1, subscriptionId: 1, _id: -1 });
attemptSchema.index({ tenantId: 1, eventId: 1, _id: -1 });
// The delivery log's other filters (GET /v1/deliveries?status=, ?type=), each with its own index.
attemptSchema.index({ tenantId: 1, status: 1, _id: -1 });
attemptSchema.index({ tenantId: 1, eventType: 1, _id: -1 });
// The retries still to come (GET /v1/analytics/queues): a range read of this index, never a count of the tenant's attempts.
attemptSchema.index({ tenantId: 1, retryAt: 1 });

const deadLetterSchema = new Schema(
  {
    _id: String,
    tenantId: String,
    subscriptionId: String,
    eventId: String,
    eventType: String,
    webhookId: String,
    eventJson: String,
    reason: String,
    attempts: Number,
    lastStatus: { type: Number, default: null },
    lastError: { type: String, default: null },
    createdAt: Date,
    replayedAt: { type: Date, default: null },
    replayCount: { type: Number, default: 0 },
    // Batch delivery: absent on dead letters of single deliveries.
    batch: { type: new Schema({ id: String, index: Number, size: Number }, { _id: false }), default: undefined },
    // Per-key ordering: absent on dead letters of unordered deliveries.
    overtakenBy: { type: [String], default: undefined },
  },
  { versionKey: false, autoIndex: false },
);
deadLetterSchema.index({ tenantId: 1, _id: -1 });
deadLetterSchema.index({ tenantId: 1, subscriptionId: 1, createdAt: 1 });
// The dead letters not yet replayed, counted by reason (GET /v1/analytics/queues).
deadLetterSchema.index({ tenantId: 1, replayedAt: 1 });

/** Per-key ordering: a lane that holds something; _id is the lane id. */
const orderedLaneSchema = new Schema(
  {
    _id: String,
    tenantId: String,
    subscriptionId: String,
    key: String,
    heldBy: { type: String, default: null },
    heldSince: { type: Date, default: null },
    tail: Number,
    dead: { type: [new Schema({ id: String, overtakers: Number }, { _id: false })], default: [] },
    updatedAt: Date,
  },
  { versionKey: false, autoIndex: false },
);

/** A job waiting in its lane's backlog; _id is `<lane id>:<webhook-id>`, so a job is added once. */
const backlogEntrySchema = new Schema(
  { _id: String, laneId: String, seq: Number, webhookId: String, jobJson: String, addedAt: Date },
  { versionKey: false, autoIndex: false },
);
backlogEntrySchema.index({ laneId: 1, seq: 1 });

/** _id is the key's sha256; keyId the public id (absent on keys stored before ids: derived from the hash). */
const apiKeySchema = new Schema(
  {
    _id: String,
    keyId: String,
    tenantId: String,
    name: String,
    scopes: { type: [String], default: undefined },
    createdAt: Date,
    lastUsedAt: { type: Date, default: null },
    revokedAt: { type: Date, default: null },
  },
  { versionKey: false, autoIndex: false },
);
apiKeySchema.index({ tenantId: 1, keyId: 1 });

/** Insert only: one row per change made through the API. */
const auditEntrySchema = new Schema(
  {
    _id: String,
    tenantId: String,
    action: String,
    resourceType: String,
    resourceId: { type: String, default: null },
    fields: { type: [String], default: [] },
    apiKeyId: String,
    apiKeyName: String,
    ip: { type: String, default: null },
    userAgent: { type: String, default: null },
    status: Number,
    at: Date,
    details: { type: Schema.Types.Mixed, default: null },
  },
  { versionKey: false, autoIndex: false },
);
auditEntrySchema.index({ tenantId: 1, _id: -1 });

export interface HubModels {
  subscriptions: Model<Record<string, unknown>>;
  events: Model<Record<string, unknown>>;
  routedEvents: Model<Record<string, unknown>>;
  invalidEvents: Model<Record<string, unknown>>;
  attempts: Model<Record<string, unknown>>;
  deadLetters: Model<Record<string, unknown>>;
  orderedLanes: Model<Record<string, unknown>>;
  backlog: Model<Record<string, unknown>>;
  apiKeys: Model<Record<string, unknown>>;
  auditLog: Model<Record<string, unknown>>;
  connections: Model<Record<string, unknown>>;
  oauthStates: Model<Record<string, unknown>>;
  consoleSessions: Model<Record<string, unknown>>;
  oauthClaims: Model<Record<string, unknown>>;
  leases: Model<Record<string, unknown>>;
  rateSlots: Model<Record<string, unknown>>;
  externalRefs: Model<Record<string, unknown>>;
  syncCounts: Model<Record<string, unknown>>;
  deliveryStats: Model<Record<string, unknown>>;
  trackedRecords: Model<Record<string, unknown>>;
  exports: Model<Record<string, unknown>>;
  tenantSettings: Model<Record<string, unknown>>;
  loadTests: Model<Record<string, unknown>>;
  tunnels: Model<Record<string, unknown>>;
  tenantPlans: Model<Record<string, unknown>>;
  usageCounts: Model<Record<string, unknown>>;
  usageNotices: Model<Record<string, unknown>>;
  healthSlices: Model<Record<string, unknown>>;
  healthRecords: Model<Record<string, unknown>>;
}

export function registerModels(connection: Connection): HubModels {
  const model = (name: string, schema: Schema, collection: string): Model<Record<string, unknown>> =>
    connection.model<Record<string, unknown>>(name, schema as Schema<Record<string, unknown>>, collection);
  return {
    subscriptions: model('Subscription', subscriptionSchema, 'subscriptions'),
    events: model('Event', eventSchema, 'events'),
    routedEvents: model('RoutedEvent', routedEventSchema, 'routed_events'),
    invalidEvents: model('InvalidEvent', invalidEventSchema, 'invalid_events'),
    attempts: model('Attempt', attemptSchema, 'delivery_attempts'),
    deadLetters: model('DeadLetter', deadLetterSchema, 'dead_letters'),
    orderedLanes: model('OrderedLane', orderedLaneSchema, 'ordered_lanes'),
    backlog: model('BacklogEntry', backlogEntrySchema, 'ordered_backlog'),
    apiKeys: model('ApiKey', apiKeySchema, 'api_keys'),
    auditLog: model('AuditEntry', auditEntrySchema, 'audit_log'),
    connections: model('Connection', connectionSchema, 'connections'),
    oauthStates: model('OAuthState', oauthStateSchema, 'oauth_states'),
    consoleSessions: model('ConsoleSession', consoleSessionSchema, 'console_sessions'),
    oauthClaims: model('OAuthClaim', oauthClaimSchema, 'oauth_state_claims'),
    leases: model('Lease', leaseSchema, 'leases'),
    rateSlots: model('RateSlot', rateSlotSchema, 'rate_slots'),
    externalRefs: model('ExternalRef', externalRefSchema, 'external_refs'),
    syncCounts: model('SyncCount', syncCountSchema, 'sync_counts'),
    deliveryStats: model('DeliveryStats', deliveryStatsSchema, 'delivery_stats'),
    trackedRecords: model('TrackedRecord', trackedRecordSchema, 'tracked_records'),
    exports: model('ConnectionExport', exportSchema, 'connection_exports'),
    tenantSettings: model('TenantSettings', tenantSettingsSchema, 'tenant_settings'),
    loadTests: model('LoadTest', loadTestSchema, 'load_tests'),
    tunnels: model('Tunnel', tunnelSchema, 'tunnels'),
    tenantPlans: model('TenantPlan', tenantPlanSchema, 'tenant_plans'),
    usageCounts: model('UsageCount', usageCountSchema, 'usage_counts'),
    usageNotices: model('UsageNotice', usageNoticeSchema, 'usage_notices'),
    healthSlices: model('HealthSlice', healthSliceSchema, 'endpoint_health_slices'),
    healthRecords: model('HealthRecord', healthRecordSchema, 'endpoint_health'),
  };
}
