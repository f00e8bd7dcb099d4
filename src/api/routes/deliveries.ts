import { Router } from 'express';
import { NotFoundError, ValidationError } from '../../core/errors';
import { tenantOf } from '../auth';
import type { ApiDeps } from '../deps';
import { optionalString, pageFrom } from '../params';
import { route } from '../scopes';
import { attemptView } from '../serializers';

export function deliveryRoutes(deps: ApiDeps): Router {
  const router = Router();
  /** Delivery attempts, newest first. */
  route(router, 'GET', '/v1/deliveries', { scope: 'deliveries:read' }, async (req, res) => {
    const status = optionalString(req.query, 'status');
    if (status !== undefined && status !== 'succeeded' && status !== 'failed') {
      throw new ValidationError('status must be "succeeded" or "failed".', [{ path: 'query.status', message: 'unknown status' }]);
    }
    const page = await deps.store.listAttempts(tenantOf(res), {
      ...pageFrom(req.query),
      subscriptionId: optionalString(req.query, 'subscriptionId'),
      eventId: optionalString(req.query, 'eventId'),
      status,
    });
    res.json({ data: page.data.map(attemptView), nextCursor: page.nextCursor });
  });

  /** One attempt; another tenant's id is as unknown as a made-up one. */
  route(router, 'GET', '/v1/deliveries/:id', { scope: 'deliveries:read' }, async (req, res) => {
    const id = req.params['id'] as string;
    const attempt = await deps.store.getAttempt(tenantOf(res), id);
    if (!attempt) throw new NotFoundError('attempt', id);
    res.json(attemptView(attempt));
  });
  return router;
}
