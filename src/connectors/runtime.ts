import { errorMessage, HubError, UnrecoverableError } from '../core/errors';
import { compileJsonata } from '../core/jsonata';
import type { CompiledExpression } from '../core/jsonata';
import { Memo } from '../core/memo';
import type { EventEnvelope } from '../events/envelope';
import type { AttemptStep } from './attempt-step';
import type { HttpResult } from '../transport/http-sender';
import { USER_AGENT } from '../webhooks/webhook-request';
import type { OutgoingRequest } from './hooks';
import type { CompiledAction, CompiledTrigger, LoadedConnector } from './loader';
import { judgeResponse, parseBody } from './response-rules';

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
  | { kind: 'refresh'; reason: string };

export interface RunResult {
  outcome: RunOutcome;
  steps: StepRecord[];
  /** The requests as sent, unmasked: for dry runs and fixtures only, never stored. */
  requests: Array<{ action: string; request: OutgoingRequest }>;
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
  /** The integration's lead qualification result, bound as $routing. */
  routing?: { score: number | null; qualified: boolean; route: string | null };
  now?: Date;
}

const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);

/** Runs a connector's triggers for one event: mapping, then the actions in order. */
export class ConnectorRuntime {
  /** Tenant-supplied JSONata (mapping_from_config), compiled once per distinct expression. */
  private readonly userExpressions = new Memo<string, CompiledExpression>(1000);

  async run(connector: LoadedConnector, event: EventEnvelope, ctx: ConnectionContext, options: RunOptions): Promise<RunResult> {
    const result: RunResult = { outcome: { kind: 'success' }, steps: [], requests: [], externalId: null, last: null };
    const refs = options.refs;
    const base: Record<string, unknown> = {
      event,
      config: ctx.config,
      credentials: ctx.credentials,
      connection: { ...ctx.metadata, id: ctx.connectionId },
      routing: options.routing ?? null,
      ref: async (type: unknown, key: unknown) => {
        const found = refs ? await refs.get(String(type), String(key)) : null;
        if (found === null) throw new Error(`no ${String(type)} is known for "${String(key)}" on this connection (it is remembered when this connection creates it)`);
        return found;
      },
    };
    const selected = connector.triggers.filter(
      (t) => (t.event === event.type || t.event === '*') && (options.triggers === null || options.triggers.includes(t.name)),
    );
    let ran = 0;
    const masker = secretMasker(ctx);
    try {
      for (const trigger of selected) {
        if (trigger.when && (await this.evaluate(connector, `trigger ${trigger.name}, when`, trigger.when, event, base)) !== true) continue;
        ran++;
        const input = await this.mappingInput(connector, trigger, event, base, ctx);
        const steps: Record<string, unknown> = {};
        for (const actionName of trigger.actions) {
          const action = connector.actions.get(actionName);
          if (!action) throw new UnrecoverableError('connector_action_missing', `connector ${connector.manifest.name}: action "${actionName}" is not declared`);
          const done = await this.runAction(connector, trigger.name, action, input, { ...base, steps }, ctx, options, result, masker);
          if (!done) return result;
          steps[actionName] = done;
        }
      }
    } catch (err) {
      // A lost OAuth grant is the caller's to handle (it parks deliveries), not a failure of this request.
      if (!(err instanceof UnrecoverableError) || err.code === 'connection_needs_reauth') throw err;
      result.outcome = { kind: 'fail', reason: masker(err.message) };
      return result;
    }
    if (ran === 0) result.outcome = { kind: 'skipped', reason: selected.length === 0 ? `connector ${connector.manifest.name} has no trigger for ${event.type}` : 'no trigger condition (when) was true' };
    return result;
  }

