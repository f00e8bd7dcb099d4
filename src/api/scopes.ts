import type { Express, RequestHandler } from 'express';
import { HubError } from '../core/errors';
import type { Logger } from '../core/logger';
import { principalOf } from './auth';

/** What an API key may do. `admin` implies every other scope (and alone manages keys and reads the audit log). */
export const API_SCOPES = ['subscriptions:read', 'subscriptions:write', 'events:publish', 'deliveries:read', 'connections:write', 'admin'] as const;
export type ApiScope = (typeof API_SCOPES)[number];

export function isApiScope(value: unknown): value is ApiScope {
  return typeof value === 'string' && (API_SCOPES as readonly string[]).includes(value);
}

export type RouteMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RouteRule {
  method: RouteMethod;
  /** An express path pattern, as the route files register it. */
  path: string;
  scope: ApiScope;
  /** Successful calls are recorded in the audit log under this action; its resource type is the part before the dot. */
  audit: string | null;
}

const R = (method: RouteMethod, path: string, scope: ApiScope, audit: string | null = null): RouteRule => ({ method, path, scope, audit });

/**
 * Every authenticated route and the scope it needs. A route the API registers
 * but this table lacks is refused with 403 (and a unit test fails), so a new
 * route cannot slip through unscoped.
 */
export const ROUTE_SCOPES: readonly RouteRule[] = [
  // Served before authentication (public), listed so the table stays complete.
  R('GET', '/v1/event-types', 'subscriptions:read'),

  // Publishing is ingestion, not a change of the tenant's set-up: the stored event is its record,
  // and an audit row per event would double the writes of the hot path.
  R('POST', '/v1/events', 'events:publish'),
  R('GET', '/v1/events/:id', 'deliveries:read'),

  R('GET', '/v1/subscriptions', 'subscriptions:read'),
  R('POST', '/v1/subscriptions', 'subscriptions:write', 'subscription.create'),
  R('GET', '/v1/subscriptions/:id', 'subscriptions:read'),
  R('PATCH', '/v1/subscriptions/:id', 'subscriptions:write', 'subscription.update'),
  R('DELETE', '/v1/subscriptions/:id', 'subscriptions:write', 'subscription.delete'),
  // The signing secret lets its holder forge deliveries: a read-only key does not get it.
  R('GET', '/v1/subscriptions/:id/secret', 'subscriptions:write'),
  R('POST', '/v1/subscriptions/:id/rotate-secret', 'subscriptions:write', 'subscription.rotate_secret'),
  R('POST', '/v1/subscriptions/:id/test', 'subscriptions:write', 'subscription.test'),
  R('POST', '/v1/subscriptions/:id/replay', 'subscriptions:write', 'subscription.replay'),

  R('GET', '/v1/deliveries', 'deliveries:read'),
  R('GET', '/v1/dead-letters', 'deliveries:read'),
  R('GET', '/v1/dead-letters/:id', 'deliveries:read'),
  R('POST', '/v1/dead-letters/:id/replay', 'subscriptions:write', 'dead_letter.replay'),

  R('GET', '/v1/meta/egress-ips', 'subscriptions:read'),

  R('GET', '/v1/connectors', 'subscriptions:read'),
  R('GET', '/v1/connectors/:name', 'subscriptions:read'),

  R('GET', '/v1/connections', 'subscriptions:read'),
  R('POST', '/v1/connections', 'connections:write', 'connection.create'),
  R('POST', '/v1/connections/authorize', 'connections:write', 'connection.authorize'),
  R('GET', '/v1/connections/:id', 'subscriptions:read'),
  R('PATCH', '/v1/connections/:id', 'connections:write', 'connection.update'),
  R('DELETE', '/v1/connections/:id', 'connections:write', 'connection.delete'),
  R('POST', '/v1/connections/:id/check', 'connections:write', 'connection.check'),
  R('GET', '/v1/connections/:id/stats', 'subscriptions:read'),

  R('GET', '/v1/integrations', 'subscriptions:read'),
  R('POST', '/v1/integrations', 'subscriptions:write', 'integration.create'),
  R('GET', '/v1/integrations/:id', 'subscriptions:read'),
  R('PATCH', '/v1/integrations/:id', 'subscriptions:write', 'integration.update'),
  R('DELETE', '/v1/integrations/:id', 'subscriptions:write', 'integration.delete'),
  R('POST', '/v1/integrations/:id/replay', 'subscriptions:write', 'integration.replay'),

  R('GET', '/v1/api-keys', 'admin'),
  R('POST', '/v1/api-keys', 'admin', 'api_key.create'),
  R('DELETE', '/v1/api-keys/:id', 'admin', 'api_key.revoke'),
  R('GET', '/v1/audit-log', 'admin'),
];

