import { Router } from 'express';
import { tenantOf } from '../auth';
import type { ApiDeps } from '../deps';
import { bodyObject, pageFrom } from '../params';
import { replayWindow } from '../replay-window';
import { integrationView } from '../serializers';

export function integrationRoutes(deps: ApiDeps): Router {
  const router = Router();
  const service = deps.integrations;

  router.post('/v1/integrations', async (req, res) => {
    const record = await service.create(tenantOf(res), bodyObject(req.body));
    res.status(201).location(`/v1/integrations/${record.id}`).json(integrationView(record));
  });
  router.get('/v1/integrations', async (req, res) => {
    const page = await service.list(tenantOf(res), pageFrom(req.query));
    res.json({ data: page.data.map(integrationView), nextCursor: page.nextCursor });
  });
  router.get('/v1/integrations/:id', async (req, res) => {
    res.json(integrationView(await service.get(tenantOf(res), req.params['id'] as string)));
  });
  router.patch('/v1/integrations/:id', async (req, res) => {
    res.json(integrationView(await service.update(tenantOf(res), req.params['id'] as string, bodyObject(req.body))));
  });
  router.delete('/v1/integrations/:id', async (req, res) => {
    await service.remove(tenantOf(res), req.params['id'] as string);
    res.status(204).end();
  });
  router.post('/v1/integrations/:id/replay', async (req, res) => {
    const tenantId = tenantOf(res);
    const id = req.params['id'] as string;
    await service.get(tenantId, id);
    await replayWindow(deps.replays, tenantId, id, req, res);
  });
  return router;
}
