import { Router } from 'express';
import { tenantOf } from '../auth';
import type { ApiDeps } from '../deps';
import { bodyObject } from '../params';
import { integrationView } from '../serializers';
import { replayWindowRoute } from './replay-window';
import { tenantResourceRoutes } from './tenant-resource';

export function integrationRoutes(deps: ApiDeps): Router {
  const router = Router();
  const service = deps.integrations;

  router.post('/v1/integrations', async (req, res) => {
    const record = await service.create(tenantOf(res), bodyObject(req.body));
    res.status(201).location(`/v1/integrations/${record.id}`).json(integrationView(record));
  });
  tenantResourceRoutes(router, '/v1/integrations', service, integrationView);
  replayWindowRoute(router, '/v1/integrations', deps.replays, service);
  return router;
}
