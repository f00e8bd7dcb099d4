import type { EncryptionOptions } from '../transport/payload-encryption';
import type { RetryConfig } from '../transport/retry-policy';
import type { FieldFilter, PayloadOptions, SigningOptions } from './model';
import type { HeaderInput } from './secret-headers';

/** Mutual TLS as a request gives it (PEM); stored sealed, never shown again. */
export interface TlsInput {
  clientCertificate: string;
  clientKey: string;
  ca?: string;
}

/**
 * A subscription's fields as schemas/subscription.schema.json admits them: what
 * `create` and `update` read once ajv has checked a request body. A type alias
 * (not an interface) so that it still passes where a plain record is expected.
 */
export type SubscriptionInput = {
  endpointUrl?: string;
  events?: string[];
  filters?: FieldFilter[];
  filter?: string | null;
  payload?: PayloadOptions | null;
  headers?: Record<string, HeaderInput>;
  retryConfig?: Partial<RetryConfig>;
  active?: boolean;
  description?: string | null;
  signing?: SigningOptions;
  encryption?: EncryptionOptions | null;
  allowedIps?: string[] | null;
  rateLimit?: { requestsPerSecond: number } | null;
  tls?: TlsInput | null;
  batch?: { maxEvents: number; maxWaitMs: number; maxBytes?: number } | null;
  ordering?: { key: string } | null;
};

/** A new subscription: the schema also requires its endpoint and events. */
export type SubscriptionCreateInput = SubscriptionInput & { endpointUrl: string; events: string[] };
