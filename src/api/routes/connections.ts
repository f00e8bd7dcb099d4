import { Router } from 'express';
import { tenantOf } from '../auth';
import type { ApiDeps } from '../deps';
import { bodyObject, pageFrom } from '../params';
import { connectionView } from '../serializers';

export function connectionRoutes(deps: ApiDeps): Router {
  const router = Router();
  const service = deps.connections;
  const view = (c: Parameters<typeof connectionView>[0]): Record<string, unknown> => connectionView(c, service.pinned(c));

  router.post('/v1/connections', async (req, res) => {
    const record = await service.create(tenantOf(res), bodyObject(req.body));
    res.status(201).location(`/v1/connections/${record.id}`).json(view(record));
  });
  router.get('/v1/connections', async (req, res) => {
    const page = await service.list(tenantOf(res), pageFrom(req.query));
    res.json({ data: page.data.map(view), nextCursor: page.nextCursor });
  });
  router.get('/v1/connections/:id', async (req, res) => {
    res.json(view(await service.get(tenantOf(res), req.params['id'] as string)));
  });
  router.patch('/v1/connections/:id', async (req, res) => {
    res.json(view(await service.update(tenantOf(res), req.params['id'] as string, bodyObject(req.body))));
  });
  router.delete('/v1/connections/:id', async (req, res) => {
    await service.remove(tenantOf(res), req.params['id'] as string);
    res.status(204).end();
  });
  router.post('/v1/connections/:id/check', async (req, res) => {
    res.json(await service.check(tenantOf(res), req.params['id'] as string));
  });
  return router;
}
