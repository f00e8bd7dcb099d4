import { Router } from 'express';
import { tenantOf } from '../auth';
import type { ApiDeps } from '../deps';
import { pageFrom } from '../params';
import { route } from '../scopes';
import { tunnelsDisabled } from '../tunnel-socket';

/** The tenant's `hookhub tunnel` URLs: listed, and closed (its client is told, its URL answers 404 from then on). */
export function tunnelRoutes(deps: ApiDeps): Router {
  const router = Router();
  const enabled = (): void => {
    if (!deps.config.tunnels.enabled) throw tunnelsDisabled();
  };
  route(router, 'GET', '/v1/tunnels', { scope: 'tunnels:write' }, async (req, res) => {
    enabled();
    res.json(await deps.tunnels.service.list(tenantOf(res), pageFrom(req.query)));
  });
  route(router, 'DELETE', '/v1/tunnels/:id', { scope: 'tunnels:write', audit: 'tunnel.close' }, async (req, res) => {
    enabled();
    const closed = await deps.tunnels.service.close(tenantOf(res), req.params['id'] as string);
    // Its client, when connected here; a client on another process learns it at its next heartbeat (docs/tunnels.md).
    deps.tunnels.clients.get(closed.id)?.end('tunnel closed through the API');
    res.status(204).end();
  });
  return router;
}
