/**
 * The shape of connectors/<name>/connector.yaml, as schemas/connector.schema.json
 * defines it. The schema is the source of truth; these types mirror it.
 */

export type AuthSpec =
  | { type: 'none' }
  | { type: 'api_key'; in: 'header' | 'query'; name: string; prefix?: string }
  | { type: 'basic' }
  | { type: 'webhook_url'; url_pattern?: string }
  | OAuth2Spec;

export interface OAuth2Spec {
  type: 'oauth2';
  authorization_url: string;
  token_url: string;
  scopes?: string[];
  scope_separator?: string;
  pkce?: boolean;
  client_auth?: 'client_secret_basic' | 'client_secret_post';
  authorize_params?: Record<string, string>;
  token_params?: Record<string, string>;
  keep?: string[];
  client_id_env?: string;
  client_secret_env?: string;
}

export interface ActionSpec {
  method: string;
  url?: string;
  path?: string;
  query?: Record<string, string>;
  headers?: Record<string, string> | string;
  body?: string | null;
  idempotency?: { header: string; key?: string };
  response?: { id?: string; created?: string };
  object?: string;
  operation?: 'create' | 'update' | 'upsert';
  external_ref?: { type: string; key: string; reuse?: boolean };
  max_lengths?: Record<string, number>;
  /** The jobs of one connection that reach this action go together, as one request. */
  batch?: { max_items: number; max_wait_ms: number };
}

export interface TriggerSpec {
  name?: string;
  event: string;
  when?: string;
  actions: string[];
  mapping?: string;
  mapping_file?: string;
  mapping_from_config?: string;
}

export type StatusMatch = number | string;

export type ErrorAction = 'retry' | 'fail' | 'refresh_token_then_retry' | 'success' | 'broken';

/** The delay a response gives in a header. */
export interface HeaderBackoff {
  header: string;
  format?: 'seconds' | 'epoch_seconds' | 'epoch_millis';
}

/** The delay a response gives in its body: JSONata over the parsed body, a number of `unit`s. */
export interface BodyBackoff {
  expression: string;
  unit?: 'seconds' | 'milliseconds';
}

export interface ErrorRuleSpec {
  status?: StatusMatch | StatusMatch[];
  body?: string;
  action: ErrorAction;
  backoff?: HeaderBackoff | BodyBackoff;
  message?: string;
}

/**
 * What a linked account must have for the connector to work (scopes granted, properties or fields
 * created), checked when a link is made or changed and on POST /v1/connections/:id/check.
 */
export interface RequirementsSpec {
  /** Scopes the token must have been granted (read from the token response's `scope`). */
  scopes?: string[];
  checks?: RequirementCheckSpec[];
}

/** One request that proves something exists in the account, and what to tell the customer when it does not. */
export interface RequirementCheckSpec {
  name: string;
  action: string;
  input?: unknown;
  /** JSONata over the link's settings ($config); the check runs only when it is true. */
  when?: string;
  /** JSONata over the parsed response, with $status and $headers bound; true means the account has it. */
  ok: string;
  /** What is missing and where to create it; {{ }} placeholders read the response and $config. */
  missing: string;
}

export interface ConnectorManifest {
  name: string;
  version: string;
  title: string;
  description: string;
  docs?: string;
  auth: AuthSpec;
  config?: Record<string, unknown>;
  base_url?: string;
  actions: Record<string, ActionSpec>;
  triggers: TriggerSpec[];
  errors?: ErrorRuleSpec[];
  rate_limit?: {
    requests: number;
    per_seconds: number;
    /** `reset`: time until the budget is back; `window`: the length of a rolling window. One of the two. */
    headers?: { remaining: string; reset?: string; reset_format?: 'seconds' | 'millis' | 'epoch_seconds'; window?: string; window_format?: 'seconds' | 'millis' };
    /** JSONata over each answer: how long the connection pauses (an API that says how much of its budget is spent). */
    pause?: { expression: string; unit?: 'seconds' | 'milliseconds' };
    /** A limit for all links of the connector together (an app-wide quota), in every process. */
    shared?: { requests: number; per_seconds: number };
  };
  health_check?: { action: string; input?: unknown; healthy?: string };
  requirements?: RequirementsSpec;
  /** The provider's own "who am I" request, for the linked account where the token response names none. */
  account?: { action: string; id?: string; name?: string; keep?: Record<string, string> };
  /** Requests right after an OAuth code exchange that may replace the token and keep values (a long-lived token, a page's token). */
  link_steps?: Array<{ action: string; error?: string; credentials?: string; keep?: Record<string, string> }>;
  /** At most this many requests of one connection in flight at once, in each process. */
  concurrency?: number;
  /** Reading back what became of the records the connector created (converted, won), on a schedule. */
  readback?: ReadbackSpec;
  /** Exporting past events on request (POST /v1/connections/:id/export). */
  export?: { action: string; landed: { action: string; ids: string } };
  hooks?: { before_request?: string };
}

/** A manifest's `readback`: the requests that read a batch of created records, and the JSONata that maps their answers. */
export interface ReadbackSpec {
  object: string;
  batch?: number;
  per_run?: number;
  requests: Array<{ action: string; when?: string }>;
  result: string;
}

export function majorOf(version: string): number {
  return Number(version.split('.')[0]);
}
