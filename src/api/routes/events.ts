import { Router } from 'express';
import type { Response } from 'express';
import { HubError, NotFoundError, ValidationError } from '../../core/errors';
import { eventStoreKey } from '../../events/envelope';
import type { IntakeScope } from '../../events/intake';
import { tenantOf } from '../auth';
import type { ApiDeps } from '../deps';
import { ingestRateLimited } from '../ingest-limit';
import type { IngestLimiter } from '../ingest-limit';
import { bodyObject } from '../params';
import { route } from '../scopes';
import { attemptView } from '../serializers';

/** The most events one POST /v1/events/batch takes. */
export const MAX_BATCH_EVENTS = 500;

/** One event's answer in a batch: the status it would have had alone, with its id or its error. */
interface BatchAnswer {
  index: number;
  status: number;
  id?: string;
  error?: { code: string; message: string; details?: unknown };
}

export function eventRoutes(deps: ApiDeps, ingest: IngestLimiter): Router {
  const router = Router();

  /** Publishes an event; answers only after the broker confirmed it. Scoped to the caller's tenant. */
  // Publishing is ingestion, not a change of the tenant's set-up: the stored event is its record,
  // and an audit row per event would double the writes of the hot path.
  route(router, 'POST', '/v1/events', { scope: 'events:publish' }, async (req, res) => {
    const tenantId = tenantOf(res);
    const body = bodyObject(req.body);
    await takeOrRefuse(ingest, tenantId, 1, res);
    const answer = await publishOne(deps, tenantId, body);
    if (answer.error) {
      throw new HubError(answer.error.code, answer.error.message, { status: answer.status, details: answer.error.details });
    }
    res.status(202).json({ id: answer.id });
  });

  /**
   * `{"events": [...]}`, up to 500: each event is checked and published as POST /v1/events would,
   * and answered in `data` in the order given (202 with its id, 422 invalid and recorded as
   * refused, 429 beyond the publishing rate, 503 not handed to the broker). Others still go.
   */
  route(router, 'POST', '/v1/events/batch', { scope: 'events:publish' }, async (req, res) => {
    const tenantId = tenantOf(res);
    const body = bodyObject(req.body);
    const events = body['events'];
    const extra = Object.keys(body).filter((k) => k !== 'events');
    if (!Array.isArray(events) || events.length === 0 || events.length > MAX_BATCH_EVENTS || extra.length > 0) {
      throw new ValidationError(`The body must be {"events": [...]} with 1 to ${MAX_BATCH_EVENTS} events, each as POST /v1/events takes it; send more in several batches.`, [
        extra.length > 0 ? { path: `/${extra[0]}`, message: 'is not an allowed property' } : { path: '/events', message: `must be a list of 1 to ${MAX_BATCH_EVENTS} events` },
      ]);
    }
    const { granted, rate, retryAfterSeconds } = await takeOrRefuse(ingest, tenantId, events.length, res);
    const limited = ingestRateLimited(rate, retryAfterSeconds);
    const data = await Promise.all(
      events.map(async (candidate: unknown, index): Promise<BatchAnswer> => {
        if (index >= granted) return { index, status: 429, error: { code: limited.code, message: limited.message, details: limited.details } };
        return { index, ...(await publishOne(deps, tenantId, candidate)) };
      }),
    );
    const accepted = data.filter((a) => a.status === 202).length;
    res.status(200).json({ accepted, refused: data.length - accepted, data });
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

/** Takes `wanted` events' worth of the tenant's publishing rate; none left: 429 with Retry-After. */
async function takeOrRefuse(ingest: IngestLimiter, tenantId: string, wanted: number, res: Response): Promise<{ granted: number; rate: number; retryAfterSeconds: number }> {
  const taken = await ingest.take(tenantId, wanted);
  if (taken.granted === 0) {
    res.setHeader('Retry-After', String(taken.retryAfterSeconds));
    throw ingestRateLimited(taken.rate, taken.retryAfterSeconds);
  }
  return taken;
}

/** Checks and publishes one event for the tenant: its answer (an invalid one is recorded with its reason, as the router parks those from the queue). */
async function publishOne(deps: ApiDeps, tenantId: string, candidate: unknown): Promise<Omit<BatchAnswer, 'index'>> {
  const scope: IntakeScope = { source: 'http', tenantId };
  const accepted = deps.intake.accept(candidate, scope);
  if (!('ok' in accepted)) {
    const { invalid: reason, problems } = accepted;
    await deps.intake.record(accepted, JSON.stringify(candidate), scope);
    return {
      status: 422,
      error: { code: 'invalid_event', message: `The event is not valid (${reason}): ${problems.map((p) => `${p.path} ${p.message}`).slice(0, 3).join('; ')}.`, details: { reason, problems } },
    };
  }
  const envelope = accepted.ok;
  try {
    await deps.broker.publishEvent(envelope, tenantId);
  } catch {
    return {
      status: 503,
      id: envelope.id,
      error: { code: 'broker_unavailable', message: `The event could not be handed to the message broker; it was not accepted. Retry with the same id (${envelope.id}).`, details: { id: envelope.id } },
    };
  }
  return { status: 202, id: envelope.id };
}
