import type { EncryptionOptions } from '../transport/payload-encryption';
import type { RetryConfig } from '../transport/retry-policy';
import type { SigningAlgorithm } from '../transport/signing';

export type FilterOperator = 'equals' | 'contains' | 'in' | 'exists';

/** One structured filter condition on a field of the event. */
export interface FieldFilter {
  field: string;
  operator: FilterOperator;
  value?: unknown;
}

/** How the delivered body is shaped: selected fields of `data`, or a JSONata transform. */
export interface PayloadOptions {
  fields?: string[];
  transform?: string;
}

/**
 * Batch delivery: matched events gather and go as one signed request of up to `maxEvents` events, sent
 * when it is full, when it would pass `maxBytes`, or when its first event has waited `maxWaitMs`.
 */
export interface BatchOptions {
  maxEvents: number;
  maxWaitMs: number;
  maxBytes: number;
}

/**
 * Per-key ordering: events whose `key` (JSONata over the envelope, e.g. `data.id`) has the same
 * value reach the endpoint one at a time, in the order they were published; a failing event holds
 * back only the later events of its key (docs/ordering.md).
 */
export interface OrderingOptions {
  key: string;
}

/** How deliveries are signed: Standard Webhooks v1 (HMAC, `whsec_`) or v1a (Ed25519, `whsk_`/`whpk_`). Fixed at creation. */
export interface SigningOptions {
  algorithm: SigningAlgorithm;
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

/** Lead qualification of an integration: expressions over the envelope. */
export interface Qualification {
  /** JSONata over the envelope giving a number, bound as $score in the rest. */
  score: string | null;
  /** JSONata boolean; an event that is not qualified is skipped (and recorded so). */
  qualify: string | null;
  /** The first route whose `when` holds (or has none) picks the connection; none matching: the integration's own. */
  routes: Array<{ when: string | null; connectionId: string; label: string }>;
}

/** What lead qualification decided for one event. */
export interface RoutingResult {
  score: number | null;
  qualified: boolean;
  route: string | null;
  connectionId: string;
}

/** What every subscription has, whichever kind: which events it gets, how it retries, whether it is on. */
interface SubscriptionBase {
  id: string;
  tenantId: string;
  events: string[];
  filters: FieldFilter[];
  filter: string | null;
  retryConfig: RetryConfig;
  active: boolean;
  description: string | null;
  disabledReason: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A webhook subscription: signed POSTs of shaped events to its endpoint. */
export interface WebhookSubscription extends SubscriptionBase {
  kind: 'webhook';
  endpointUrl: string;
  payload: PayloadOptions | null;
  headers: Record<string, string>;
  /** The signing secret, sealed by SecretBox; never leaves the hub unsealed except on request. */
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
  /** Batch delivery; absent or null: one request per event. */
  batch?: BatchOptions | null;
  /** Per-key ordering; absent or null: deliveries in no particular order. */
  ordering?: OrderingOptions | null;
}

/** An integration: a connection subscribed to events, delivered by its connector's triggers. */
export interface IntegrationSubscription extends SubscriptionBase {
  kind: 'integration';
  integration: IntegrationTarget;
}

/** Where a relay's client is: the hub process holding its WebSocket (null: none), and when that was last confirmed. */
export interface RelayState {
  /** The process holding the client's connection; null while no client is connected. */
  holder: string | null;
  /** When the holder last confirmed the connection, or when the client went away. */
  lastSeenAt: Date;
  /** The relay is removed once it has had no client for this long. */
  keepSeconds: number;
}

/**
 * A relay for `hookhub listen`: deliveries shaped and signed as for a webhook (HMAC), written to a
 * developer's CLI over its WebSocket, which posts them to a local URL and answers with the response.
 */
export interface RelaySubscription extends SubscriptionBase {
  kind: 'relay';
  payload: PayloadOptions | null;
  /** The signing secret, sealed; the CLI prints it so the local app can verify. */
  secretSealed: string;
  relay: RelayState;
}

/**
 * A webhook subscription, an integration (a connection subscribed to events), or a relay to a listening CLI.
 * The router treats all alike; the delivery worker hands each to the target of its kind.
 */
export type Subscription = WebhookSubscription | IntegrationSubscription | RelaySubscription;

/** The kinds of subscription, each delivered by its own target. */
export type SubscriptionKind = Subscription['kind'];

/** The subscription of one kind. */
export type SubscriptionOf<K extends SubscriptionKind> = Extract<Subscription, { kind: K }>;

/** What a patch may carry: everything but identity, kind and the timestamps the store keeps. */
type Changeable<T> = Omit<T, 'id' | 'tenantId' | 'kind' | 'createdAt' | 'updatedAt'>;

/** The fields of a webhook subscription that change after creation (signing.algorithm is fixed at creation). */
export type WebhookPatch = Partial<Omit<Changeable<WebhookSubscription>, 'signing'>>;

/** The fields of an integration that change after creation. */
export type IntegrationPatch = Partial<Changeable<IntegrationSubscription>>;

/** The fields of a relay that change after creation: where its client is. */
export type RelayPatch = Partial<Pick<RelaySubscription, 'relay'>>;

/** A change to a subscription of any kind; the repository applies it to the stored one. */
export type SubscriptionPatch = WebhookPatch | IntegrationPatch | RelayPatch;

/**
 * Why a delivery to a subscription ends as a dead letter. Here rather than with
 * the dead letters (pipeline/) because the delivery targets below the pipeline name it.
 */
export type DeadLetterReason =
  | 'retries_exhausted'
  | 'endpoint_gone'
  | 'subscription_disabled'
  | 'permanent_failure'
  | 'connection_needs_reauth'
  /** Parked: the connector's API said the connection's link is dead; replayed once it is fixed. */
  | 'connection_broken'
  /** A filter or transform of the subscription hit a sandbox limit (time, memory) on this event. */
  | 'expression_failed'
  /** Parked: the tenant's monthly delivery quota was used up under a plan that pauses; resumed on an upgrade or in the next month. */
  | 'quota_exceeded';
