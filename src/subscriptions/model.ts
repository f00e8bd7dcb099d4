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

/** The fields of a subscription that change after creation. */
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
  /** A filter or transform of the subscription hit a sandbox limit (time, memory) on this event. */
  | 'expression_failed';
