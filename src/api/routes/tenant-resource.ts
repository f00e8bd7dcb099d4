import type { Router } from 'express';
import type { Page, PageRequest } from '../../store/port';
import { tenantOf } from '../auth';
import { bodyObject, pageFrom } from '../params';

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
export function tenantResourceRoutes<T>(router: Router, base: string, service: TenantResourceService<T>, view: (record: T) => Record<string, unknown>): void {
  router.get(base, async (req, res) => {
    const page = await service.list(tenantOf(res), pageFrom(req.query));
    res.json({ data: page.data.map(view), nextCursor: page.nextCursor });
  });
  router.get(`${base}/:id`, async (req, res) => {
    res.json(view(await service.get(tenantOf(res), req.params['id'] as string)));
  });
  router.patch(`${base}/:id`, async (req, res) => {
    res.json(view(await service.update(tenantOf(res), req.params['id'] as string, bodyObject(req.body))));
  });
  router.delete(`${base}/:id`, async (req, res) => {
    await service.remove(tenantOf(res), req.params['id'] as string);
    res.status(204).end();
  });
}
