import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '../..');
const DOCUMENT_FILE = path.join(ROOT, 'docs/openapi.json');
const ROUTES_DIR = path.join(ROOT, 'src/api/routes');
const ROUTE_PATTERN = /router\.(get|post|patch|delete|put)\('(\/[^']+)'/g;

interface Route {
  method: string;
  path: string;
  file: string;
}

/** Every route registered in src/api/routes/*.ts, with express params (:id) written as OpenAPI templates ({id}). */
function registeredRoutes(): Route[] {
  const routes: Route[] = [];
  for (const file of fs.readdirSync(ROUTES_DIR).filter((f) => f.endsWith('.ts')).sort()) {
    const source = fs.readFileSync(path.join(ROUTES_DIR, file), 'utf8');
    for (const match of source.matchAll(ROUTE_PATTERN)) {
      const [, method, routePath] = match as unknown as [string, string, string];
      routes.push({ method, path: routePath.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}'), file });
    }
  }
  return routes;
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
    const routes = registeredRoutes();
    // Guard against the pattern silently matching nothing after a refactor of the route files.
    expect(routes.length).toBeGreaterThan(20);
    expect(routes).toContainEqual({ method: 'get', path: '/v1/connectors/{name}', file: 'connectors.ts' });
    const missing = routes.filter((r) => document.paths[r.path]?.[r.method] === undefined).map((r) => `${r.method.toUpperCase()} ${r.path} (src/api/routes/${r.file})`);
    expect(missing).toEqual([]);
  });

  it('has no $ref that points at a missing component', () => {
    const document = JSON.parse(text) as unknown;
    const refs = collectRefs(document, '#', []);
    expect(refs.length).toBeGreaterThan(0);
    const broken = refs.filter(({ ref }) => !ref.startsWith('#/components/') || resolve(document, ref) === undefined).map(({ ref, at }) => `${ref} (at ${at})`);
    expect(broken).toEqual([]);
  });
});
