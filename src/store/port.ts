// Temporary: the types now live with their users; this file goes once every import points there.
export type { Page, PageRequest } from '../core/page';
export type { ApiKeyInput, ApiKeyRecord, AuditEntry, AuditQuery } from '../access/model';
export { apiKeyIdFor } from '../access/model';
export type { RetryConfig } from '../transport/retry-policy';
export type { EncryptionOptions } from '../transport/payload-encryption';
export type { SigningAlgorithm } from '../transport/signing';
export type {
  FilterOperator,
  FieldFilter,
  PayloadOptions,
  SigningOptions,
  IntegrationTarget,
  Qualification,
  RoutingResult,
  SubscriptionRecord,
  SubscriptionPatch,
  DeadLetterReason,
} from '../subscriptions/model';
export type { AttemptStep } from '../connectors/attempt-step';
export type { ConnectionStatus, ConnectionRecord, ConnectionPatch, OAuthStateRecord, SyncCountRow } from '../integrations/model';
export type {
  StoredEvent,
  InvalidEventRecord,
  AttemptStatus,
  AttemptNext,
  AttemptRecord,
  DeadLetterRecord,
  AttemptQuery,
  DeliveryRef,
  DeadLetterQuery,
} from '../pipeline/model';
export type { SealedValue } from '../secrets/sealed-values';
export type { Store } from './store';
