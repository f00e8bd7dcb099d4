import type { RequestHandler, Response } from 'express';
import { HubError } from '../core/errors';
import { sha256Hex } from '../core/ids';
import type { Logger } from '../core/logger';
import type { ApiKeyRecord } from '../access/model';
import type { ApiKeys, ConsoleSessions } from '../access/ports';
import { systemClock } from '../core/clock';
import type { Clock } from '../core/clock';
import { keyOfSession, sessionTokenOf } from './console-session';

/** Who is calling: the key's id, name and scopes (set by requireApiKey). */
export interface Principal {
  tenantId: string;
  keyId: string;
  keyName: string;
  scopes: readonly string[];
}

/** lastUsedAt is written at most this often per key and process. */
const TOUCH_INTERVAL_MS = 60_000;

/**
 * Resolves `Authorization: Bearer <api key>`, or else the console's session cookie (with its CSRF
 * token on writes), to the key's tenant and scopes. The store is read on every request, so a
 * revocation holds at once in every process.
 */
export function requireApiKey(store: ApiKeys & ConsoleSessions, logger?: Logger, clock: Clock = systemClock, maxKeys = 10_000): RequestHandler {
  const touched = new Map<string, number>();
  return async (req, res, next) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const sessionToken = header === '' ? sessionTokenOf(req) : null;
    let record: ApiKeyRecord | null;
    if (match?.[1]) {
      record = await store.findApiKey(sha256Hex(match[1]));
    } else if (sessionToken !== null) {
      record = await keyOfSession(store, req, sessionToken, clock);
    } else {
      throw new HubError('unauthorized', 'Send your API key as "Authorization: Bearer <key>".', { status: 401 });
    }
    if (!record || record.revokedAt !== null) {
      throw new HubError('unauthorized', 'The API key is not valid or was revoked. Check it, or ask an admin for a new one.', { status: 401 });
    }
    const hash = record.hash;
    const principal: Principal = { tenantId: record.tenantId, keyId: record.id, keyName: record.name, scopes: record.scopes };
    res.locals['tenantId'] = record.tenantId;
    res.locals['principal'] = principal;
    const now = Date.now();
    const last = Math.max(touched.get(hash) ?? 0, record.lastUsedAt?.getTime() ?? 0);
    if (now - last >= TOUCH_INTERVAL_MS) {
      if (touched.size > maxKeys) touched.clear();
      touched.set(hash, now);
      store.touchApiKey(hash, new Date(now)).catch((err: unknown) => logger?.warn({ keyId: record.id, err: (err as Error).message }, 'could not record the use of an API key'));
    }
    next();
  };
}

export function principalOf(res: Response): Principal {
  const principal = res.locals['principal'] as Principal | undefined;
  if (!principal) throw new HubError('unauthorized', 'No API key on this request.', { status: 401 });
  return principal;
}

export function tenantOf(res: Response): string {
  const tenantId = res.locals['tenantId'];
  if (typeof tenantId !== 'string') throw new HubError('unauthorized', 'No tenant on this request.', { status: 401 });
  return tenantId;
}
