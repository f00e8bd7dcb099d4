// Over 300 lines: one compiler for every section of a manifest, each a short method of its own.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ValidateFunction } from 'ajv';
import { compileJsonata } from '../core/jsonata';
import type { CompiledExpression } from '../core/jsonata';
import { isEventType } from '../events/catalog';
import type { CompiledAction, CompiledErrorRule, CompiledExport, CompiledReadback, CompiledRequirements, CompiledTrigger, LoadedConnector } from './compiled-connector';
import { bindingProblems } from './binding-checks';
import { compileLinkSteps } from './link-steps';
import { BEFORE_REQUEST_HOOKS } from './hooks';
import type { BeforeRequestHook } from './hooks';
import { connectorAjv } from './schema';
import { majorOf } from './manifest';
import type { ActionSpec, ConnectorManifest, ErrorRuleSpec, TriggerSpec } from './manifest';
import type { ManifestProblem } from './manifest-problems';
import { Template } from './template';

/** Compiles a manifest that passed its schema: templates, expressions, mapping files, hooks; each problem is reported, not thrown. */
export class Compiler {
  private readonly dir: string;
  /** Mapping files that compiled, by the path the manifest gives, for the binding checks. */
  private readonly mappingSources = new Map<string, string>();

  constructor(
    private readonly file: string,
    private readonly at: (pointer: string, message: string) => ManifestProblem,
    private readonly problems: ManifestProblem[],
  ) {
    this.dir = path.dirname(file);
  }

  compile(m: ConnectorManifest, connectorsRoot: string | undefined): LoadedConnector | null {
    const file = this.file;
    const expectedName = connectorsRoot ? path.relative(connectorsRoot, file).split(path.sep)[0] : undefined;
    if (expectedName !== undefined && expectedName !== m.name) {
      this.fail('/name', `is "${m.name}" but the manifest lives in connectors/${expectedName}/; the name and the directory must be the same`);
    }
    const config = this.compileConfig(m.config);
    const baseUrl = m.base_url === undefined ? null : this.template('/base_url', m.base_url, 'raw');
    const actions = new Map<string, CompiledAction>();
    for (const [name, spec] of Object.entries(m.actions)) {
      const action = this.compileAction(name, spec, baseUrl !== null);
      if (action) actions.set(name, action);
    }
    const triggers = m.triggers.map((t, i) => this.compileTrigger(m, t, i, config.jsonataFields));
    const names = new Set<string>();
    triggers.forEach((t, i) => {
      if (names.has(t.name)) this.fail(`/triggers/${i}`, `trigger name "${t.name}" is used twice; give the triggers distinct names`);
      names.add(t.name);
    });
    const errors = (m.errors ?? []).map((rule, i) => ({
      statuses: rule.status === undefined ? null : Array.isArray(rule.status) ? rule.status : [rule.status],
      body: rule.body === undefined ? null : this.expression(`/errors/${i}/body`, rule.body),
      action: rule.action,
      backoff: this.backoff(`/errors/${i}/backoff`, rule.backoff),
      message: rule.message === undefined ? null : this.template(`/errors/${i}/message`, rule.message, 'raw'),
    }));
    let healthCheck: LoadedConnector['healthCheck'] = null;
    if (m.health_check) {
      if (!Object.hasOwn(m.actions, m.health_check.action)) this.fail('/health_check/action', `names action "${m.health_check.action}", which is not declared`);
      healthCheck = {
        action: m.health_check.action,
        input: m.health_check.input ?? {},
        healthy: m.health_check.healthy === undefined ? null : this.expression('/health_check/healthy', m.health_check.healthy),
      };
    }
    const requirements = this.requirements(m);
    let account: LoadedConnector['account'] = null;
    if (m.account) {
      if (!Object.hasOwn(m.actions, m.account.action)) this.fail('/account/action', `names action "${m.account.action}", which is not declared`);
      const expr = (key: 'id' | 'name'): CompiledExpression | null => (m.account?.[key] === undefined ? null : this.expression(`/account/${key}`, m.account[key]));
      const keep: Array<[string, CompiledExpression]> = [];
      for (const [name, source] of Object.entries(m.account.keep ?? {})) {
        // $connection.id is the link's own id; provider_account is what id and name fill.
        if (name === 'id' || name === 'provider_account') this.fail(`/account/keep/${name}`, `"${name}" is taken: $connection.id is the connection's id and provider_account the linked account; choose another name`);
        const compiled = this.expression(`/account/keep/${name}`, source);
        if (compiled) keep.push([name, compiled]);
      }
      account = { action: m.account.action, id: expr('id'), name: expr('name'), keep };
    }
    const pauseSpec = m.rate_limit?.pause;
    const pause = pauseSpec ? this.expression('/rate_limit/pause/expression', pauseSpec.expression) : null;
    const linkSteps = compileLinkSteps(m, (pointer, source) => this.expression(pointer, source), (pointer, message) => this.fail(pointer, message));
    let beforeRequest: BeforeRequestHook | null = null;
    const hookKey = m.hooks?.before_request;
    if (hookKey !== undefined) {
      beforeRequest = Object.hasOwn(BEFORE_REQUEST_HOOKS, hookKey) ? (BEFORE_REQUEST_HOOKS[hookKey] ?? null) : null;
      if (!beforeRequest) this.fail('/hooks/before_request', `"${hookKey}" is not a registered hook (known: ${Object.keys(BEFORE_REQUEST_HOOKS).join(', ')}); hooks live in src/connectors/hooks`);
    }
    let urlPattern: RegExp | null = null;
    if (m.auth.type === 'webhook_url' && m.auth.url_pattern !== undefined) {
      try {
        urlPattern = new RegExp(m.auth.url_pattern);
      } catch (err) {
        this.fail('/auth/url_pattern', `is not a valid regular expression: ${(err as Error).message}`);
      }
    }
    for (const p of bindingProblems(m, (relative) => this.mappingSources.get(relative) ?? null)) {
      if (!p.mapping) this.fail(p.pointer, p.message);
      else {
        const file = path.resolve(this.dir, p.mapping.file);
        this.problems.push({ file, ...lineAndColumn(this.mappingSources.get(p.mapping.file) ?? '', p.mapping.offset), path: p.pointer, message: p.message });
      }
    }
    return {
      manifest: m,
      major: majorOf(m.version),
      dir: this.dir,
      file,
      baseUrl,
      actions,
      triggers,
      errors,
      configValidator: config.validator,
      secretPaths: config.secretPaths,
      jsonataConfigFields: config.jsonataFields,
      healthCheck,
      requirements,
      account,
      linkSteps,
      ratePause: pauseSpec && pause ? { expression: pause, unit: pauseSpec.unit ?? 'seconds' } : null,
      beforeRequest,
      urlPattern,
      readback: this.readback(m),
      export: this.exportSpec(m),
    };
  }

