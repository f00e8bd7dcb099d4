import { Router } from 'express';
import { HubError, NotFoundError } from '../../core/errors';
import { eventStoreKey } from '../../events/envelope';
import type { IntakeScope } from '../../events/intake';
import { tenantOf } from '../auth';
import type { ApiDeps } from '../deps';
import { bodyObject } from '../params';
import { route } from '../scopes';
import { attemptView } from '../serializers';

export function eventRoutes(deps: ApiDeps): Router {
  const router = Router();

  /** Publishes an event; answers only after the broker confirmed it. Scoped to the caller's tenant. */
  // Publishing is ingestion, not a change of the tenant's set-up: the stored event is its record,
  // and an audit row per event would double the writes of the hot path.
  route(router, 'POST', '/v1/events', { scope: 'events:publish' }, async (req, res) => {
    const tenantId = tenantOf(res);
    const body = bodyObject(req.body);
    const scope: IntakeScope = { source: 'http', tenantId };
    const accepted = deps.intake.accept(body, scope);
    if (!('ok' in accepted)) {
      const { invalid: reason, problems } = accepted;
      await deps.intake.record(accepted, JSON.stringify(body), scope);
      throw new HubError('invalid_event', `The event is not valid (${reason}): ${problems.map((p) => `${p.path} ${p.message}`).slice(0, 3).join('; ')}.`, {
        status: 422,
        details: { reason, problems },
      });
    }
    const envelope = accepted.ok;
    try {
      await deps.broker.publishEvent(envelope, tenantId);
    } catch (cause) {
      throw new HubError(
        'broker_unavailable',
        `The event could not be handed to the message broker; it was not accepted. Retry with the same id (${envelope.id}).`,
        { status: 503, details: { id: envelope.id }, cause },
      );
    }
    res.status(202).json({ id: envelope.id });
  });

  /** An event and this tenant's delivery attempts for it. */
  route(router, 'GET', '/v1/events/:id', { scope: 'deliveries:read' }, async (req, res) => {
    const tenantId = tenantOf(res);
    const id = req.params['id'] as string;
    const attempts = await deps.store.listAttempts(tenantId, { eventId: id, limit: 250 });
    const stored = (await deps.store.getEvent(eventStoreKey(id, tenantId))) ?? (attempts.data.length > 0 ? await deps.store.getEvent(id) : null);
    if (!stored) throw new NotFoundError('event', id);
    res.json({
      ...stored.envelope,
      receivedAt: stored.receivedAt.toISOString(),
      routedAt: stored.routedAt?.toISOString() ?? null,
      deliveries: attempts.data.map(attemptView),
    });
  });
  return router;
}
