import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { parse as parseCookies } from 'cookie';
import type { Request } from 'express';
import type { ApiKeyRecord } from '../access/model';
import type { ApiKeys, ConsoleSessions } from '../access/ports';
import type { Clock } from '../core/clock';
import { HubError } from '../core/errors';
import { sha256Hex } from '../core/ids';

/** The console's session cookie: HttpOnly, SameSite=Strict, Secure when the hub is served over https or in production. */
export const SESSION_COOKIE = 'hookhub_session';
/** A write authenticated by the session cookie must repeat the session's CSRF token in this header. */
export const CSRF_HEADER = 'x-csrf-token';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** A new session's token, for the cookie (only its hash is stored). */
export function newSessionToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * The session's CSRF token, derived from its token: the hub gives it again to the page that holds
 * the cookie (GET /v1/sessions/current) without storing it; only its hash is stored.
 */
export function csrfTokenFor(token: string): string {
  return createHash('sha256').update(`hookhub-console-csrf\n${token}`).digest('base64url');
}

/** The session token the request's cookie carries, if any. */
export function sessionTokenOf(req: Request): string | null {
  const header = req.headers.cookie;
  if (!header) return null;
  const value = (parseCookies(header) as Record<string, string | undefined>)[SESSION_COOKIE];
  return value !== undefined && value !== '' ? value : null;
}

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The key behind a console session, re-read on every request (a revoked key ends its sessions at
 * once, and changed scopes apply at once). Writes must carry the session's CSRF token: a page on
 * another site can make the browser send the cookie, but cannot read the token.
 */
export async function keyOfSession(store: ApiKeys & ConsoleSessions, req: Request, token: string, clock: Clock): Promise<ApiKeyRecord> {
  const session = await store.findConsoleSession(sha256Hex(token));
  if (!session || session.expiresAt.getTime() <= clock.now()) {
    throw new HubError('session_expired', 'Your console session has expired or was signed out. Sign in again with an API key.', { status: 401 });
  }
  const key = await store.findApiKey(session.keyHash);
  if (!key || key.revokedAt !== null || key.tenantId !== session.tenantId) {
    throw new HubError('unauthorized', 'The API key this session was opened with was revoked. Sign in again with a valid key.', { status: 401 });
  }
  if (!SAFE_METHODS.has(req.method)) {
    const sent = req.get(CSRF_HEADER) ?? '';
    if (sent === '' || !sameHash(sha256Hex(sent), session.csrfHash)) {
      throw new HubError('csrf_token_invalid', `A change made with the console's session cookie must send the session's CSRF token in the ${CSRF_HEADER} header (GET /v1/sessions/current gives it). Reload the console, or send an API key as "Authorization: Bearer <key>" instead.`, { status: 403 });
    }
  }
  return key;
}
