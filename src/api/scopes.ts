import type { Express, RequestHandler, Router } from 'express';
import { HubError } from '../core/errors';
import type { Logger } from '../core/logger';
import { principalOf } from './auth';

/** What an API key may do. `admin` implies every other scope (and alone manages keys and reads the audit log). */
export const API_SCOPES = ['subscriptions:read', 'subscriptions:write', 'events:publish', 'deliveries:read', 'connections:write', 'relay:write', 'tunnels:write', 'admin'] as const;
export type ApiScope = (typeof API_SCOPES)[number];

export function isApiScope(value: unknown): value is ApiScope {
  return typeof value === 'string' && (API_SCOPES as readonly string[]).includes(value);
}

/**
 * The hub operator's scope: changes other tenants' plans (PUT /v1/tenants/:tenantId/plan). No tenant
 * grants it (POST /v1/api-keys refuses it) and `admin` does not imply it: only
 * `hookhub keys create --scopes operator` makes such a key.
 */
export const OPERATOR_SCOPE = 'operator';

/** What a route may require: a tenant's scope, or the operator's. */
export type RouteScope = ApiScope | typeof OPERATOR_SCOPE;

export type RouteMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** What a route declares where its handler is registered. */
export interface RouteDeclaration {
  scope: RouteScope;
  /** Successful calls are recorded in the audit log under this action; its resource type is the part before the dot. */
  audit?: string;
}

/** A registered route and its declaration, as the scope middleware and the audit trail read it. */
export interface RouteRule {
  method: RouteMethod;
  /** An express path pattern, as registered (with the prefix of the router's mount, if any). */
  path: string;
  scope: RouteScope;
  audit: string | null;
}

/** The declarations, keyed by the express route object `route()` made for them. */
const declarations = new WeakMap<object, RouteDeclaration>();

/**
 * Registers a handler together with its rule: the scope a key needs and the
 * audit action of a successful call. A route registered without one is refused
 * with 403 (and a unit test fails), so a new route cannot slip through unscoped.
 */
export function route(router: Pick<Router, 'route'>, method: RouteMethod, path: string, declaration: RouteDeclaration, handler: RequestHandler): void {
  const registered = router.route(path);
  const verb = method.toLowerCase() as Lowercase<RouteMethod>;
  registered[verb](handler);
  declarations.set(registered, declaration);
}

export interface RouteMatch {
  rule: RouteRule;
  params: Record<string, string>;
}

/** The rule for a request; a literal segment wins over a parameter (POST /v1/connections/authorize). */
export function matchRoute(method: string, path: string, rules: readonly RouteRule[]): RouteMatch | null {
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

export function hasScope(granted: readonly string[], needed: RouteScope): boolean {
  if (needed === OPERATOR_SCOPE) return granted.includes(OPERATOR_SCOPE);
  return granted.includes('admin') || granted.includes(needed);
}

/** A route the app registers, with the rule `route()` declared for it (null for a route registered without one). */
export interface RegisteredRoute {
  method: RouteMethod;
  path: string;
  rule: RouteRule | null;
}

/** Every method + path the app registers (routes of the routers mounted on it), from express's router stack. */
export function registeredRoutes(app: Express): RegisteredRoute[] {
  const out: RegisteredRoute[] = [];
  const walk = (stack: unknown[], prefix: string): void => {
    for (const layer of stack as Array<{ route?: { path: unknown; methods: Record<string, boolean> }; handle?: { stack?: unknown[] }; rawPath?: unknown }>) {
      if (layer.route && typeof layer.route.path === 'string') {
        const declared = declarations.get(layer.route);
        for (const [verb, on] of Object.entries(layer.route.methods)) {
          if (!on || verb === '_all') continue;
          const method = verb.toUpperCase() as RouteMethod;
          const path = `${prefix}${layer.route.path}`;
          out.push({ method, path, rule: declared ? { method, path, scope: declared.scope, audit: declared.audit ?? null } : null });
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

/** The rules of every route the app registers through `route()`. */
export function routeRules(app: Express): RouteRule[] {
  return registeredRoutes(app).flatMap((r) => (r.rule ? [r.rule] : []));
}

/**
 * After authentication: the key must hold the scope the route declares. A
 * registered route without a declaration is refused; an unknown path falls
 * through to the 404. The app's routes are read at the first request, once
 * every router is mounted.
 */
export function requireScope(app: Express, logger: Logger): RequestHandler {
  let registered: RegisteredRoute[] | null = null;
  let rules: RouteRule[] = [];
  const warned = new Set<string>();
  return (req, res, next) => {
    if (!registered) {
      registered = registeredRoutes(app);
      rules = registered.flatMap((r) => (r.rule ? [r.rule] : []));
    }
    const path = `${req.baseUrl}${req.path}`;
    const match = matchRoute(req.method, path, rules);
    if (!match) {
      const method = req.method === 'HEAD' ? 'GET' : req.method;
      const undeclared = registered.find((r) => r.method === method && matchPattern(r.path, path) !== null);
      if (!undeclared) {
        next();
        return;
      }
      const name = `${undeclared.method} ${undeclared.path}`;
      if (!warned.has(name)) {
        warned.add(name);
        logger.error({ route: name }, 'route registered without a scope (use route() from src/api/scopes.ts): it is refused until it declares one');
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
