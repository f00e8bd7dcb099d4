import { Router } from 'express';
import { eventCatalog } from '../../events/catalog';

export function eventTypeRoutes(): Router {
  const router = Router();
  router.get('/v1/event-types', (_req, res) => {
    res.json({ data: eventCatalog().map(({ type, source, description, schema }) => ({ type, source, description, schema })) });
  });
  return router;
}
