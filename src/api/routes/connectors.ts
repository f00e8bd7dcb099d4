import { Router } from 'express';
import { HubError } from '../../core/errors';
import type { ApiDeps } from '../deps';
import { route } from '../scopes';
import { connectorView } from '../serializers';

/** The installed connectors (newest major of each), with their settings schema and triggers. */
export function connectorRoutes(deps: ApiDeps): Router {
  const router = Router();
  route(router, 'GET', '/v1/connectors', { scope: 'subscriptions:read' }, (_req, res) => {
    res.json({ data: deps.connectors.list().map((c) => connectorView(c, deps.connectors.majors(c.manifest.name))) });
  });
  route(router, 'GET', '/v1/connectors/:name', { scope: 'subscriptions:read' }, (req, res) => {
    const name = req.params['name'] as string;
    const connector = deps.connectors.latest(name);
    if (!connector) throw new HubError('connector_not_found', `No connector "${name}" is installed; see GET /v1/connectors.`, { status: 404 });
    res.json(connectorView(connector, deps.connectors.majors(name)));
  });
  return router;
}