  /** One action: send (refreshing the token once if the API asks), judge, remember ids. Null when the run must stop. */
  private async runAction(
    connector: LoadedConnector,
    trigger: string,
    action: CompiledAction,
    input: unknown,
    bindings: Record<string, unknown>,
    ctx: ConnectionContext,
    options: RunOptions,
    result: RunResult,
    masker: (text: string) => string,
  ): Promise<{ status: number | null; body: unknown; id: string | null } | null> {
    const step: StepRecord = { trigger, action: action.name, method: '', url: '', status: null, durationMs: 0, externalId: null, error: null, objectType: action.object, result: null };
    let refKey: string | null = null;
    if (action.externalRef && options.refs) {
      refKey = await action.externalRef.key.render(input, bindings);
      const known = action.externalRef.reuse ? await options.refs.get(action.externalRef.type, refKey) : null;
      if (known !== null) {
        result.steps.push({ ...step, method: 'SKIP', url: `${action.externalRef.type} ${refKey} is already ${known}`, externalId: known });
        result.externalId = known;
        return { status: null, body: null, id: known };
      }
    }
    let refreshed = false;
    for (;;) {
      const request = await this.render(connector, action, input, bindings, ctx, options);
      result.requests.push({ action: action.name, request });
      await options.beforeSend?.(action.name);
      const http = await options.transport.send(action.name, request);
      result.last = http;
      const body = parseBody(http);
      const verdict = await judgeResponse(connector.errors, http, body);
      Object.assign(step, { method: request.method, url: masker(request.url), status: http.status, durationMs: step.durationMs + http.durationMs });
      if (verdict.kind === 'refresh' && options.refreshCredentials && !refreshed) {
        refreshed = true;
        ctx.credentials = await options.refreshCredentials();
        bindings['credentials'] = ctx.credentials;
        continue;
      }
      result.steps.push(step);
      if (verdict.kind !== 'success') {
        step.error = masker(verdict.kind === 'refresh' && refreshed ? `${verdict.reason} (again after a token refresh; link the account again)` : verdict.reason);
        if (action.object) step.result = 'failed';
        result.outcome = verdict.kind === 'retry' ? { ...verdict, reason: step.error } : { kind: verdict.kind === 'refresh' ? 'fail' : verdict.kind, reason: `${action.name}: ${step.error}` };
        return null;
      }
      const responseBindings = { status: http.status, headers: http.headers };
      if (action.responseId) {
        const id = await this.evaluate(connector, `action ${action.name}, response.id`, action.responseId, body, responseBindings);
        step.externalId = id === undefined || id === null ? null : String(id);
        if (step.externalId !== null) result.externalId = step.externalId;
      }
      if (action.operation === 'create') step.result = 'created';
      else if (action.operation === 'update') step.result = 'updated';
      else if (action.operation === 'upsert') {
        const created = action.responseCreated ? (await this.evaluate(connector, `action ${action.name}, response.created`, action.responseCreated, body, responseBindings)) === true : http.status === 201;
        step.result = created ? 'created' : 'updated';
      }
      if (action.externalRef && options.refs && refKey !== null && step.externalId !== null) {
        await options.refs.put(action.externalRef.type, refKey, step.externalId);
      }
      return { status: http.status, body, id: step.externalId };
    }
  }

  /** Runs a connector's health check: one request, judged healthy by its `healthy` expression or a 2xx. */
  async check(
    connector: LoadedConnector,
    ctx: ConnectionContext,
    spec: NonNullable<LoadedConnector['healthCheck']>,
    transport: Transport,
  ): Promise<{ ok: boolean; status: number | null; durationMs: number; error: string | null }> {
    const masker = secretMasker(ctx);
    const action = connector.actions.get(spec.action);
    if (!action) return { ok: false, status: null, durationMs: 0, error: `action ${spec.action} is not declared` };
    const bindings = { event: null, config: ctx.config, credentials: ctx.credentials, connection: { ...ctx.metadata, id: ctx.connectionId }, steps: {} };
    let request: OutgoingRequest;
    try {
      request = await this.render(connector, action, spec.input, bindings, ctx, { webhookId: `check_${ctx.connectionId}`, triggers: null, transport });
    } catch (err) {
      return { ok: false, status: null, durationMs: 0, error: masker(errorMessage(err)) };
    }
    const http = await transport.send(spec.action, request);
    const body = parseBody(http);
    let ok = http.status !== null && http.status >= 200 && http.status < 300;
    if (spec.healthy && http.status !== null) {
      try {
        ok = (await spec.healthy.evaluate(body, { status: http.status, headers: http.headers })) === true;
      } catch {
        ok = false;
      }
    }
    const error = ok ? null : masker(http.error ?? `the API answered ${http.status}: ${(http.body ?? '').slice(0, 300)}`);
    return { ok, status: http.status, durationMs: http.durationMs, error };
  }

