import { Router } from 'express';
import { NotFoundError, ValidationError } from '../../core/errors';
import { newId, randomToken, sha256Hex } from '../../core/ids';
import type { ApiKeyRecord } from '../../access/model';
import { principalOf } from '../auth';
import type { ApiDeps } from '../deps';
import { bodyObject, pageFrom } from '../params';
import { API_SCOPES, isApiScope, route } from '../scopes';

/** The public view of a key: never the key or its hash. */
export function apiKeyView(k: ApiKeyRecord): Record<string, unknown> {
  return {
    id: k.id,
    name: k.name,
    scopes: k.scopes,
    createdAt: k.createdAt.toISOString(),
    lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
    revokedAt: k.revokedAt?.toISOString() ?? null,
  };
}

/** API keys of the caller's tenant (admin scope): create (the key is shown once), list, revoke. */
export function apiKeyRoutes(deps: ApiDeps): Router {
  const router = Router();

  route(router, 'POST', '/v1/api-keys', { scope: 'admin', audit: 'api_key.create' }, async (req, res) => {
    const { tenantId } = principalOf(res);
    const { name, scopes } = parseKeyRequest(bodyObject(req.body));
    const key = `hh_${randomToken(32)}`;
    const now = new Date();
    const id = newId('key');
    await deps.store.upsertApiKey({ id, hash: sha256Hex(key), tenantId, name, scopes, createdAt: now });
    res.status(201).json({ id, name, scopes, createdAt: now.toISOString(), key });
  });

  route(router, 'GET', '/v1/api-keys', { scope: 'admin' }, async (req, res) => {
    const page = await deps.store.listApiKeys(principalOf(res).tenantId, pageFrom(req.query));
    res.json({ data: page.data.map(apiKeyView), nextCursor: page.nextCursor });
  });

  /** Revokes at once: auth reads the store on every request. Revoking twice is not an error. */
  route(router, 'DELETE', '/v1/api-keys/:id', { scope: 'admin', audit: 'api_key.revoke' }, async (req, res) => {
    const id = req.params['id'] as string;
    const revoked = await deps.store.revokeApiKey(principalOf(res).tenantId, id, new Date());
    if (!revoked) throw new NotFoundError('api_key', id);
    res.status(204).end();
  });
  return router;
}

function parseKeyRequest(body: Record<string, unknown>): { name: string; scopes: string[] } {
  const problems: Array<{ path: string; message: string }> = [];
  const name = body['name'];
  if (typeof name !== 'string' || name.trim() === '' || name.length > 100) problems.push({ path: '/name', message: 'must be a string of 1 to 100 characters' });
  const scopes = body['scopes'];
  if (!Array.isArray(scopes) || scopes.length === 0) {
    problems.push({ path: '/scopes', message: `must be a non-empty list of: ${API_SCOPES.join(', ')}` });
  } else {
    scopes.forEach((s, i) => {
      if (!isApiScope(s)) problems.push({ path: `/scopes/${i}`, message: `unknown scope; use one of ${API_SCOPES.join(', ')}` });
    });
  }
  for (const field of Object.keys(body)) if (field !== 'name' && field !== 'scopes') problems.push({ path: `/${field}`, message: 'unknown field' });
  if (problems.length > 0) {
    throw new ValidationError(`The API key request is not valid: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}.`, problems);
  }
  return { name: (name as string).trim(), scopes: [...new Set(scopes as string[])] };
}
