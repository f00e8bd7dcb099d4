import { Router } from 'express';
import { invalid } from '../../core/errors';
import type { ValidationProblem } from '../../events/validator';
import { explainWebhook } from '../../verify';
import { tenantOf } from '../auth';
import type { ApiDeps } from '../deps';
import { bodyObject } from '../params';
import { route } from '../scopes';

/** The developer tools of the API: a dry run of an event, a signature check, an endpoint check. */
export function toolRoutes(deps: ApiDeps): Router {
  const router = Router();

  // {type, data, id?, timestamp?}: validated as POST /v1/events would, matched against every subscription of the
  // tenant, with the request each match would get. Nothing is published. The answer carries real signatures,
  // so it takes the scope that may read the signing secret.
  route(router, 'POST', '/v1/events/inspect', { scope: 'subscriptions:write' }, async (req, res) => {
    const body = bodyObject(req.body);
    if (typeof body['type'] !== 'string') throw invalid([{ path: '/type', message: 'is required: the event type, e.g. "business.created"' }], 'event');
    res.json(await deps.inspector.inspect(tenantOf(res), body));
  });

  // {headers, body, secret, toleranceSeconds?}: which check of a receiver's verification fails, and the signature expected.
  route(router, 'POST', '/v1/webhooks/verify', { scope: 'subscriptions:read' }, (req, res) => {
    const body = bodyObject(req.body);
    const problems: ValidationProblem[] = [];
    const headers = body['headers'];
    if (headers === null || typeof headers !== 'object' || Array.isArray(headers) || !Object.values(headers).every((v) => typeof v === 'string')) {
      problems.push({ path: '/headers', message: 'must be an object of header names to string values, as the receiver got them' });
    }
    if (typeof body['body'] !== 'string') problems.push({ path: '/body', message: 'must be the raw request body as a string, exactly as received (not parsed JSON)' });
    if (typeof body['secret'] !== 'string' || body['secret'] === '') problems.push({ path: '/secret', message: "is required: the subscription's whsec_ secret or whpk_ public key" });
    const tolerance = body['toleranceSeconds'];
    if (tolerance !== undefined && (typeof tolerance !== 'number' || !Number.isInteger(tolerance) || tolerance < 0 || tolerance > 86_400 * 365)) {
      problems.push({ path: '/toleranceSeconds', message: 'must be a whole number of seconds (default 300)' });
    }
    if (problems.length > 0) throw invalid(problems, 'verification request');
    const report = explainWebhook(body['body'] as string, headers as Record<string, string>, body['secret'] as string, {
      now: Math.floor(deps.clock.now() / 1000),
      ...(typeof tolerance === 'number' ? { toleranceSeconds: tolerance } : {}),
    });
    res.json(report);
  });

  // {url, secret?, ca?}: reachability, TLS and a signed test POST, under the SSRF guard; redirects are reported, never followed.
  route(router, 'POST', '/v1/endpoints/validate', { scope: 'subscriptions:write', audit: 'endpoint.validate' }, async (req, res) => {
    const body = bodyObject(req.body);
    const problems: ValidationProblem[] = [];
    if (typeof body['url'] !== 'string' || body['url'] === '') problems.push({ path: '/url', message: 'is required: the endpoint URL, e.g. https://example.com/webhooks' });
    for (const name of ['secret', 'ca'] as const) {
      if (body[name] !== undefined && typeof body[name] !== 'string') problems.push({ path: `/${name}`, message: 'must be a string' });
    }
    const unknown = Object.keys(body).filter((k) => !['url', 'secret', 'ca'].includes(k));
    problems.push(...unknown.map((k) => ({ path: `/${k}`, message: 'is not an option; they are url, secret and ca' })));
    if (problems.length > 0) throw invalid(problems, 'endpoint check');
    res.json(await deps.endpoints.check({ url: body['url'] as string, probe: 'post', secret: body['secret'] as string | undefined, ca: body['ca'] as string | undefined }));
  });
  return router;
}
