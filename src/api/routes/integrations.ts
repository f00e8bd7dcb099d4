import { Router } from 'express';
import { tenantOf } from '../auth';
import type { ApiDeps } from '../deps';
import { bodyObject } from '../params';
import { route } from '../scopes';
import { integrationView } from '../serializers';
import { replayWindowRoute } from './replay-window';
import { healthOf, tenantResourceRoutes } from './tenant-resource';

export function integrationRoutes(deps: ApiDeps): Router {
  const router = Router();
  const service = deps.integrations;

  route(router, 'POST', '/v1/integrations', { scope: 'subscriptions:write', audit: 'integration.create' }, async (req, res) => {
    const record = await service.create(tenantOf(res), bodyObject(req.body));
    res.status(201).location(`/v1/integrations/${record.id}`).json(integrationView(record));
  });
  tenantResourceRoutes(router, '/v1/integrations', service, integrationView, {
    list: { scope: 'subscriptions:read' },
    get: { scope: 'subscriptions:read' },
    update: { scope: 'subscriptions:write', audit: 'integration.update' },
    remove: { scope: 'subscriptions:write', audit: 'integration.delete' },
  }, healthOf(deps));
  replayWindowRoute(router, '/v1/integrations', deps.replays, service, { scope: 'subscriptions:write', audit: 'integration.replay' });
  return router;
}
