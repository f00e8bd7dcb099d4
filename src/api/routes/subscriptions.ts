import { Router } from 'express';
import { ValidationError } from '../../core/errors';
import { tenantOf } from '../auth';
import type { ApiDeps } from '../deps';
import { bodyObject, pageFrom } from '../params';
import type { LoadTestRecord } from '../../subscriptions/load-tests';
import type { WebhookSubscription } from '../../subscriptions/model';
import type { EndpointCheck } from '../../transport/endpoint-check';
import { route } from '../scopes';
import { subscriptionView } from '../serializers';
import { maskSecretHeaders } from '../../subscriptions/secret-headers';
import { replayWindowRoute } from './replay-window';
import { healthOf, tenantResourceRoutes } from './tenant-resource';

export function subscriptionRoutes(deps: ApiDeps): Router {
  const router = Router();
  const service = deps.subscriptions;

  route(router, 'POST', '/v1/subscriptions', { scope: 'subscriptions:write', audit: 'subscription.create' }, async (req, res) => {
    const { record, secret } = await service.create(tenantOf(res), bodyObject(req.body));
    const warnings = await endpointWarnings(deps, record);
    // Ed25519 subscriptions get no secret: their view carries the publicKey receivers verify with.
    res
      .status(201)
      .location(`/v1/subscriptions/${record.id}`)
      .json({ ...subscriptionView(record), ...(secret === null ? {} : { secret }), ...(warnings.length > 0 ? { warnings } : {}) });
  });

  tenantResourceRoutes(router, '/v1/subscriptions', service, subscriptionView, {
    list: { scope: 'subscriptions:read' },
    get: { scope: 'subscriptions:read' },
    update: { scope: 'subscriptions:write', audit: 'subscription.update' },
    remove: { scope: 'subscriptions:write', audit: 'subscription.delete' },
  }, healthOf(deps));

  // The signing secret lets its holder forge deliveries: a read-only key does not get it.
  route(router, 'GET', '/v1/subscriptions/:id/secret', { scope: 'subscriptions:write' }, async (req, res) => {
    res.json(await service.secret(tenantOf(res), req.params['id'] as string));
  });

  // {overlapSeconds?}: the new secret (HMAC) or public key (Ed25519); the old one keeps signing until previousSecretExpiresAt.
  route(router, 'POST', '/v1/subscriptions/:id/rotate-secret', { scope: 'subscriptions:write', audit: 'subscription.rotate_secret' }, async (req, res) => {
    const { record, secret } = await service.rotateSecret(tenantOf(res), req.params['id'] as string, bodyObject(req.body ?? {}));
    res.json({ ...subscriptionView(record), ...(secret === null ? {} : { secret }) });
  });

  route(router, 'POST', '/v1/subscriptions/:id/test', { scope: 'subscriptions:write', audit: 'subscription.test' }, async (req, res) => {
    const tenantId = tenantOf(res);
    const body = bodyObject(req.body ?? {});
    if (typeof body['type'] !== 'string') {
      throw new ValidationError('type is required: the event type to simulate, e.g. "business.created".', [{ path: '/type', message: 'is required' }]);
    }
    const data = body['data'];
    if (data !== undefined && (data === null || typeof data !== 'object' || Array.isArray(data))) {
      throw new ValidationError('data must be an object with the event data, or left out for sample data.', [{ path: '/data', message: 'not an object' }]);
    }
    const subscription = await service.get(tenantId, req.params['id'] as string);
    // Sent with the secret headers' values; the request shown in the answer has them masked.
    const result = await deps.tester.send(service.forSending(subscription), body['type'], data as Record<string, unknown> | undefined);
    res.json({ ...result, request: { ...result.request, headers: maskSecretHeaders(result.request.headers, subscription) } });
  });

  // {rate, seconds}: signed sample events to the subscription's own endpoint at that rate; answers when done, with the result kept.
  route(router, 'POST', '/v1/subscriptions/:id/loadtest', { scope: 'subscriptions:write', audit: 'subscription.loadtest' }, async (req, res) => {
    const record = await deps.loadTests.run(tenantOf(res), req.params['id'] as string, bodyObject(req.body ?? {}));
    res.status(201).json(loadTestView(record));
  });

  route(router, 'GET', '/v1/subscriptions/:id/loadtests', { scope: 'subscriptions:read' }, async (req, res) => {
    const { limit, cursor } = pageFrom(req.query as Record<string, unknown>);
    const page = await deps.loadTests.list(tenantOf(res), req.params['id'] as string, limit, cursor);
    res.json({ data: page.data.map(loadTestView), nextCursor: page.nextCursor });
  });

  replayWindowRoute(router, '/v1/subscriptions', deps.replays, service, { scope: 'subscriptions:write', audit: 'subscription.replay' });
  return router;
}

/**
 * A new subscription's endpoint that accepts no connection (or whose TLS fails) is worth a word at once; the
 * subscription is created all the same. Connection and TLS only, nothing is sent, within the check's bound.
 */
async function endpointWarnings(deps: ApiDeps, record: WebhookSubscription): Promise<Array<{ code: string; message: string; check: EndpointCheck }>> {
  if (!deps.config.endpointCheck.onCreate) return [];
  const check = await deps.endpoints.check({ url: record.endpointUrl, probe: 'connect', allowedIps: record.allowedIps, clientTls: deps.subscriptions.clientTls(record) });
  const errors = check.issues.filter((i) => i.severity === 'error');
  if (errors.length === 0) return [];
  return [
    {
      code: check.reachable ? 'endpoint_tls_failed' : 'endpoint_unreachable',
      message: `The subscription was created, but deliveries would fail now: ${errors.map((i) => i.message).join(' ')} Check it again with POST /v1/endpoints/validate.`,
      check,
    },
  ];
}

function loadTestView(record: LoadTestRecord): Record<string, unknown> {
  const { tenantId: _tenant, createdAt, ...rest } = record;
  return { ...rest, createdAt: createdAt.toISOString() };
}