export interface RouteMatch {
  rule: RouteRule;
  params: Record<string, string>;
}

/** The rule for a request; a literal segment wins over a parameter (POST /v1/connections/authorize). */
export function matchRoute(method: string, path: string, rules: readonly RouteRule[] = ROUTE_SCOPES): RouteMatch | null {
  const wanted = method === 'HEAD' ? 'GET' : method;
  let best: RouteMatch | null = null;
  let bestLiterals = -1;
  for (const rule of rules) {
    if (rule.method !== wanted) continue;
    const params = matchPattern(rule.path, path);
    if (!params) continue;
    const literals = rule.path.split('/').filter((s) => s !== '' && !s.startsWith(':')).length;
    if (literals > bestLiterals) {
      best = { rule, params };
      bestLiterals = literals;
    }
  }
  return best;
}

/** Matches `/v1/things/:id` against a path; the params, or null. */
export function matchPattern(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/').filter((s) => s !== '');
  const have = path.replace(/\/+$/, '').split('/').filter((s) => s !== '');
  if (want.length !== have.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i += 1) {
    const w = want[i] as string;
    const h = have[i] as string;
    if (w.startsWith(':')) params[w.slice(1)] = h;
    else if (w.toLowerCase() !== h.toLowerCase()) return null;
  }
  return params;
}

export function hasScope(granted: readonly string[], needed: ApiScope): boolean {
  return granted.includes('admin') || granted.includes(needed);
}

/** Every method + path the app registers (routes of the routers mounted on it), from express's router stack. */
export function registeredRoutes(app: Express): Array<{ method: RouteMethod; path: string }> {
  const out: Array<{ method: RouteMethod; path: string }> = [];
  const walk = (stack: unknown[], prefix: string): void => {
    for (const layer of stack as Array<{ route?: { path: unknown; methods: Record<string, boolean> }; handle?: { stack?: unknown[] }; rawPath?: unknown }>) {
      if (layer.route && typeof layer.route.path === 'string') {
        for (const [method, on] of Object.entries(layer.route.methods)) {
          if (on && method !== '_all') out.push({ method: method.toUpperCase() as RouteMethod, path: `${prefix}${layer.route.path}` });
        }
      } else if (Array.isArray(layer.handle?.stack)) {
        const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
        walk(layer.handle.stack, `${prefix}${mount}`);
      }
    }
  };
  walk((app as unknown as { router: { stack: unknown[] } }).router.stack, '');
  return out;
}

/**
 * After authentication: the key must hold the scope the table names for the
 * route. A registered route missing from the table is refused; an unknown path
 * falls through to the 404.
 */
export function requireScope(app: Express, logger: Logger): RequestHandler {
  let registered: Array<{ method: RouteMethod; path: string }> | null = null;
  const warned = new Set<string>();
  return (req, res, next) => {
    const path = `${req.baseUrl}${req.path}`;
    const match = matchRoute(req.method, path);
    if (!match) {
      registered ??= registeredRoutes(app);
      const method = req.method === 'HEAD' ? 'GET' : req.method;
      const route = registered.find((r) => r.method === method && matchPattern(r.path, path) !== null);
      if (!route) {
        next();
        return;
      }
      const name = `${route.method} ${route.path}`;
      if (!warned.has(name)) {
        warned.add(name);
        logger.error({ route: name }, 'route missing from the scope table in src/api/scopes.ts: it is refused until it is added');
      }
      throw new HubError('route_not_scoped', `${name} has no scope assigned yet, so no key may call it. This is a bug in Hookhub; report it.`, {
        status: 403,
        details: { route: name },
      });
    }
    res.locals['route'] = match;
    const { scopes } = principalOf(res);
    if (!hasScope(scopes, match.rule.scope)) {
      throw new HubError('insufficient_scope', `This key lacks the scope ${match.rule.scope} needed for ${match.rule.method} ${match.rule.path}. Use a key that has it, or ask an admin to create one.`, {
        status: 403,
        details: { required: match.rule.scope },
      });
    }
    next();
  };
}