  /** The export: its action is a declared batched one, its landed read a declared action. */
  private exportSpec(m: ConnectorManifest): CompiledExport | null {
    const spec = m.export;
    if (!spec) return null;
    const declared = Object.keys(m.actions).join(', ');
    const action = m.actions[spec.action];
    if (!action) this.fail('/export/action', `names action "${spec.action}", which is not declared under actions (declared: ${declared})`);
    else if (!action.batch) this.fail('/export/action', `names action "${spec.action}", which has no batch: a page of past events goes as one request of a batched action`);
    if (!Object.hasOwn(m.actions, spec.landed.action)) this.fail('/export/landed/action', `names action "${spec.landed.action}", which is not declared under actions (declared: ${declared})`);
    return { action: spec.action, landed: { action: spec.landed.action, ids: this.expression('/export/landed/ids', spec.landed.ids) } };
  }

  /** The read-back: each request names a declared action; the object is one some action creates. */
  private readback(m: ConnectorManifest): CompiledReadback | null {
    const spec = m.readback;
    if (!spec) return null;
    const objects = Object.values(m.actions).filter((a) => a.object === spec.object && a.operation !== 'update');
    if (objects.length === 0) this.fail('/readback/object', `"${spec.object}" is the object of no action that creates records (operation create or upsert); name one of theirs`);
    const requests = spec.requests.map((r, i) => {
      if (!Object.hasOwn(m.actions, r.action)) this.fail(`/readback/requests/${i}/action`, `names action "${r.action}", which is not declared under actions (declared: ${Object.keys(m.actions).join(', ')})`);
      return { action: r.action, when: r.when === undefined ? null : this.expression(`/readback/requests/${i}/when`, r.when) };
    });
    return { object: spec.object, batch: spec.batch ?? 100, perRun: spec.per_run ?? 200, requests, result: this.expression('/readback/result', spec.result) };
  }