  /** Compiles a tenant's expression from a link's config; a syntax error is a HubError with its place. */
  userExpression(source: string): CompiledExpression {
    return this.userExpressions.get(source, compileJsonata);
  }

  private async mappingInput(connector: LoadedConnector, trigger: CompiledTrigger, event: EventEnvelope, base: Record<string, unknown>, ctx: ConnectionContext): Promise<unknown> {
    let mapping = trigger.mapping;
    if (trigger.mappingFromConfig !== null) {
      const source = ctx.config[trigger.mappingFromConfig];
      if (typeof source === 'string' && source.trim() !== '') {
        try {
          mapping = this.userExpression(source);
        } catch (err) {
          throw new UnrecoverableError('connector_mapping_failed', `connector ${connector.manifest.name}, trigger ${trigger.name}, mapping ${trigger.mappingSource}: ${errorMessage(err)}; fix the link's config`);
        }
      }
    }
    if (!mapping) return event;
    const mapped = await this.evaluate(connector, `trigger ${trigger.name}, mapping ${trigger.mappingSource}`, mapping, event, base);
    if (mapped === undefined) {
      throw new UnrecoverableError('connector_mapping_failed', `connector ${connector.manifest.name}, trigger ${trigger.name}, mapping ${trigger.mappingSource}: yielded nothing for this event; check the paths it reads`);
    }
    return mapped;
  }

