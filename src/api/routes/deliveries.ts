import { Router } from 'express';
import { NotFoundError, ValidationError } from '../../core/errors';
import { tenantOf } from '../auth';
import type { ApiDeps } from '../deps';
import { dateParam, optionalString, pageFrom } from '../params';
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
    const since = optionalString(req.query, 'since');
    const until = optionalString(req.query, 'until');
    // Each filter is served by an index of its own; a page is read from the cursor on, and nothing is counted.
    const page = await deps.store.listAttempts(tenantOf(res), {
      ...pageFrom(req.query),
      subscriptionId: optionalString(req.query, 'subscriptionId'),
      eventId: optionalString(req.query, 'eventId'),
      eventType: optionalString(req.query, 'type'),
      status,
      since: since === undefined ? undefined : dateParam(since, 'query.since'),
      until: until === undefined ? undefined : dateParam(until, 'query.until'),
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

  /**
   * Sends an attempt's event again to that attempt's subscription or integration only (202): its
   * attempts appear in the delivery log with `resentFrom` set to this attempt's id.
   */
  route(router, 'POST', '/v1/attempts/:id/resend', { scope: 'subscriptions:write', audit: 'attempt.resend' }, async (req, res) => {
    const receipt = await deps.resends.resend(tenantOf(res), req.params['id'] as string);
    const log = `/v1/deliveries?eventId=${encodeURIComponent(receipt.eventId)}&subscriptionId=${encodeURIComponent(receipt.subscriptionId)}`;
    res.status(202).json({ ...receipt, deliveries: log });
  });
  return router;
}
