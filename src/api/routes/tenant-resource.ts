import type { Router } from 'express';
import type { Page, PageRequest } from '../../core/page';
import { tenantOf } from '../auth';
import { bodyObject, pageFrom } from '../params';
import { route } from '../scopes';
import type { RouteDeclaration } from '../scopes';
import type { ApiDeps } from '../deps';
import type { HealthSubject } from '../../pipeline/health-view';

/** What a tenant's resource offers the API: every method is scoped to the tenant and answers 404 for another tenant's id. */
export interface TenantResourceService<T> {
  list(tenantId: string, page: PageRequest): Promise<Page<T>>;
  get(tenantId: string, id: string): Promise<T>;
  update(tenantId: string, id: string, input: Record<string, unknown>): Promise<T>;
  remove(tenantId: string, id: string): Promise<void>;
}

/**
 * The read, change and delete routes every tenant resource has, the same way for all:
 * `GET base` (a page of `{data, nextCursor}`), `GET|PATCH|DELETE base/:id`. Creating differs
 * per resource (what the 201 carries), so each router registers its own POST.
 */
/** The scope and audit action of each route `tenantResourceRoutes` registers. */
export interface TenantResourceDeclarations {
  list: RouteDeclaration;
  get: RouteDeclaration;
  update: RouteDeclaration;
  remove: RouteDeclaration;
}

/** Fields added to the views of a batch of records (one entry per record, in order): what takes a read of its own, done once per page. */
export type ViewExtension<T> = (records: readonly T[]) => Promise<ReadonlyArray<Record<string, unknown>>>;

export function tenantResourceRoutes<T>(
  router: Router,
  base: string,
  service: TenantResourceService<T>,
  view: (record: T) => Record<string, unknown>,
  declarations: TenantResourceDeclarations,
  extend?: ViewExtension<T>,
): void {
  const views = async (records: readonly T[]): Promise<Array<Record<string, unknown>>> => {
    const extra = extend ? await extend(records) : [];
    return records.map((record, i) => ({ ...view(record), ...extra[i] }));
  };
  route(router, 'GET', base, declarations.list, async (req, res) => {
    const page = await service.list(tenantOf(res), pageFrom(req.query));
    res.json({ data: await views(page.data), nextCursor: page.nextCursor });
  });
  route(router, 'GET', `${base}/:id`, declarations.get, async (req, res) => {
    const [one] = await views([await service.get(tenantOf(res), req.params['id'] as string)]);
    res.json(one);
  });
  route(router, 'PATCH', `${base}/:id`, declarations.update, async (req, res) => {
    const [one] = await views([await service.update(tenantOf(res), req.params['id'] as string, bodyObject(req.body))]);
    res.json(one);
  });
  route(router, 'DELETE', `${base}/:id`, declarations.remove, async (req, res) => {
    await service.remove(tenantOf(res), req.params['id'] as string);
    res.status(204).end();
  });
}

/** `health` of subscriptions and integrations: the monitor's state and the window's figures. */
export function healthOf<T extends HealthSubject>(deps: Pick<ApiDeps, 'health'>): ViewExtension<T> {
  return async (records) => {
    const views = await deps.health.views(records);
    return records.map((r) => ({ health: views.get(r.id) ?? null }));
  };
}
