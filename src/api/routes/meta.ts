import { Router } from 'express';
import type { ApiDeps } from '../deps';
import { route } from '../scopes';

/** Facts about this hub that receivers need, e.g. for their firewalls. */
export function metaRoutes(deps: ApiDeps): Router {
  const router = Router();
  route(router, 'GET', '/v1/meta/egress-ips', { scope: 'subscriptions:read' }, (_req, res) => {
    res.json({
      data: deps.config.egressIps,
      note:
        deps.config.egressIps.length > 0
          ? 'Deliveries to your endpoints come from these addresses; allow them in your firewall.'
          : 'This hub does not publish fixed egress addresses (HOOKHUB_EGRESS_IPS is not set); verify signatures instead of allow-listing addresses.',
    });
  });
  return router;
}
