import type { RequestHandler, Response } from 'express';
import { HubError } from '../core/errors';
import { sha256Hex } from '../core/ids';
import type { Store } from '../store/port';

/** Resolves `Authorization: Bearer <api key>` to the key's tenant. */
export function requireApiKey(store: Store): RequestHandler {
  return async (req, res, next) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match?.[1]) {
      throw new HubError('unauthorized', 'Send your API key as "Authorization: Bearer <key>".', { status: 401 });
    }
    const record = await store.findApiKey(sha256Hex(match[1]));
    if (!record) throw new HubError('unauthorized', 'The API key is not valid. Check it, or ask an operator for a new one.', { status: 401 });
    res.locals['tenantId'] = record.tenantId;
    next();
  };
}

export function tenantOf(res: Response): string {
  const tenantId = res.locals['tenantId'];
  if (typeof tenantId !== 'string') throw new HubError('unauthorized', 'No tenant on this request.', { status: 401 });
  return tenantId;
}
