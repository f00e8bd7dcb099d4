import type { RequirementsState } from '../connectors/requirements';

/** broken: an error rule of the connector said the link is dead (a deleted webhook, a revoked key); lastError says why. */
export type ConnectionStatus = 'active' | 'needs_reauth' | 'broken' | 'error';

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
  /** What the last check of the connector's `requirements` found missing in the linked account; absent before the first. */
  requirements?: RequirementsState | null;
  /** Failed OAuth token refreshes in a row, shared by every process; absent while refreshes work. */
  refreshBackoff?: RefreshBackoff;
  createdAt: Date;
  updatedAt: Date;
}

/** A connection's token refreshes failing: how many in a row, why the last did, and when the next may be tried. */
export interface RefreshBackoff {
  failures: number;
  retryAt: Date;
  reason: string;
}

/** The wait after the `failures`-th failed refresh in a row: the first wait, doubled per earlier failure, at most the max. */
export function backoffWait(failures: number, firstWaitMs: number, maxWaitMs: number): number {
  return Math.min(firstWaitMs * 2 ** Math.max(0, failures - 1), maxWaitMs);
}

/** The fields of a connection that change after creation. */
export type ConnectionPatch = Partial<
  Pick<ConnectionRecord, 'connectorVersion' | 'config' | 'secretsSealed' | 'metadata' | 'status' | 'tokenExpiresAt' | 'description' | 'lastCheckAt' | 'lastCheckOk' | 'lastError' | 'requirements'>
>;

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
  /** The API key that started the flow: the completed link is audited under it. */
  startedBy?: { keyId: string; keyName: string } | null;
  createdAt: Date;
  expiresAt: Date;
}

/** Objects a connection created, updated or failed to sync in one hour. */
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

/** A tenant's own settings (GET/PUT /v1/settings): one record per tenant, replaced as a whole. */
export interface TenantSettingsRecord {
  tenantId: string;
  /** Origins (scheme://host[:port], as URL.origin writes them) this tenant's linking flows may send the browser back to. */
  redirectOrigins: string[];
  updatedAt: Date;
}
