import { eventCatalog, loadJsonSchema } from '../events/catalog';
import { expressionProblems } from './expression-paths';
import type { Scope, Shape, ShapeNode } from './expression-paths';
import type { ConnectorManifest } from './manifest';

/**
 * The manifest's JSONata checked against what is bound where each expression runs (as
 * ConnectorRuntime binds it): $config against the settings schema, $credentials and
 * $connection against what the auth block stores and keeps, $event and a trigger's input
 * against the event types its triggers take, $steps against the declared actions.
 */

export interface BindingProblem {
  /** Pointer of the manifest field the expression is in. */
  pointer: string;
  message: string;
  /** For an expression in a mapping file: the file (relative to the manifest) and the offset in it. */
  mapping?: { file: string; offset: number };
}

/** What each auth type stores as credentials (token-client's credentialsFrom for OAuth). */
const CREDENTIALS: Record<string, string[]> = {
  none: [],
  api_key: ['api_key'],
  basic: ['username', 'password'],
  webhook_url: ['webhook_url'],
  oauth2: ['access_token', 'refresh_token', 'token_type', 'scope', 'expires_at'],
};

export function bindingProblems(m: ConnectorManifest, mappingSource: (file: string) => string | null): BindingProblem[] {
  const problems: BindingProblem[] = [];
  const check = (pointer: string, source: string, scope: Scope): void => {
    for (const p of expressionProblems(source, scope)) problems.push({ pointer, message: p.message });
  };
  const template = (pointer: string, source: unknown, scope: Scope): void => {
    if (typeof source !== 'string') return;
    for (const match of source.matchAll(/\{\{(.*?)\}\}/gs)) check(pointer, match[1] ?? '', scope);
  };
  const shapes = linkShapes(m);
  const response = responseScope();

  const triggers = Array.isArray(m.triggers) ? m.triggers : [];
  triggers.forEach((t, i) => {
    const scope = triggerScope(shapes, t.event);
    if (typeof t.when === 'string') check(`/triggers/${i}/when`, t.when, scope);
    if (typeof t.mapping === 'string') check(`/triggers/${i}/mapping`, t.mapping, scope);
    const source = typeof t.mapping_file === 'string' ? mappingSource(t.mapping_file) : null;
    if (typeof t.mapping_file === 'string' && source !== null) {
      const file = t.mapping_file;
      for (const p of expressionProblems(source, scope)) problems.push({ pointer: `/triggers/${i}/mapping_file`, message: p.message, mapping: { file, offset: p.offset } });
    }
  });

  const allEvents = triggers.map((t) => t.event);
  template('/base_url', m.base_url, actionScope(shapes, allEvents, false));
  for (const [name, spec] of Object.entries(m.actions ?? {})) {
    const where = `/actions/${name}`;
    const runBy = triggers.filter((t) => Array.isArray(t.actions) && t.actions.includes(name));
    const unmapped = runBy.length > 0 && runBy.every((t) => t.mapping === undefined && t.mapping_file === undefined && t.mapping_from_config === undefined);
    const linking = (m.link_steps ?? []).some((step) => step.action === name);
    const single = withApp(actionScope(shapes, runBy.map((t) => t.event), unmapped && !spec.batch), linking);
    // A batched action's input is the array of its jobs' mapping results; their events are $events.
    const scope: Scope = spec.batch ? { ...single, variables: new Map([...single.variables, ['events', null]]) } : single;
    template(`${where}/method`, spec.method, scope);
    template(`${where}/url`, spec.url, scope);
    template(`${where}/path`, spec.path, scope);
    for (const [q, t] of Object.entries(spec.query ?? {})) template(`${where}/query/${q}`, t, scope);
    if (typeof spec.headers === 'string') check(`${where}/headers`, spec.headers, scope);
    else for (const [h, t] of Object.entries(spec.headers ?? {})) template(`${where}/headers/${h}`, t, scope);
    if (typeof spec.body === 'string') check(`${where}/body`, spec.body, scope);
    template(`${where}/idempotency/key`, spec.idempotency?.key, scope);
    template(`${where}/external_ref/key`, spec.external_ref?.key, scope);
    if (typeof spec.response?.id === 'string') check(`${where}/response/id`, spec.response.id, response);
    if (typeof spec.response?.created === 'string') check(`${where}/response/created`, spec.response.created, response);
  }
  (m.errors ?? []).forEach((rule, i) => {
    if (typeof rule.body === 'string') check(`/errors/${i}/body`, rule.body, response);
    template(`/errors/${i}/message`, rule.message, messageScope());
    const backoff: unknown = rule.backoff;
    if (backoff !== null && typeof backoff === 'object' && 'expression' in backoff && typeof backoff.expression === 'string') check(`/errors/${i}/backoff/expression`, backoff.expression, response);
  });
  if (typeof m.health_check?.healthy === 'string') check('/health_check/healthy', m.health_check.healthy, response);
  if (typeof m.rate_limit?.pause?.expression === 'string') check('/rate_limit/pause/expression', m.rate_limit.pause.expression, response);
  const linkAnswer = linkStepScope(shapes);
  (m.link_steps ?? []).forEach((step, i) => {
    if (typeof step.error === 'string') check(`/link_steps/${i}/error`, step.error, linkAnswer);
    if (typeof step.credentials === 'string') check(`/link_steps/${i}/credentials`, step.credentials, linkAnswer);
    for (const [name, source] of Object.entries(step.keep ?? {})) if (typeof source === 'string') check(`/link_steps/${i}/keep/${name}`, source, linkAnswer);
  });
  return problems;
}