  private async render(
    connector: LoadedConnector,
    action: CompiledAction,
    input: unknown,
    bindings: Record<string, unknown>,
    ctx: ConnectionContext,
    options: RunOptions,
  ): Promise<OutgoingRequest> {
    const where = (part: string): string => `action ${action.name}, ${part}`;
    const text = async (part: string, render: () => Promise<string>): Promise<string> => {
      try {
        return await render();
      } catch (err) {
        throw this.failure(connector, where(part), err);
      }
    };
    const method = (await text('method', () => action.method.render(input, bindings))).toUpperCase();
    if (!METHODS.has(method)) throw this.failure(connector, where('method'), new Error(`"${method}" is not one of ${[...METHODS].join(', ')}`));
    let urlText: string;
    if (action.url) urlText = await text('url', () => (action.url as NonNullable<typeof action.url>).render(input, bindings));
    else {
      const base = ctx.baseUrl ?? (await text('base_url', () => (connector.baseUrl as NonNullable<typeof connector.baseUrl>).render(input, bindings)));
      urlText = base.replace(/\/+$/, '') + (await text('path', () => (action.path as NonNullable<typeof action.path>).render(input, bindings)));
    }
    let url: URL;
    try {
      url = new URL(urlText);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('not http(s)');
    } catch {
      throw this.failure(connector, where('url'), new Error(`gave "${secretMasker(ctx)(urlText)}", which is not an absolute http(s) URL; check the link's settings`));
    }
    for (const [name, template] of action.query) {
      const value = await text(`query ${name}`, () => template.render(input, bindings));
      if (value !== '') url.searchParams.append(name, value);
    }
    const headers: Record<string, string> = { 'user-agent': USER_AGENT };
    if (Array.isArray(action.headers)) {
      for (const [name, template] of action.headers) headers[name] = await text(`header ${name}`, () => template.render(input, bindings));
    } else {
      const value = await this.evaluate(connector, where('headers'), action.headers, input, bindings);
      if (value !== undefined && value !== null) {
        if (typeof value !== 'object' || Array.isArray(value)) throw this.failure(connector, where('headers'), new Error('must yield an object of header names to values'));
        for (const [name, v] of Object.entries(value as Record<string, unknown>)) if (v !== undefined && v !== null) headers[name.toLowerCase()] = String(v);
      }
    }
    applyAuth(connector, ctx, url, headers);
    let body: string | null = null;
    if (action.body) {
      const value = await this.evaluate(connector, where('body'), action.body, input, bindings);
      if (value !== undefined) {
        body = JSON.stringify(value);
        headers['content-type'] ??= 'application/json';
      }
    }
    if (action.idempotency) {
      headers[action.idempotency.header] = action.idempotency.key
        ? await text('idempotency key', () => (action.idempotency?.key as NonNullable<typeof action.idempotency.key>).render(input, bindings))
        : options.webhookId;
    }
    for (const [name, value] of Object.entries(headers)) {
      if (/[\r\n\0]/.test(value) || !/^[!#$%&'*+^_`|~0-9A-Za-z-]+$/.test(name)) {
        throw this.failure(connector, where(`header ${name}`), new Error('is not a legal header (bad name, or CR/LF in the value)'));
      }
    }
    let request: OutgoingRequest = { method, url: url.toString(), headers, body };
    if (connector.beforeRequest) {
      request = await connector.beforeRequest(request, { config: ctx.config, credentials: ctx.credentials, webhookId: options.webhookId, now: options.now ?? new Date() });
    }
    return request;
  }

  private async evaluate(connector: LoadedConnector, where: string, expression: CompiledExpression, input: unknown, bindings: Record<string, unknown>): Promise<unknown> {
    try {
      return await expression.evaluate(input, bindings);
    } catch (err) {
      throw this.failure(connector, where, err);
    }
  }

  private failure(connector: LoadedConnector, where: string, err: unknown): UnrecoverableError {
    const code = err instanceof HubError ? err.code : 'connector_mapping_failed';
    return new UnrecoverableError(code, `connector ${connector.manifest.name}, ${where}: ${errorMessage(err)}`, { cause: err });
  }
}

function applyAuth(connector: LoadedConnector, ctx: ConnectionContext, url: URL, headers: Record<string, string>): void {
  const auth = connector.manifest.auth;
  const credential = (name: string): string => {
    const value = ctx.credentials[name];
    if (typeof value !== 'string' || value === '') {
      throw new UnrecoverableError('connection_credentials_missing', `connector ${connector.manifest.name}: the connection has no ${name}; PATCH /v1/connections/${ctx.connectionId} with credentials.${name}`);
    }
    return value;
  };
  switch (auth.type) {
    case 'api_key': {
      const value = `${auth.prefix ?? ''}${credential('api_key')}`;
      if (auth.in === 'header') headers[auth.name.toLowerCase()] = value;
      else url.searchParams.set(auth.name, value);
      return;
    }
    case 'basic':
      headers['authorization'] = `Basic ${Buffer.from(`${credential('username')}:${credential('password')}`).toString('base64')}`;
      return;
    case 'oauth2':
      headers['authorization'] = `Bearer ${credential('access_token')}`;
      return;
    default:
      return;
  }
}

/** Replaces every secret of a link (credentials, secret config values) in a text; URLs keep their origin. */
export function secretMasker(ctx: ConnectionContext): (text: string) => string {
  const secrets: string[] = [];
  const collect = (value: unknown): void => {
    if (typeof value === 'string' && value.length >= 6) secrets.push(value);
    else if (value && typeof value === 'object') for (const v of Object.values(value)) collect(v);
  };
  collect(ctx.credentials);
  for (const v of ctx.secretValues ?? []) collect(v);
  secrets.sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const secret of secrets) {
      if (!out.includes(secret)) continue;
      let replacement = '[redacted]';
      try {
        const u = new URL(secret);
        replacement = `${u.origin}/[redacted]`;
      } catch {
        /* not a URL */
      }
      out = out.split(secret).join(replacement);
      const encoded = encodeURIComponent(secret);
      if (encoded !== secret) out = out.split(encoded).join('[redacted]');
    }
    return out;
  };
}
