import type { Router } from 'express';
import type { Page, PageRequest } from '../../core/page';
import { tenantOf } from '../auth';
import { bodyObject, pageFrom } from '../params';
import { route } from '../scopes';
import type { RouteDeclaration } from '../scopes';

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

export function tenantResourceRoutes<T>(
  router: Router,
  base: string,
  service: TenantResourceService<T>,
  view: (record: T) => Record<string, unknown>,
  declarations: TenantResourceDeclarations,
): void {
  route(router, 'GET', base, declarations.list, async (req, res) => {
    const page = await service.list(tenantOf(res), pageFrom(req.query));
    res.json({ data: page.data.map(view), nextCursor: page.nextCursor });
  });
  route(router, 'GET', `${base}/:id`, declarations.get, async (req, res) => {
    res.json(view(await service.get(tenantOf(res), req.params['id'] as string)));
  });
  route(router, 'PATCH', `${base}/:id`, declarations.update, async (req, res) => {
    res.json(view(await service.update(tenantOf(res), req.params['id'] as string, bodyObject(req.body))));
  });
  route(router, 'DELETE', `${base}/:id`, declarations.remove, async (req, res) => {
    await service.remove(tenantOf(res), req.params['id'] as string);
    res.status(204).end();
  });
}
