import { parse as parseCookies } from 'cookie';
import { Router } from 'express';
import type { Response } from 'express';
import { HubError } from '../../core/errors';
import { newId } from '../../core/ids';
import type { LinkCompleted } from '../../integrations/oauth-linker';
import { principalOf, tenantOf } from '../auth';
import type { ApiDeps } from '../deps';
import { errorBody } from '../errors';
import { bodyObject } from '../params';
import { route } from '../scopes';

/** Account linking over OAuth: the authenticated start, and the browser's side of the flow. */
export function oauthApiRoutes(deps: ApiDeps): Router {
  const router = Router();
  route(router, 'POST', '/v1/connections/authorize', { scope: 'connections:write', audit: 'connection.authorize' }, async (req, res) => {
    const { keyId, keyName } = principalOf(res);
    res.status(201).json(await deps.oauth.authorize(tenantOf(res), bodyObject(req.body), { keyId, keyName }));
  });
  return router;
}

export function oauthBrowserRoutes(deps: ApiDeps): Router {
  const router = Router();
  const secure = deps.config.publicUrl.startsWith('https:');
  // The linking pages carry a person's authorization: never framed, cached, sniffed, or leaked in a Referer.
  router.use('/oauth', (_req, res, next) => {
    res.set({
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
    });
    next();
  });

  // Express would answer HEAD with the GET handler, claiming the link for a scanner: only a GET claims it.
  router.head('/oauth/start/:handle', async (req, res) => {
    res.status((await deps.oauth.usable(req.params['handle'] as string)) ? 200 : 410).end();
  });

  router.get('/oauth/start/:handle', async (req, res) => {
    try {
      const start = await deps.oauth.start(req.params['handle'] as string);
      res.cookie(start.cookieName, start.cookieValue, { httpOnly: true, secure, sameSite: 'lax', path: '/oauth/callback', maxAge: start.maxAgeMs });
      res.redirect(302, start.location);
    } catch (err) {
      refuse(res, err, req.accepts(['html', 'json']) === 'html');
    }
  });

  router.get('/oauth/callback/:connector', async (req, res) => {
    const html = req.accepts(['html', 'json']) === 'html';
    try {
      const cookies = parseCookies(req.headers.cookie ?? '') as Record<string, string>;
      const linked = await deps.oauth.callback(req.params['connector'] as string, { query: req.query as Record<string, unknown>, cookies });
      const { connection, redirectAfter } = linked;
      await audit(deps, linked, req.ip ?? null, req.get('user-agent') ?? null);
      if (redirectAfter) {
        const target = new URL(redirectAfter);
        target.searchParams.set('connection', connection.id);
        target.searchParams.set('status', 'linked');
        res.redirect(302, target.toString());
        return;
      }
      if (html) res.type('html').send(page('Account linked', `Your ${escape(connection.connector)} account is linked (connection ${escape(connection.id)}). You can close this window.`));
      else res.json({ connection: connection.id, connector: connection.connector, status: 'linked' });
    } catch (err) {
      refuse(res, err, html);
    }
  });
  return router;
}

/**
 * A completed link or relink in the tenant's audit trail, under the key that started it, with the
 * provider account it went to: the browser's callback carries no key of its own. A failed write is
 * logged; the account is linked either way.
 */
async function audit(deps: ApiDeps, linked: LinkCompleted, ip: string | null, userAgent: string | null): Promise<void> {
  const { connection, account, startedBy } = linked;
  const details: Record<string, string> = {};
  if (account?.id) details['providerAccountId'] = account.id;
  if (account?.name) details['providerAccountName'] = account.name;
  try {
    await deps.store.recordAuditEntries([
      {
        id: newId('aud'),
        tenantId: connection.tenantId,
        action: linked.relinked ? 'connection.relink' : 'connection.link',
        resourceType: 'connection',
        resourceId: connection.id,
        fields: [],
        apiKeyId: startedBy?.keyId ?? '',
        apiKeyName: startedBy?.keyName ?? '',
        ip,
        userAgent: userAgent?.slice(0, 512) ?? null,
        status: 200,
        at: new Date(),
        details,
      },
    ]);
  } catch (err) {
    deps.logger.warn({ err: (err as Error).message, connectionId: connection.id }, 'could not write the audit entry of a linked account');
  }
}

function refuse(res: Response, err: unknown, html: boolean): void {
  if (!(err instanceof HubError)) throw err;
  res.status(err.status);
  if (html) res.type('html').send(page('Linking failed', escape(err.message)));
  else res.json(errorBody(err.code, err.message, err.details));
}

function page(title: string, message: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title} · Hookhub</title></head><body><h1>${title}</h1><p>${message}</p></body></html>`;
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
