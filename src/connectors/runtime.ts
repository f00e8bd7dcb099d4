import { errorMessage, UnrecoverableError } from '../core/errors';
import { compileJsonata } from '../core/jsonata';
import type { CompiledExpression } from '../core/jsonata';
import { Memo } from '../core/memo';
import type { EventEnvelope } from '../events/envelope';
import { notSentResult } from '../transport/http-sender';
import type { HttpResult } from '../transport/http-sender';
import { evaluateIn } from './connector-failure';
import type { OutgoingRequest } from './hooks';
import type { CompiledAction, CompiledTrigger, LoadedConnector } from './compiled-connector';
import { renderRequest } from './request-renderer';
import { judgeResponse, parseBody } from './response-rules';
import type { ResponseVerdict } from './response-rules';
import type { BatchExchange, BatchItem, ConnectionContext, RunOptions, RunOutcome, RunResult, SentRequest, StepRecord, Transport } from './run-types';
import { secretMasker } from './secret-masker';

export type { BatchExchange, BatchItem, BatchSink, ConnectionContext, ExternalRefs, RunOptions, RunOutcome, RunResult, StepRecord, Transport } from './run-types';

/** Everything a run reads, built once per run. */
interface RunContext {
  connector: LoadedConnector;
  ctx: ConnectionContext;
  options: RunOptions;
  /** $event, $config, $credentials, $connection, $routing and $ref; each action adds $steps. */
  bindings: Record<string, unknown>;
  /** Hides the link's secrets in whatever the run records. */
  masker: (text: string) => string;
}

/** What the later actions of a trigger see of an action, as $steps.<name>. */
interface StepResponse {
  status: number | null;
  body: unknown;
  id: string | null;
}

/** How one action ended: what it recorded and sent, and either its response (the run goes on) or the outcome the run stops with. */
interface StepOutcome {
  steps: StepRecord[];
  requests: SentRequest[];
  last: HttpResult | null;
  response: StepResponse | null;
  stop: RunOutcome | null;
}

/** One request and its answer, after at most one token refresh. */
interface Exchange {
  http: HttpResult;
  body: unknown;
  verdict: ResponseVerdict;
  refreshed: boolean;
}

/** Runs a connector's triggers for one event: mapping, then the actions in order. */
export class ConnectorRuntime {
  /** Tenant-supplied JSONata (mapping_from_config), compiled once per distinct expression. */
  private readonly userExpressions = new Memo<string, CompiledExpression>(1000);

  async run(connector: LoadedConnector, event: EventEnvelope, ctx: ConnectionContext, options: RunOptions): Promise<RunResult> {
    const result: RunResult = { outcome: { kind: 'success' }, steps: [], requests: [], externalId: null, last: null };
    const run = runContext(connector, event, ctx, options);
    const selected = connector.triggers.filter(
      (t) => (t.event === event.type || t.event === '*') && (options.triggers === null || options.triggers.includes(t.name)),
    );
    let ran = 0;
    try {
      for (const trigger of selected) {
        if (trigger.when && (await evaluateIn(connector, `trigger ${trigger.name}, when`, trigger.when, event, run.bindings)) !== true) continue;
        ran++;
        const input = await this.mappingInput(run, trigger, event);
        const steps: Record<string, unknown> = {};
        for (const actionName of trigger.actions) {
          const action = connector.actions.get(actionName);
          if (!action) throw new UnrecoverableError('connector_action_missing', `connector ${connector.manifest.name}: action "${actionName}" is not declared`);
          const outcome = await this.runAction(run, trigger.name, action, input, steps);
          addStep(result, outcome);
          if (outcome.stop) {
            result.outcome = outcome.stop;
            return result;
          }
          steps[actionName] = outcome.response;
        }
      }
    } catch (err) {
      result.outcome = failedRun(err, run.masker);
      return result;
    }
    if (ran === 0) result.outcome = { kind: 'skipped', reason: selected.length === 0 ? `connector ${connector.manifest.name} has no trigger for ${event.type}` : 'no trigger condition (when) was true' };
    return result;
  }

