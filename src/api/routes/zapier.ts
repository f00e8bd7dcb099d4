import { Router } from 'express';
import { HubError, invalid, NotFoundError, ValidationError } from '../../core/errors';
import type { ValidationProblem } from '../../core/errors';
import { isEventType } from '../../events/catalog';
import { CURRENT_EVENT_VERSION } from '../../events/envelope';
import type { EventEnvelope } from '../../events/envelope';
import { sampleData } from '../../events/samples';
import type { WebhookSubscription } from '../../subscriptions/model';
import { PayloadBuilder } from '../../webhooks/payload';
import type { WebhookBody } from '../../webhooks/payload';
import { principalOf, tenantOf } from '../auth';
import type { ApiDeps } from '../deps';
import { bodyObject } from '../params';
import { hasScope, route } from '../scopes';
import type { ApiScope } from '../scopes';
import { subscriptionView } from '../serializers';

/** The scopes a key needs for everything the Zapier app does (GET /v1/zapier/me names those it lacks). */
export const ZAPIER_SCOPES: readonly ApiScope[] = ['subscriptions:read', 'subscriptions:write', 'deliveries:read'];

/** How many recent events a trigger's sample list offers (the Zap editor shows three). */
const SAMPLE_COUNT = 3;

/** The subscription id in the bodies of a sample list, which no subscription sent. */
export const SAMPLE_SUBSCRIPTION_ID = 'sub_sample';

const DESCRIPTION_PREFIX = 'Zapier: ';

/** A Zapier subscription is a webhook subscription marked so in its description (GET /v1/subscriptions lists it so). */
export function isZapierSubscription(record: Pick<WebhookSubscription, 'description'>): boolean {
  return record.description?.startsWith(DESCRIPTION_PREFIX) ?? false;
}

const payloads = new PayloadBuilder();

/** A delivery's body for an event of a sample list: what a Zap trigger receives, byte for byte but the subscription id. */
export function sampleBody(envelope: EventEnvelope): Promise<WebhookBody> {
  return payloads.build(envelope, null, SAMPLE_SUBSCRIPTION_ID, 1);
}

/** An event of the type with the catalog's sample data, for a tenant that has had none yet. */
export function catalogSample(type: string, at: Date = new Date()): EventEnvelope {
  return { id: `evt_sample_${type.replace(/\./g, '_')}`, type, version: CURRENT_EVENT_VERSION, timestamp: at.toISOString(), data: sampleData(type) };
}

/**
 * What Zapier's REST hooks call (https://docs.zapier.com/platform/build/hook-trigger): subscribe
 * and unsubscribe a Zap's hook URL, a trigger's sample list, and the connection test. A Zapier
 * subscription is a normal webhook subscription, made by the subscription service with every
 * check of POST /v1/subscriptions, and delivered, signed and retried like any other.
 */
export function zapierRoutes(deps: ApiDeps): Router {
  const router = Router();
  const service = deps.subscriptions;

  route(router, 'GET', '/v1/zapier/me', { scope: 'subscriptions:read' }, (_req, res) => {
    const { tenantId, keyId, keyName, scopes } = principalOf(res);
    res.json({ tenantId, keyId, keyName, scopes, missingScopes: ZAPIER_SCOPES.filter((scope) => !hasScope(scopes, scope)) });
  });

  route(router, 'POST', '/v1/zapier/subscriptions', { scope: 'subscriptions:write', audit: 'subscription.create' }, async (req, res) => {
    const { targetUrl, event } = parseSubscribe(bodyObject(req.body));
    let created: WebhookSubscription;
    try {
      ({ record: created } = await service.create(tenantOf(res), { endpointUrl: targetUrl, events: [event], description: `${DESCRIPTION_PREFIX}${event}` }));
    } catch (err) {
      // The service names the subscription's fields; the caller sent target_url.
      if (err instanceof ValidationError && Array.isArray(err.details)) {
        throw invalid((err.details as ValidationProblem[]).map((p) => ({ ...p, path: p.path.replace(/^\/endpointUrl/, '/target_url') })), 'Zapier subscription');
      }
      throw err;
    }
    // No secret in the answer: Zapier keeps what subscribing returns, and its hook URL is the credential it checks.
    res.status(201).location(`/v1/subscriptions/${created.id}`).json(subscriptionView(created));
  });

  route(router, 'DELETE', '/v1/zapier/subscriptions/:id', { scope: 'subscriptions:write', audit: 'subscription.delete' }, async (req, res) => {
    const tenantId = tenantOf(res);
    const id = req.params['id'] as string;
    // Only what Zapier subscribed: a hand-made subscription is not Zapier's to remove.
    if (!isZapierSubscription(await service.get(tenantId, id))) throw new NotFoundError('zapier_subscription', id);
    await service.remove(tenantId, id);
    res.status(204).end();
  });

  route(router, 'GET', '/v1/zapier/samples/:type', { scope: 'deliveries:read' }, async (req, res) => {
    const type = req.params['type'] as string;
    if (!isEventType(type)) {
      throw new HubError('event_type_not_found', `"${type}" is not an event type; see GET /v1/event-types.`, { status: 404, details: { type } });
    }
    const recent = await deps.store.recentEvents(tenantOf(res), type, SAMPLE_COUNT);
    const events = recent.length > 0 ? recent : [catalogSample(type)];
    res.json({ data: await Promise.all(events.map(sampleBody)), source: recent.length > 0 ? 'events' : 'catalog' });
  });
  return router;
}

function parseSubscribe(body: Record<string, unknown>): { targetUrl: string; event: string } {
  const problems: ValidationProblem[] = [];
  const targetUrl = body['target_url'];
  const event = body['event'];
  if (typeof targetUrl !== 'string' || targetUrl === '') problems.push({ path: '/target_url', message: 'is required: the hook URL Zapier gives the trigger (bundle.targetUrl)' });
  if (typeof event !== 'string' || !isEventType(event)) problems.push({ path: '/event', message: 'must be one event type of GET /v1/event-types, e.g. "business.created"' });
  for (const field of Object.keys(body)) if (field !== 'target_url' && field !== 'event') problems.push({ path: `/${field}`, message: 'is not a field of a Zapier subscription; send target_url and event' });
  if (problems.length > 0) throw invalid(problems, 'Zapier subscription');
  return { targetUrl: targetUrl as string, event: event as string };
}
