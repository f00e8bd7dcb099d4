import { Router } from 'express';
import { NotFoundError } from '../../core/errors';
import { tenantOf } from '../auth';
import type { ApiDeps } from '../deps';
import { optionalString, pageFrom } from '../params';
import { deadLetterView } from '../serializers';

export function deadLetterRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.get('/v1/dead-letters', async (req, res) => {
    const page = await deps.store.listDeadLetters(tenantOf(res), {
      ...pageFrom(req.query),
      subscriptionId: optionalString(req.query, 'subscriptionId'),
    });
    res.json({ data: page.data.map(deadLetterView), nextCursor: page.nextCursor });
  });

  router.get('/v1/dead-letters/:id', async (req, res) => {
    const id = req.params['id'] as string;
    const record = await deps.store.getDeadLetter(tenantOf(res), id);
    if (!record) throw new NotFoundError('dead_letter', id);
    res.json(deadLetterView(record));
  });

  router.post('/v1/dead-letters/:id/replay', async (req, res) => {
    const record = await deps.replays.replayOne(tenantOf(res), req.params['id'] as string);
    res.status(202).json({ replayed: record.id, webhookId: record.webhookId });
  });
  return router;
}