  /** One action: send (refreshing the token once if the API asks), judge, remember ids. */
  private async runAction(run: RunContext, trigger: string, action: CompiledAction, input: unknown, steps: Record<string, unknown>): Promise<StepOutcome> {
    const bindings = { ...run.bindings, steps };
    const record: StepRecord = { trigger, action: action.name, method: '', url: '', status: null, durationMs: 0, externalId: null, error: null, objectType: action.object, result: null, truncated: null };
    const ref = action.externalRef && run.options.refs ? { spec: action.externalRef, refs: run.options.refs, key: await action.externalRef.key.render(input, bindings) } : null;
    const known = ref?.spec.reuse ? await ref.refs.get(ref.spec.type, ref.key) : null;
    if (ref && known !== null) {
      const skipped = { ...record, method: 'SKIP', url: `${ref.spec.type} ${ref.key} is already ${known}`, externalId: known };
      return { steps: [skipped], requests: [], last: null, response: { status: null, body: null, id: known }, stop: null };
    }
    const outcome: StepOutcome = { steps: [], requests: [], last: null, response: null, stop: null };
    try {
      const { http, body, verdict, refreshed } = action.batch ? await this.joinBatch(run, action, input, record, outcome) : await this.exchange(run, action, input, bindings, record, outcome);
      outcome.steps.push(record);
      if (verdict.kind !== 'success') {
        record.error = run.masker(verdict.kind === 'refresh' && refreshed ? `${verdict.reason} (again after a token refresh; link the account again)` : verdict.reason);
        if (action.object) record.result = 'failed';
        outcome.stop = verdict.kind === 'retry' ? { ...verdict, reason: record.error } : { kind: verdict.kind === 'refresh' ? 'fail' : verdict.kind, reason: `${action.name}: ${record.error}` };
        return outcome;
      }
      await this.acceptResponse(run.connector, action, http, body, record);
      if (ref && record.externalId !== null) await ref.refs.put(ref.spec.type, ref.key, record.externalId);
      outcome.response = { status: http.status, body, id: record.externalId };
    } catch (err) {
      outcome.stop = failedRun(err, run.masker);
    }
    return outcome;
  }

  /**
   * Renders and sends the action's request, again once with new credentials when the API's errors
   * ask for a refresh. Each request sent is added to `outcome` at once, so a failure later in the
   * action still shows it; `record` takes the method, masked URL, status and time.
   */
  private async exchange(run: RunContext, action: CompiledAction, input: unknown, bindings: Record<string, unknown>, record: StepRecord, outcome: StepOutcome): Promise<Exchange> {
    const { connector, ctx, options } = run;
    let refreshed = false;
    for (;;) {
      const truncated: string[] = [];
      const request = await renderRequest({ connector, ctx, webhookId: options.webhookId, trigger: record.trigger, now: options.now, truncated }, action, input, bindings);
      record.truncated = truncated.length > 0 ? truncated : null;
      outcome.requests.push({ action: action.name, request });
      await options.beforeSend?.(action.name);
      const http = await options.transport.send(action.name, request);
      outcome.last = http;
      const body = parseBody(http);
      const verdict = await judgeResponse(connector.errors, http, body, options.now?.getTime());
      Object.assign(record, { method: request.method, url: run.masker(request.url), status: http.status, durationMs: record.durationMs + http.durationMs });
      if (verdict.kind !== 'refresh' || !options.refreshCredentials || refreshed) return { http, body, verdict, refreshed };
      refreshed = true;
      ctx.credentials = await options.refreshCredentials();
      bindings['credentials'] = ctx.credentials;
    }
  }

  /**
   * A batched action: the job's input joins its connection's pending batch (options.batches), and
   * the job records the batch's one request and answer as its own. Without a sink (fixtures, dry
   * runs) the batch holds this job alone and goes at once.
   */
  private async joinBatch(run: RunContext, action: CompiledAction, input: unknown, record: StepRecord, outcome: StepOutcome): Promise<Exchange> {
    const event = run.bindings['event'] as EventEnvelope;
    const sink = run.options.batches;
    if (!sink) return this.exchange(run, action, [input], { ...run.bindings, events: [event], steps: {} }, record, outcome);
    const answer = await sink.join(action, { input, event });
    // Not sent (its connection's rate limit, or too many jobs waiting): the run ends here, and the job comes back later.
    if (answer === null) return { http: notSentResult('the batch was not sent'), body: null, verdict: { kind: 'retry', retryAfterMs: null, reason: 'the batch was not sent; the delivery comes back later' }, refreshed: false };
    outcome.requests.push({ action: action.name, request: answer.request });
    outcome.last = answer.http;
    Object.assign(record, { method: answer.request.method, url: run.masker(answer.request.url), status: answer.http.status, durationMs: answer.http.durationMs });
    return answer;
  }

