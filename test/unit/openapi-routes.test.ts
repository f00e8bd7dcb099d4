import * as fs from 'node:fs';
import * as path from 'node:path';
import { registeredRoutes } from '../../src/api/scopes';
import { connectionView } from '../../src/api/serializers';
import { loadConfig } from '../../src/config/config';
import { silentLogger } from '../../src/core/logger';
import { Hub } from '../../src/hub';

const ROOT = path.join(__dirname, '../..');
const DOCUMENT_FILE = path.join(ROOT, 'docs/openapi.json');

interface Route {
  method: string;
  path: string;
}

/**
 * Every route the app registers (the shared helpers' included), from express's router stack,
 * with express params (:id) written as OpenAPI templates ({id}).
 */
function appRoutes(): Route[] {
  const app = new Hub(loadConfig({ PORT: '0', LOG_LEVEL: 'silent' }), { logger: silentLogger }).app;
  return registeredRoutes(app).map((r) => ({ method: r.method.toLowerCase(), path: r.path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}') }));
}

type Operation = { security?: unknown[]; parameters?: Array<Record<string, unknown>>; requestBody?: unknown; responses?: Record<string, unknown> };
const METHODS = new Set(['get', 'post', 'put', 'patch', 'delete']);

/**
 * The 4xx answers an operation can give, from what it is: any authenticated one 401, 403 and 429
 * (the key, its scope, its rate limit); any POST/PUT/PATCH 400, 413, 415 and 422 (a body that does
 * not parse, is too large, is not JSON, or nests too deeply; with or without a documented body);
 * any with a path parameter 404 (or 410, a link that expired); any with query parameters 400.
 */
function expectedClientErrors(document: { security?: unknown[] }, method: string, path: string, op: Operation, pathParameters: Array<Record<string, unknown>>): string[][] {
  const authenticated = (op.security ?? document.security ?? []).length > 0;
  const parameters = [...pathParameters, ...(op.parameters ?? [])];
  const expected: string[][] = [];
  if (authenticated) expected.push(['401'], ['403'], ['429']);
  if (method === 'post' || method === 'put' || method === 'patch') expected.push(['400'], ['413'], ['415'], ['422']);
  if (path.includes('{')) expected.push(['404', '410']);
  if (parameters.some((p) => p['in'] === 'query')) expected.push(['400']);
  return expected;
}

/** Every `$ref` value anywhere in the document, with where it was found. */
function collectRefs(node: unknown, at: string, out: Array<{ ref: string; at: string }>): Array<{ ref: string; at: string }> {
  if (Array.isArray(node)) {
    node.forEach((item, i) => collectRefs(item, `${at}/${i}`, out));
  } else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') out.push({ ref: value, at });
      else collectRefs(value, `${at}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`, out);
    }
  }
  return out;
}

