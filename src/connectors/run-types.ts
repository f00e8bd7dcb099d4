import type { EventEnvelope } from '../events/envelope';
import type { HttpResult } from '../transport/http-sender';
import type { AttemptStep } from './attempt-step';
import type { CompiledAction } from './compiled-connector';
import type { OutgoingRequest } from './hooks';
import type { ResponseVerdict } from './response-rules';

/** What one link brings to a run: its settings (secrets included), credentials and kept token values. */
export interface ConnectionContext {
  connectionId: string;
  config: Record<string, unknown>;
  credentials: Record<string, unknown>;
  metadata: Record<string, unknown>;
  /** Values of the config fields marked secret, masked wherever a run records text. */
  secretValues?: readonly string[];
  /** Replaces the manifest's base_url (HOOKHUB_<NAME>_BASE_URL: a sandbox, a proxy). */
  baseUrl?: string;
}

/** Sends one rendered request: over HTTP in the hub, from canned responses in fixtures. */
export interface Transport {
  send(action: string, request: OutgoingRequest): Promise<HttpResult>;
}

/** One request of a run, as the attempt record shows it (credentials masked in the URL). */
export type StepRecord = Required<AttemptStep>;

/** A request as sent, unmasked, with the action that sent it. */
export interface SentRequest {
  action: string;
  request: OutgoingRequest;
}

/** Ids a connector remembered per connection (external_ref), for $ref(type, key). */
export interface ExternalRefs {
  get(type: string, key: string): Promise<string | null>;
  put(type: string, key: string, externalId: string): Promise<void>;
}

export type RunOutcome =
  | { kind: 'success' }
  | { kind: 'skipped'; reason: string }
  | { kind: 'retry'; retryAfterMs: number | null; reason: string }
  | { kind: 'fail'; reason: string }
  | { kind: 'refresh'; reason: string }
  /** An error rule said the link is dead: the caller marks the connection broken and parks its deliveries. */
  | { kind: 'broken'; reason: string };

export interface RunResult {
  outcome: RunOutcome;
  steps: StepRecord[];
  /** The requests as sent, unmasked: for dry runs and fixtures only, never stored. */
  requests: SentRequest[];
  /** The external id of the last step that gave one. */
  externalId: string | null;
  /** The last HTTP result, for the attempt record. */
  last: HttpResult | null;
}

export interface RunOptions {
  webhookId: string;
  /** Trigger names an integration limits itself to; null: every trigger for the event type. */
  triggers: readonly string[] | null;
  transport: Transport;
  /** Waits for a rate-limit slot before each request. */
  beforeSend?: (action: string) => Promise<void>;
  /** Refreshes the OAuth token when the API's errors say so; returns the new credentials. Used once per request. */
  refreshCredentials?: () => Promise<Record<string, unknown>>;
  refs?: ExternalRefs;
  /** Where a batched action's input goes to be sent with other jobs' (the integration target); without it, a batch of one is sent at once. */
  batches?: BatchSink;
  /** The integration's lead qualification result, bound as $routing. */
  routing?: { score: number | null; qualified: boolean; route: string | null };
  now?: Date;
}

/** One job's part of a batched action's request: its mapped input and its event. */
export interface BatchItem {
  input: unknown;
  event: EventEnvelope;
}

/** A batch's one request and its answer, after at most one token refresh: every job of the batch records it. */
export interface BatchExchange {
  request: OutgoingRequest;
  http: HttpResult;
  body: unknown;
  verdict: ResponseVerdict;
  refreshed: boolean;
}

/** Takes a job's item into its connection's pending batch of `action`; resolves when the batch's request has answered, null when it was not sent. */
export interface BatchSink {
  join(action: CompiledAction, item: BatchItem): Promise<BatchExchange | null>;
}