  /**
   * Sends one batch of a batched action for the jobs of one connection: the action's expressions see
   * the jobs' inputs as `$` (an array, in the order they came) and their events as $events; the
   * API's errors may ask for one token refresh, as for any request.
   */
  async sendBatch(connector: LoadedConnector, action: CompiledAction, items: readonly BatchItem[], ctx: ConnectionContext, options: RunOptions): Promise<BatchExchange> {
    const first = items[0];
    if (!first) throw new Error('a batch holds at least one item');
    const run = runContext(connector, first.event, ctx, options);
    const record: StepRecord = { trigger: '', action: action.name, method: '', url: '', status: null, durationMs: 0, externalId: null, error: null, objectType: action.object, result: null, truncated: null };
    const outcome: StepOutcome = { steps: [], requests: [], last: null, response: null, stop: null };
    const bindings = { ...run.bindings, events: items.map((i) => i.event), steps: {} };
    const exchange = await this.exchange(run, action, items.map((i) => i.input), bindings, record, outcome);
    const sent = outcome.requests[outcome.requests.length - 1];
    if (!sent) throw new Error('a batch was exchanged without a request');
    return { ...exchange, request: sent.request };
  }

  /** A successful answer: the external id it gives, and whether the object was created or updated. */
  private async acceptResponse(connector: LoadedConnector, action: CompiledAction, http: HttpResult, body: unknown, record: StepRecord): Promise<void> {
    const responseBindings = { status: http.status, headers: http.headers };
    if (action.responseId) {
      const id = await evaluateIn(connector, `action ${action.name}, response.id`, action.responseId, body, responseBindings);
      record.externalId = id === undefined || id === null ? null : String(id);
    }
    if (action.operation === 'create') record.result = 'created';
    else if (action.operation === 'update') record.result = 'updated';
    else if (action.operation === 'upsert') {
      const created = action.responseCreated ? (await evaluateIn(connector, `action ${action.name}, response.created`, action.responseCreated, body, responseBindings)) === true : http.status === 201;
      record.result = created ? 'created' : 'updated';
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
      request = await renderRequest({ connector, ctx, webhookId: `check_${ctx.connectionId}` }, action, spec.input, bindings);
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
    if (ok) return { ok, status: http.status, durationMs: http.durationMs, error: null };
    // The manifest's error rules say what an answer means ("the webhook URL is revoked"), better than the raw answer.
    const verdict = await judgeResponse(connector.errors, http, body);
    const error = verdict.kind !== 'success' ? verdict.reason : (http.error ?? `the API answered ${http.status}: ${(http.body ?? '').slice(0, 300)}`);
    return { ok, status: http.status, durationMs: http.durationMs, error: masker(error) };
  }

  /** Compiles a tenant's expression from a link's config; a syntax error is a HubError with its place. */
  userExpression(source: string): CompiledExpression {
    return this.userExpressions.get(source, compileJsonata);
  }

  private async mappingInput(run: RunContext, trigger: CompiledTrigger, event: EventEnvelope): Promise<unknown> {
    const { connector, ctx } = run;
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
    const mapped = await evaluateIn(connector, `trigger ${trigger.name}, mapping ${trigger.mappingSource}`, mapping, event, run.bindings);
    if (mapped === undefined) {
      throw new UnrecoverableError('connector_mapping_failed', `connector ${connector.manifest.name}, trigger ${trigger.name}, mapping ${trigger.mappingSource}: yielded nothing for this event; check the paths it reads`);
    }
    return mapped;
  }
}

/** The bindings every expression of the run sees, and the masker of the link's secrets. */
function runContext(connector: LoadedConnector, event: EventEnvelope, ctx: ConnectionContext, options: RunOptions): RunContext {
  const refs = options.refs;
  const bindings: Record<string, unknown> = {
    event,
    config: ctx.config,
    credentials: ctx.credentials,
    connection: { ...ctx.metadata, id: ctx.connectionId },
    routing: options.routing ?? null,
    // $ref(type, key, default): the default (any value) when no id is known; without one, that fails the expression.
    ref: async (type: unknown, key: unknown, ...fallback: unknown[]) => {
      const found = refs ? await refs.get(String(type), String(key)) : null;
      if (found === null && fallback.length > 0) return fallback[0];
      if (found === null) throw new Error(`no ${String(type)} is known for "${String(key)}" on this connection (it is remembered when this connection creates it)`);
      return found;
    },
  };
  return { connector, ctx, options, bindings, masker: secretMasker(ctx) };
}

/** Adds what one action recorded and sent to the run's result. */
function addStep(result: RunResult, outcome: StepOutcome): void {
  result.steps.push(...outcome.steps);
  result.requests.push(...outcome.requests);
  if (outcome.last) result.last = outcome.last;
  for (const step of outcome.steps) if (step.externalId !== null) result.externalId = step.externalId;
}

/**
 * A connector's failure (a bad mapping, template or response) fails the run; anything else is
 * thrown on. A lost OAuth grant too: the caller handles it (it parks deliveries).
 */
function failedRun(err: unknown, masker: (text: string) => string): RunOutcome {
  if (!(err instanceof UnrecoverableError) || err.code === 'connection_needs_reauth') throw err;
  return { kind: 'fail', reason: masker(err.message) };
}