/** The shapes of the link's bindings, the same for every expression of the run. */
interface LinkShapes {
  config: Shape;
  credentials: Shape;
  connection: Shape;
  routing: Shape;
  steps: Shape;
}

function linkShapes(m: ConnectorManifest): LinkShapes {
  const authType = typeof m.auth?.type === 'string' ? m.auth.type : 'none';
  const fromAccount = m.account?.keep !== null && typeof m.account?.keep === 'object' ? Object.keys(m.account.keep) : [];
  const fromSteps = Array.isArray(m.link_steps) ? m.link_steps.flatMap((step) => (step.keep !== null && typeof step.keep === 'object' ? Object.keys(step.keep) : [])) : [];
  const kept = [...(m.auth?.type === 'oauth2' && Array.isArray(m.auth.keep) ? m.auth.keep : []), ...fromAccount, ...fromSteps];
  const credentials = CREDENTIALS[authType];
  const config: ShapeNode =
    m.config === undefined
      ? { schema: closed([]), of: 'the manifest declares no config, so links have no settings' }
      : { schema: m.config, of: 'the settings schema under config' };
  const step = closed(['status', 'body', 'id']);
  return {
    config: [config],
    credentials: credentials === undefined ? null : [{ schema: closed(credentials), of: `${authType} auth stores ${credentials.join(', ') || 'no credentials'}` }],
    connection: [
      {
        schema: closed(['id', ...kept]),
        of:
          authType === 'oauth2' || fromAccount.length > 0
            ? `the link's id and the values auth.keep, account.keep and link_steps[].keep name${kept.length > 0 ? ` (${kept.join(', ')})` : ' (none)'}`
            : `the link's id only: ${authType} auth keeps no token values`,
      },
    ],
    routing: [{ schema: closed(['score', 'qualified', 'route']), of: "the integration's lead qualification" }],
    steps: [
      {
        schema: { type: 'object', additionalProperties: false, properties: Object.fromEntries(Object.keys(m.actions ?? {}).map((a) => [a, step])) },
        of: 'the declared actions, each with status, body and id',
      },
    ],
  };
}

/** A trigger's when and mapping: the event envelope as input, the link's bindings. */
function triggerScope(shapes: LinkShapes, event: string): Scope {
  const envelope = envelopeShape([event]);
  return {
    input: envelope,
    variables: new Map<string, Shape>([
      ['event', envelope],
      ['config', shapes.config],
      ['credentials', shapes.credentials],
      ['connection', shapes.connection],
      ['routing', shapes.routing],
      ['ref', null],
    ]),
    where: "a trigger's when and mapping",
  };
}

/**
 * An action's templates and expressions: $event of the triggers that run it, and $steps. Their input
 * is the mapping's result, not known here; or the envelope itself when none of those triggers maps.
 */
function actionScope(shapes: LinkShapes, events: string[], unmapped: boolean): Scope {
  return {
    input: unmapped ? envelopeShape(events) : null,
    variables: new Map<string, Shape>([
      // Run by no trigger (the health check only): $event is null there.
      ['event', events.length === 0 ? null : envelopeShape(events)],
      ['config', shapes.config],
      ['credentials', shapes.credentials],
      ['connection', shapes.connection],
      ['routing', shapes.routing],
      ['ref', null],
      ['steps', shapes.steps],
    ]),
    where: "an action's templates and expressions",
  };
}

/** An action a link step sends also sees the hub's OAuth app ($app.client_id, $app.client_secret). */
function withApp(scope: Scope, linking: boolean): Scope {
  if (!linking) return scope;
  const variables = new Map(scope.variables);
  variables.set('app', [{ schema: closed(['client_id', 'client_secret']), of: "the hub's OAuth app, in link steps' requests" }]);
  return { ...scope, variables };
}

/** A link step's expressions: its parsed answer as input, $status, $headers and the link so far ($config, $credentials, $connection). */
function linkStepScope(shapes: LinkShapes): Scope {
  return {
    input: null,
    variables: new Map<string, Shape>([['status', null], ['headers', null], ['config', shapes.config], ['credentials', null], ['connection', shapes.connection]]),
    where: "a link step's error, credentials and keep",
  };
}

/** Expressions over an API's response: the parsed body as input, $status and $headers. */
function responseScope(): Scope {
  return { input: null, variables: new Map<string, Shape>([['status', null], ['headers', null]]), where: 'an expression over the response (response.id, response.created, errors[].body, errors[].backoff.expression, health_check.healthy, rate_limit.pause.expression)' };
}

/** An error rule's message placeholders: the parsed body as input, and as $body; $status and $headers. */
function messageScope(): Scope {
  return { input: null, variables: new Map<string, Shape>([['body', null], ['status', null], ['headers', null]]), where: "an error rule's message" };
}

/** The envelope of these event types; null when one is "*" or unknown (any event: nothing to check against). */
function envelopeShape(types: string[]): Shape {
  const catalog = eventCatalog();
  const envelope = loadEnvelope();
  const nodes: ShapeNode[] = [];
  for (const type of new Set(types)) {
    const info = catalog.find((e) => e.type === type);
    if (!info) return null;
    const properties = { ...(envelope['properties'] as Record<string, unknown>), data: info.schema };
    nodes.push({ schema: { ...envelope, properties }, of: `the ${type} event, schemas/events/${type}.schema.json` });
  }
  return nodes;
}

let envelopeSchema: Record<string, unknown> | null = null;

function loadEnvelope(): Record<string, unknown> {
  envelopeSchema ??= loadJsonSchema('event-envelope.schema.json');
  return envelopeSchema;
}

function closed(names: string[]): Record<string, unknown> {
  return { type: 'object', additionalProperties: false, properties: Object.fromEntries(names.map((n) => [n, {}])) };
}
