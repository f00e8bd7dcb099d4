import { Router } from 'express';
import { NotFoundError } from '../../core/errors';
import { tenantOf } from '../auth';
import type { ApiDeps } from '../deps';
import { optionalString, pageFrom } from '../params';
import { route } from '../scopes';
import { deadLetterView } from '../serializers';
import type { DeadLetterRecord } from '../../pipeline/model';

export function deadLetterRoutes(deps: ApiDeps): Router {
  const router = Router();
  route(router, 'GET', '/v1/dead-letters', { scope: 'deliveries:read' }, async (req, res) => {
    const page = await deps.store.listDeadLetters(tenantOf(res), {
      ...pageFrom(req.query),
      subscriptionId: optionalString(req.query, 'subscriptionId'),
    });
    res.json({ data: page.data.map(deadLetterView), nextCursor: page.nextCursor });
  });

  route(router, 'GET', '/v1/dead-letters/:id', { scope: 'deliveries:read' }, async (req, res) => {
    const id = req.params['id'] as string;
    const record = await deps.store.getDeadLetter(tenantOf(res), id);
    if (!record) throw new NotFoundError('dead_letter', id);
    res.json(deadLetterView(record));
  });

  route(router, 'POST', '/v1/dead-letters/:id/replay', { scope: 'subscriptions:write', audit: 'dead_letter.replay' }, async (req, res) => {
    const wholeBatch = optionalString(req.query, 'wholeBatch') === 'true';
    const id = req.params['id'] as string;
    const { deadLetters, webhookId } = await deps.replays.replayOne(tenantOf(res), id, { wholeBatch });
    const batch = (deadLetters[0] as DeadLetterRecord).batch;
    res.status(202).json({ replayed: id, webhookId, ...(wholeBatch && batch ? { batchId: batch.id, deadLetters: deadLetters.map((r) => r.id) } : {}) });
  });
  return router;
}
