import { Router } from 'express';
import { eventCatalog } from '../../events/catalog';
import { route } from '../scopes';

export function eventTypeRoutes(): Router {
  const router = Router();
  // Served before authentication (public); the scope is what a key would need, so every route declares one.
  route(router, 'GET', '/v1/event-types', { scope: 'subscriptions:read' }, (_req, res) => {
    res.json({ data: eventCatalog().map(({ type, source, description, schema }) => ({ type, source, description, schema })) });
  });
  return router;
}