/** The value a local reference ("#/components/...") points at, or undefined. */
function resolve(document: unknown, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  let node: unknown = document;
  for (const raw of ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

describe('docs/openapi.json', () => {
  const text = fs.readFileSync(DOCUMENT_FILE, 'utf8');

  it('parses as an OpenAPI 3.1 document', () => {
    const document = JSON.parse(text) as Record<string, unknown>;
    expect(document['openapi']).toMatch(/^3\.1\./);
    expect(typeof document['paths']).toBe('object');
    expect(typeof document['components']).toBe('object');
  });

  it('documents every route the API registers', () => {
    const document = JSON.parse(text) as { paths: Record<string, Record<string, unknown>> };
    const routes = appRoutes();
    // Guard against the walk silently finding nothing after a refactor of the app.
    expect(routes.length).toBeGreaterThan(30);
    expect(routes).toContainEqual({ method: 'get', path: '/v1/connectors/{name}' });
    // Registered by the shared helpers (tenant-resource, replay-window), not in the route files' own text.
    expect(routes).toContainEqual({ method: 'patch', path: '/v1/integrations/{id}' });
    const missing = routes.filter((r) => document.paths[r.path]?.[r.method] === undefined).map((r) => `${r.method.toUpperCase()} ${r.path}`);
    expect(missing).toEqual([]);
  });

  it('has no operation the API does not register', () => {
    const document = JSON.parse(text) as { paths: Record<string, Record<string, unknown>> };
    const routes = appRoutes();
    const stale = Object.entries(document.paths).flatMap(([p, ops]) =>
      Object.keys(ops)
        .filter((m) => METHODS.has(m) && !routes.some((r) => r.method === m && r.path === p))
        .map((m) => `${m.toUpperCase()} ${p}`),
    );
    expect(stale).toEqual([]);
  });

  it('documents for every operation a success or redirect, and each 4xx answer it can give', () => {
    const document = JSON.parse(text) as { security?: unknown[]; paths: Record<string, Record<string, unknown>> };
    const deref = (p: Record<string, unknown>): Record<string, unknown> => (typeof p['$ref'] === 'string' ? (resolve(document, p['$ref']) as Record<string, unknown>) : p);
    const gaps: string[] = [];
    for (const [p, item] of Object.entries(document.paths)) {
      const pathParameters = ((item['parameters'] as Array<Record<string, unknown>> | undefined) ?? []).map(deref);
      for (const [method, raw] of Object.entries(item)) {
        if (!METHODS.has(method)) continue;
        const op = raw as Operation;
        op.parameters = (op.parameters ?? []).map(deref);
        const documented = Object.keys(op.responses ?? {});
        if (!documented.some((status) => /^[23]\d\d$/.test(status))) gaps.push(`${method.toUpperCase()} ${p}: no 2xx or 3xx answer`);
        for (const options of expectedClientErrors(document, method, p, op, pathParameters)) {
          if (!options.some((status) => documented.includes(status))) gaps.push(`${method.toUpperCase()} ${p}: no ${options.join(' or ')} answer`);
        }
      }
    }
    expect(gaps).toEqual([]);
    // The redirect of the browser's start of account linking, named in the report that led to this check.
    expect(Object.keys((document.paths['/oauth/start/{handle}']?.['get'] as Operation).responses ?? {})).toContain('302');
  });

  it('documents every field of the connection view, the requirements the linked account lacks included', () => {
    const document = JSON.parse(text) as { components: { schemas: Record<string, { properties: Record<string, unknown>; required: string[] }> } };
    const schema = document.components.schemas['Connection'];
    const now = new Date();
    const view = connectionView(
      {
        id: 'con_1', tenantId: 't', connector: 'hubspot', connectorVersion: '1.1.0', config: {}, secretsSealed: null, metadata: {}, status: 'active', tokenExpiresAt: null,
        description: null, lastCheckAt: null, lastCheckOk: null, lastError: null, createdAt: now, updatedAt: now,
        requirements: { checkedAt: now.toISOString(), missing: [{ name: 'scopes', message: 'grant them' }], unchecked: [] },
      },
      null,
    );
    expect(Object.keys(schema?.properties ?? {}).sort()).toEqual(Object.keys(view).sort());
    expect([...(schema?.required ?? [])].sort()).toEqual(Object.keys(view).sort());
    const requirements = document.components.schemas['ConnectionRequirements'];
    expect(Object.keys(requirements?.properties ?? {}).sort()).toEqual(Object.keys(view['requirements'] as object).sort());
  });

  it('has no $ref that points at a missing component', () => {
    const document = JSON.parse(text) as unknown;
    const refs = collectRefs(document, '#', []);
    expect(refs.length).toBeGreaterThan(0);
    const broken = refs.filter(({ ref }) => !ref.startsWith('#/components/') || resolve(document, ref) === undefined).map(({ ref, at }) => `${ref} (at ${at})`);
    expect(broken).toEqual([]);
  });
});
