import * as fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import express from 'express';
import { errorHandler } from '../../src/api/errors';
import { API_SCOPES, hasScope, matchRoute, registeredRoutes, requireScope, route, routeRules } from '../../src/api/scopes';
import { ZAPIER_SCOPES } from '../../src/api/routes/zapier';
import { loadConfig } from '../../src/config/config';
import { silentLogger } from '../../src/core/logger';
import { Hub } from '../../src/hub';

const ROUTES_DIR = path.join(__dirname, '../../src/api/routes');
/** Routes served without an API key: they need no scope. */
const PUBLIC = /^\/(healthz|readyz|metrics|openapi\.json|oauth\/|v1\/sessions)/;

function hubApp(): express.Express {
  return new Hub(loadConfig({ PORT: '0', LOG_LEVEL: 'silent' }), { logger: silentLogger }).app;
}

describe('the routes\' declarations', () => {
  const app = hubApp();
  const routes = registeredRoutes(app);
  const rules = routeRules(app);

  it('finds the routes of every router mounted on the app', () => {
    expect(routes.length).toBeGreaterThan(30);
    // Cross-check the walk of express's router stack against the route files themselves.
    const inFiles: string[] = [];
    for (const file of fs.readdirSync(ROUTES_DIR).filter((f) => f.endsWith('.ts'))) {
      const source = fs.readFileSync(path.join(ROUTES_DIR, file), 'utf8');
      for (const m of source.matchAll(/router\.(get|post|put|patch|delete)\('(\/[^']+)'/g)) inFiles.push(`${m[1]!.toUpperCase()} ${m[2]!}`);
      for (const m of source.matchAll(/route\(router, '(GET|POST|PUT|PATCH|DELETE)', '(\/[^']+)'/g)) inFiles.push(`${m[1]!} ${m[2]!}`);
      // Routes registered by the shared helpers, with what each promises to register.
      for (const m of source.matchAll(/tenantResourceRoutes\(router, '(\/[^']+)'/g)) inFiles.push(`GET ${m[1]!}`, `GET ${m[1]!}/:id`, `PATCH ${m[1]!}/:id`, `DELETE ${m[1]!}/:id`);
      for (const m of source.matchAll(/replayWindowRoute\(router, '(\/[^']+)'/g)) inFiles.push(`POST ${m[1]!}/:id/replay`);
    }
    expect(inFiles.length).toBeGreaterThan(30);
    expect(routes.map((r) => `${r.method} ${r.path}`).sort()).toEqual(expect.arrayContaining(inFiles.sort()));
  });

  it('names a scope for every authenticated route the API registers', () => {
    const missing = routes.filter((r) => !PUBLIC.test(r.path) && r.rule === null);
    expect(missing.map((r) => `${r.method} ${r.path}  (register it with route() from src/api/scopes.ts, naming its scope)`)).toEqual([]);
  });

  it('has no route declared twice', () => {
    expect(rules.length).toBeGreaterThan(30);
    const names = rules.map((r) => `${r.method} ${r.path}`);
    expect(new Set(names).size).toBe(names.length);
  });

  // POSTs that change nothing and send nothing: a dry run of an event, a signature check.
  const DRY_RUNS = new Set(['/v1/events/inspect', '/v1/webhooks/verify']);

  it('audits every change and nothing else, under resource.verb actions', () => {
    for (const rule of rules) {
      if (rule.method === 'GET') expect([rule.path, rule.audit]).toEqual([rule.path, null]);
      else if (rule.path !== '/v1/events' && rule.path !== '/v1/events/batch' && !DRY_RUNS.has(rule.path)) expect([rule.method, rule.path, rule.audit]).toEqual([rule.method, rule.path, expect.stringMatching(/^[a-z_]+\.[a-z_]+$/)]);
    }
  });

  it('matches literal segments before parameters, HEAD as GET, any case and a trailing slash', () => {
    expect(matchRoute('POST', '/v1/connections/authorize', rules)?.rule.scope).toBe('connections:write');
    expect(matchRoute('POST', '/v1/connections/authorize', rules)?.rule.audit).toBe('connection.authorize');
    expect(matchRoute('GET', '/v1/connections/con_1', rules)).toMatchObject({ rule: { scope: 'subscriptions:read' }, params: { id: 'con_1' } });
    expect(matchRoute('HEAD', '/v1/subscriptions', rules)?.rule.scope).toBe('subscriptions:read');
    expect(matchRoute('DELETE', '/V1/Subscriptions/sub_1/', rules)?.rule.scope).toBe('subscriptions:write');
    expect(matchRoute('GET', '/v1/api-keys', rules)?.rule.scope).toBe('admin');
    expect(matchRoute('GET', '/v1/nothing-here', rules)).toBeNull();
  });

  it('lets connections:write start an export of past events (audited) and a read scope follow it', () => {
    expect(matchRoute('POST', '/v1/connections/con_1/export', rules)).toMatchObject({ rule: { scope: 'connections:write', audit: 'connection.export' }, params: { id: 'con_1' } });
    expect(matchRoute('GET', '/v1/connections/con_1/exports', rules)?.rule).toMatchObject({ scope: 'subscriptions:read', audit: null });
    expect(matchRoute('GET', '/v1/connections/con_1/exports/exp_1', rules)).toMatchObject({ rule: { scope: 'subscriptions:read', audit: null }, params: { id: 'con_1', exportId: 'exp_1' } });
  });

  it('scopes the routes for Zapier as the routes they stand beside, and GET /v1/zapier/me names exactly the scopes they need', () => {
    expect(matchRoute('GET', '/v1/zapier/me', rules)?.rule).toMatchObject({ scope: 'subscriptions:read', audit: null });
    expect(matchRoute('POST', '/v1/zapier/subscriptions', rules)?.rule).toMatchObject({ scope: 'subscriptions:write', audit: 'subscription.create' });
    expect(matchRoute('DELETE', '/v1/zapier/subscriptions/sub_1', rules)).toMatchObject({ rule: { scope: 'subscriptions:write', audit: 'subscription.delete' }, params: { id: 'sub_1' } });
    // Real events of the tenant: read as GET /v1/events/{id} reads them.
    expect(matchRoute('GET', '/v1/zapier/samples/business.created', rules)).toMatchObject({ rule: { scope: 'deliveries:read', audit: null }, params: { type: 'business.created' } });
    const needed = new Set(rules.filter((r) => r.path.startsWith('/v1/zapier/')).map((r) => r.scope));
    expect([...needed].sort()).toEqual([...ZAPIER_SCOPES].sort());
  });

  it('lets admin do everything and every other scope only its own', () => {
    for (const scope of API_SCOPES) expect(hasScope(['admin'], scope)).toBe(true);
    expect(hasScope(['subscriptions:read'], 'subscriptions:write')).toBe(false);
    expect(hasScope(['subscriptions:write'], 'admin')).toBe(false);
    expect(hasScope([], 'subscriptions:read')).toBe(false);
  });

  it.each(['relay:write', 'tunnels:write'] as const)('has %s (hookhub listen, hookhub tunnel), granted by itself or admin and by no other scope', (needed) => {
    expect(API_SCOPES).toContain(needed);
    expect(hasScope([needed], needed)).toBe(true);
    for (const scope of API_SCOPES.filter((s) => s !== needed && s !== 'admin')) expect(hasScope([scope], needed)).toBe(false);
    expect(hasScope([needed], 'subscriptions:write')).toBe(false);
  });
});

describe('requireScope', () => {
  it('refuses a route registered without a declaration with 403, and lets unknown paths reach the 404', async () => {
    const app = express();
    app.use((_req, res, next) => {
      res.locals['principal'] = { tenantId: 't', keyId: 'key_1', keyName: 'k', scopes: ['admin'] };
      next();
    });
    app.use('/v1', requireScope(app, silentLogger));
    const router = express.Router();
    router.get('/v1/brand-new-thing/:id', (_req, res) => {
      res.json({ secret: 'data' });
    });
    route(router, 'GET', '/v1/subscriptions', { scope: 'subscriptions:read' }, (_req, res) => {
      res.json({ data: [] });
    });
    app.use(router);
    app.use((_req, res) => {
      res.status(404).json({ error: { code: 'route_not_found' } });
    });
    app.use(errorHandler(silentLogger));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const unscoped = await fetch(`${base}/v1/brand-new-thing/1`);
      expect(unscoped.status).toBe(403);
      expect(await unscoped.json()).toMatchObject({ error: { code: 'route_not_scoped', details: { route: 'GET /v1/brand-new-thing/:id' } } });
      expect((await fetch(`${base}/v1/subscriptions`)).status).toBe(200);
      expect((await fetch(`${base}/v1/no-such-route`)).status).toBe(404);
    } finally {
      server.close();
    }
  });

  it('answers insufficient_scope naming the scope', async () => {
    const app = express();
    app.use((_req, res, next) => {
      res.locals['principal'] = { tenantId: 't', keyId: 'key_1', keyName: 'k', scopes: ['subscriptions:read'] };
      next();
    });
    app.use('/v1', requireScope(app, silentLogger));
    route(app, 'POST', '/v1/subscriptions', { scope: 'subscriptions:write', audit: 'subscription.create' }, (_req, res) => {
      res.status(201).json({});
    });
    app.use(errorHandler(silentLogger));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const refused = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/subscriptions`, { method: 'POST' });
      expect(refused.status).toBe(403);
      expect(await refused.json()).toEqual({
        error: {
          code: 'insufficient_scope',
          message: 'This key lacks the scope subscriptions:write needed for POST /v1/subscriptions. Use a key that has it, or ask an admin to create one.',
          details: { required: 'subscriptions:write' },
        },
      });
    } finally {
      server.close();
    }
  });
});
