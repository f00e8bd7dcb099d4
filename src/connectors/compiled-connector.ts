import type { ValidateFunction } from 'ajv';
import type { CompiledExpression } from '../core/jsonata';
import type { BeforeRequestHook } from './hooks';
import type { ConnectorManifest, ErrorRuleSpec, HeaderBackoff, StatusMatch } from './manifest';
import type { Template } from './template';

export interface CompiledAction {
  name: string;
  method: Template;
  url: Template | null;
  path: Template | null;
  query: Array<[string, Template]>;
  headers: Array<[string, Template]> | CompiledExpression;
  /** null: the request has no body. */
  body: CompiledExpression | null;
  idempotency: { header: string; key: Template | null } | null;
  responseId: CompiledExpression | null;
  responseCreated: CompiledExpression | null;
  object: string | null;
  operation: 'create' | 'update' | 'upsert' | null;
  externalRef: { type: string; key: Template; reuse: boolean } | null;
  /** Longest text per top-level body field; longer strings are cut and the step says so. */
  maxLengths: Array<[string, number]>;
  /** The jobs of one connection that reach this action go as one request; null: each job sends its own. */
  batch: { maxItems: number; maxWaitMs: number } | null;
}

export interface CompiledTrigger {
  name: string;
  event: string;
  when: CompiledExpression | null;
  actions: string[];
  mapping: CompiledExpression | null;
  mappingFromConfig: string | null;
  /** Where the mapping lives, for error messages: a file or a place in the manifest. */
  mappingSource: string;
}

export interface CompiledErrorRule {
  statuses: StatusMatch[] | null;
  body: CompiledExpression | null;
  action: ErrorRuleSpec['action'];
  /** A header to read, or an expression over the parsed body; null: Retry-After. */
  backoff: HeaderBackoff | { expression: CompiledExpression; unit: 'seconds' | 'milliseconds' } | null;
  /** What the delivery says when the rule matches; {{ }} placeholders read the response. */
  message: Template | null;
}

export interface LoadedConnector {
  manifest: ConnectorManifest;
  major: number;
  dir: string;
  file: string;
  baseUrl: Template | null;
  actions: Map<string, CompiledAction>;
  triggers: CompiledTrigger[];
  errors: CompiledErrorRule[];
  configValidator: ValidateFunction | null;
  /** Paths of config fields marked "x-secret": stored encrypted, never returned. */
  secretPaths: string[][];
  /** Config fields marked "format": "jsonata", by name. */
  jsonataConfigFields: Set<string>;
  healthCheck: { action: string; input: unknown; healthy: CompiledExpression | null } | null;
  requirements: CompiledRequirements | null;
  /** `keep`: values of the answer kept with the connection, by name. */
  account: { action: string; id: CompiledExpression | null; name: CompiledExpression | null; keep: Array<[string, CompiledExpression]> } | null;
  /** rate_limit.pause: how long an answer pauses the connection. */
  ratePause: { expression: CompiledExpression; unit: 'seconds' | 'milliseconds' } | null;
  /** `link_steps`, in order; empty when the manifest has none. */
  linkSteps: CompiledLinkStep[];
  beforeRequest: BeforeRequestHook | null;
  urlPattern: RegExp | null;
  readback: CompiledReadback | null;
  export: CompiledExport | null;
}

/** A manifest's `export`, compiled: the batched action a page goes to, and the read of what already landed. */
export interface CompiledExport {
  action: string;
  landed: { action: string; ids: CompiledExpression | null };
}

/** A manifest's `readback`, compiled. */
export interface CompiledReadback {
  object: string;
  batch: number;
  perRun: number;
  requests: Array<{ action: string; when: CompiledExpression | null }>;
  result: CompiledExpression | null;
}

/** A manifest's `link_steps[]`, compiled. */
export interface CompiledLinkStep {
  action: string;
  /** Over the answer: a message when linking cannot go on (no account or several to choose from). */
  error: CompiledExpression | null;
  /** Over the answer: fields that replace the token response's (null removes one). */
  credentials: CompiledExpression | null;
  keep: Array<[string, CompiledExpression]>;
}

/** A manifest's `requirements`, compiled. */
export interface CompiledRequirements {
  scopes: string[];
  checks: Array<{ name: string; action: string; input: unknown; when: CompiledExpression | null; ok: CompiledExpression | null; missing: Template }>;
}