  /** One trigger: its event type, the actions it names, its condition and its one mapping (inline, file or from the link's config). */
  private compileTrigger(m: ConnectorManifest, t: TriggerSpec, i: number, jsonataConfigFields: ReadonlySet<string>): CompiledTrigger {
    const where = `/triggers/${i}`;
    if (t.event !== '*' && !isEventType(t.event)) this.fail(`${where}/event`, `"${t.event}" is not a known event type; see GET /v1/event-types`);
    t.actions.forEach((a, j) => {
      if (!Object.hasOwn(m.actions, a)) this.fail(`${where}/actions/${j}`, `names action "${a}", which is not declared under actions (declared: ${Object.keys(m.actions).join(', ')})`);
    });
    const mappingKinds = [t.mapping, t.mapping_file, t.mapping_from_config].filter((x) => x !== undefined);
    if (mappingKinds.length > 1) this.fail(where, 'give at most one of mapping, mapping_file and mapping_from_config');
    let mapping: CompiledExpression | null = null;
    let mappingSource = `${path.basename(this.file)}#${where}/mapping`;
    if (t.mapping !== undefined) mapping = this.expression(`${where}/mapping`, t.mapping);
    if (t.mapping_file !== undefined) {
      mappingSource = t.mapping_file;
      mapping = this.mappingFile(`${where}/mapping_file`, t.mapping_file);
    }
    if (t.mapping_from_config !== undefined && !jsonataConfigFields.has(t.mapping_from_config)) {
      this.fail(`${where}/mapping_from_config`, `names config field "${t.mapping_from_config}", which the config schema must declare with "format": "jsonata"`);
    }
    return {
      name: t.name ?? t.event.replace(/\./g, '_').replace('*', 'any'),
      event: t.event,
      when: t.when === undefined ? null : this.expression(`${where}/when`, t.when),
      actions: t.actions,
      mapping,
      mappingFromConfig: t.mapping_from_config ?? null,
      mappingSource: t.mapping_from_config !== undefined ? `from the link's config field "${t.mapping_from_config}"` : mappingSource,
    } satisfies CompiledTrigger;
  }

  private compileAction(name: string, spec: ActionSpec, hasBaseUrl: boolean): CompiledAction | null {
    const where = `/actions/${name}`;
    if (spec.path !== undefined && !hasBaseUrl) this.fail(`${where}/path`, 'a path needs base_url at the top of the manifest; or give an absolute url instead');
    const headers =
      typeof spec.headers === 'string'
        ? (this.expression(`${where}/headers`, spec.headers) ?? [])
        : Object.entries(spec.headers ?? {}).map(([h, t]) => [h.toLowerCase(), this.template(`${where}/headers/${h}`, t, 'raw')] as [string, Template]);
    return {
      name,
      method: this.template(`${where}/method`, spec.method, 'raw'),
      url: spec.url === undefined ? null : this.template(`${where}/url`, spec.url, 'raw'),
      path: spec.path === undefined ? null : this.template(`${where}/path`, spec.path, 'path'),
      query: Object.entries(spec.query ?? {}).map(([q, t]) => [q, this.template(`${where}/query/${q}`, t, 'raw')]),
      headers,
      body: spec.body === null ? null : this.expression(`${where}/body`, spec.body ?? '$'),
      idempotency: spec.idempotency
        ? { header: spec.idempotency.header.toLowerCase(), key: spec.idempotency.key === undefined ? null : this.template(`${where}/idempotency/key`, spec.idempotency.key, 'raw') }
        : null,
      responseId: spec.response?.id === undefined ? null : this.expression(`${where}/response/id`, spec.response.id),
      responseCreated: spec.response?.created === undefined ? null : this.expression(`${where}/response/created`, spec.response.created),
      object: spec.object ?? null,
      operation: spec.operation ?? null,
      externalRef: spec.external_ref
        ? { type: spec.external_ref.type, key: this.template(`${where}/external_ref/key`, spec.external_ref.key, 'raw'), reuse: spec.external_ref.reuse ?? false }
        : null,
      maxLengths: Object.entries(spec.max_lengths ?? {}),
      batch: spec.batch ? { maxItems: spec.batch.max_items, maxWaitMs: spec.batch.max_wait_ms } : null,
    };
  }

