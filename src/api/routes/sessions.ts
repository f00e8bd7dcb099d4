import { Router } from 'express';
import type { CookieOptions, Request } from 'express';
import type { ApiKeyRecord } from '../../access/model';
import type { Clock } from '../../core/clock';
import { systemClock } from '../../core/clock';
import { HubError, ValidationError } from '../../core/errors';
import { sha256Hex } from '../../core/ids';
import type { ApiDeps } from '../deps';
import { bodyObject } from '../params';
import { SESSION_COOKIE, csrfTokenFor, keyOfSession, newSessionToken, sessionTokenOf } from '../console-session';
import type { AuditTrail } from '../audit';

/**
 * Console sign-in: an API key is exchanged for a session cookie (HttpOnly, SameSite=Strict,
 * Secure on https or in production). The key is not kept by the browser or the hub, only its hash.
 * Mounted before API-key authentication: these routes authenticate themselves.
 */
export function sessionRoutes(deps: ApiDeps, audit: Pick<AuditTrail, 'recordRequest'>, clock: Clock = systemClock): Router {
  const router = Router();
  const cookieOptions = (): CookieOptions => ({
    httpOnly: true,
    sameSite: 'strict',
    secure: deps.config.production || deps.config.publicUrl.startsWith('https:'),
    path: '/',
  });

  router.post('/v1/sessions', async (req, res) => {
    const body = bodyObject(req.body);
    const apiKey = body['apiKey'];
    if (typeof apiKey !== 'string' || apiKey.trim() === '') {
      throw new ValidationError('apiKey is required: the API key to sign in with (it is exchanged for a session cookie and not kept).', [{ path: '/apiKey', message: 'is required' }]);
    }
    const key = await deps.store.findApiKey(sha256Hex(apiKey.trim()));
    if (!key || key.revokedAt !== null) {
      throw new HubError('unauthorized', 'The API key is not valid or was revoked. Check it, or ask an admin for a new one.', { status: 401 });
    }
    const token = newSessionToken();
    const now = clock.now();
    const expiresAt = new Date(now + deps.config.console.sessionTtlSeconds * 1000);
    await deps.store.insertConsoleSession({ id: sha256Hex(token), tenantId: key.tenantId, keyHash: key.hash, csrfHash: sha256Hex(csrfTokenFor(token)), createdAt: new Date(now), expiresAt });
    res.cookie(SESSION_COOKIE, token, { ...cookieOptions(), maxAge: deps.config.console.sessionTtlSeconds * 1000 });
    res.status(201).json(sessionView(key, token, expiresAt));
    recordSession(req, 'session.create', key, 201);
  });

  router.get('/v1/sessions/current', async (req, res) => {
    const { key, token, expiresAt } = await current(req);
    res.json(sessionView(key, token, expiresAt));
  });

  // Sign-out: a write like any other, so it needs the CSRF token too.
  router.delete('/v1/sessions/current', async (req, res) => {
    const { key, token } = await current(req);
    await deps.store.deleteConsoleSession(sha256Hex(token));
    res.clearCookie(SESSION_COOKIE, cookieOptions());
    res.status(204).end();
    recordSession(req, 'session.delete', key, 204);
  });

  // Console sign-ins and sign-outs are in the tenant's audit log, with the key used (never the session's token).
  const recordSession = (req: Request, action: 'session.create' | 'session.delete', key: ApiKeyRecord, status: number): void =>
    audit.recordRequest(req, { tenantId: key.tenantId, action, resourceId: null, fields: [], apiKeyId: key.id, apiKeyName: key.name, status }, new Date(clock.now()));

  const current = async (req: Request): Promise<{ key: ApiKeyRecord; token: string; expiresAt: Date }> => {
    const token = sessionTokenOf(req);
    if (token === null) throw new HubError('unauthorized', 'Not signed in: POST /v1/sessions with {"apiKey": "..."} first.', { status: 401 });
    const key = await keyOfSession(deps.store, req, token, clock);
    const session = await deps.store.findConsoleSession(sha256Hex(token));
    return { key, token, expiresAt: session?.expiresAt ?? new Date(clock.now()) };
  };
  return router;
}

function sessionView(key: ApiKeyRecord, token: string, expiresAt: Date): Record<string, unknown> {
  return { tenantId: key.tenantId, keyId: key.id, keyName: key.name, scopes: key.scopes, csrfToken: csrfTokenFor(token), expiresAt: expiresAt.toISOString() };
}
