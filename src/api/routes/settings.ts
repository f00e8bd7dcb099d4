import { Router } from 'express';
import { tenantSettingsView } from '../../integrations/tenant-settings';
import { tenantOf } from '../auth';
import type { ApiDeps } from '../deps';
import { bodyObject } from '../params';
import { route } from '../scopes';

/** The caller's tenant settings: read with subscriptions:read, replaced by an admin (they loosen where linking may redirect). */
export function settingsRoutes(deps: ApiDeps): Router {
  const router = Router();

  route(router, 'GET', '/v1/settings', { scope: 'subscriptions:read' }, async (_req, res) => {
    res.json(tenantSettingsView(await deps.settings.get(tenantOf(res))));
  });

  route(router, 'PUT', '/v1/settings', { scope: 'admin', audit: 'settings.update' }, async (req, res) => {
    res.json(tenantSettingsView(await deps.settings.replace(tenantOf(res), bodyObject(req.body))));
  });
  return router;
}