  /** The account's requirements: each check names a declared action, once; its `ok` and `missing` compiled. */
  private requirements(m: ConnectorManifest): CompiledRequirements | null {
    if (!m.requirements) return null;
    const names = new Set<string>();
    const checks = (m.requirements.checks ?? []).map((c, i) => {
      const where = `/requirements/checks/${i}`;
      if (!Object.hasOwn(m.actions, c.action)) this.fail(`${where}/action`, `names action "${c.action}", which is not declared under actions (declared: ${Object.keys(m.actions).join(', ')})`);
      if (names.has(c.name)) this.fail(`${where}/name`, `check name "${c.name}" is used twice; give the checks distinct names`);
      names.add(c.name);
      return { name: c.name, action: c.action, input: c.input ?? {}, when: c.when === undefined ? null : this.expression(`${where}/when`, c.when), ok: this.expression(`${where}/ok`, c.ok), missing: this.template(`${where}/missing`, c.missing, 'raw') };
    });
    return { scopes: m.requirements.scopes ?? [], checks };
  }

  /** A rule's backoff: a header as given, or the body's expression compiled. */
  private backoff(pointer: string, spec: ErrorRuleSpec['backoff']): CompiledErrorRule['backoff'] {
    if (spec === undefined) return null;
    if ('header' in spec) return spec;
    const expression = this.expression(`${pointer}/expression`, spec.expression);
    return expression ? { expression, unit: spec.unit ?? 'seconds' } : null;
  }

  private compileConfig(schema: Record<string, unknown> | undefined): { validator: ValidateFunction | null; secretPaths: string[][]; jsonataFields: Set<string> } {
    const secretPaths: string[][] = [];
    const jsonataFields = new Set<string>();
    if (schema === undefined) return { validator: null, secretPaths, jsonataFields };
    walkProperties(schema, [], (p, prop) => {
      if (prop['x-secret'] === true) secretPaths.push(p);
      if (prop['format'] === 'jsonata' && p.length === 1 && p[0] !== undefined) jsonataFields.add(p[0]);
    });
    try {
      const { $schema: _ignored, ...rest } = schema;
      return { validator: connectorAjv().compile(rest), secretPaths, jsonataFields };
    } catch (err) {
      this.fail('/config', `is not a valid JSON Schema: ${(err as Error).message}`);
      return { validator: null, secretPaths, jsonataFields };
    }
  }

  private mappingFile(pointer: string, relative: string): CompiledExpression | null {
    const file = path.resolve(this.dir, relative);
    if (!file.startsWith(this.dir + path.sep)) {
      this.fail(pointer, `"${relative}" points outside the connector's directory`);
      return null;
    }
    if (!existsSync(file)) {
      this.fail(pointer, `file ${relative} does not exist; create it next to connector.yaml or fix the path`);
      return null;
    }
    const source = readFileSync(file, 'utf8');
    try {
      const compiled = compileJsonata(source);
      this.mappingSources.set(relative, source);
      return compiled;
    } catch (err) {
      const position = ((err as { details?: { position?: number } }).details?.position ?? 1) - 1;
      this.problems.push({ file, ...lineAndColumn(source, position), path: pointer, message: (err as Error).message });
      return null;
    }
  }

  private expression(pointer: string, source: string): CompiledExpression | null {
    try {
      return compileJsonata(source);
    } catch (err) {
      this.fail(pointer, (err as Error).message);
      return null;
    }
  }

  private template(pointer: string, source: string, mode: 'raw' | 'path'): Template {
    try {
      return new Template(source, mode);
    } catch (err) {
      this.fail(pointer, `template placeholder: ${(err as Error).message}`);
      return new Template('', mode);
    }
  }

  private fail(pointer: string, message: string): void {
    this.problems.push(this.at(pointer, message));
  }
}

/** 1-based line and column of a 0-based offset in a source text. */
function lineAndColumn(source: string, offset: number): { line: number; column: number } {
  const before = source.slice(0, Math.max(0, offset));
  return { line: before.split('\n').length, column: Math.max(0, offset) - before.lastIndexOf('\n') };
}

function walkProperties(schema: Record<string, unknown>, prefix: string[], visit: (path: string[], prop: Record<string, unknown>) => void): void {
  const props = schema['properties'];
  if (props === null || typeof props !== 'object') return;
  for (const [name, prop] of Object.entries(props as Record<string, unknown>)) {
    if (prop === null || typeof prop !== 'object') continue;
    visit([...prefix, name], prop as Record<string, unknown>);
    walkProperties(prop as Record<string, unknown>, [...prefix, name], visit);
  }
}
