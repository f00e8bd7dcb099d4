/** The console's only way to data: the hub's public API (/v1), with the session cookie and its CSRF token. */

export interface Session {
  tenantId: string;
  keyId: string;
  keyName: string;
  scopes: string[];
  csrfToken: string;
  expiresAt: string;
}

export type Json = Record<string, unknown>;

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown,
  ) {
    super(message);
  }
}

let csrfToken = '';
let onSignedOut: () => void = () => undefined;

/** Called when the hub answers 401: the session is gone (expired, signed out, key revoked). */
export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

export async function api<T = Json>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD') headers['x-csrf-token'] = csrfToken;
  const init: RequestInit = { method, headers, credentials: 'same-origin' };
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    parsed = null;
  }
  if (!response.ok) {
    const error = (parsed as { error?: { code?: string; message?: string; details?: unknown } } | null)?.error;
    if (response.status === 401 && !path.startsWith('/v1/sessions')) onSignedOut();
    throw new ApiError(response.status, error?.code ?? 'http_error', error?.message ?? `${method} ${path} answered ${response.status}`, error?.details);
  }
  return parsed as T;
}

/** Whether the hub has this route (an API that is not there yet answers 404 route_not_found). */
export function isMissingRoute(err: unknown): boolean {
  return err instanceof ApiError && err.status === 404 && err.code === 'route_not_found';
}

export async function signIn(apiKey: string): Promise<Session> {
  const session = await api<Session>('POST', '/v1/sessions', { apiKey });
  csrfToken = session.csrfToken;
  return session;
}

export async function currentSession(): Promise<Session | null> {
  try {
    const session = await api<Session>('GET', '/v1/sessions/current');
    csrfToken = session.csrfToken;
    return session;
  } catch {
    return null;
  }
}

export async function signOut(): Promise<void> {
  await api('DELETE', '/v1/sessions/current').catch(() => undefined);
  csrfToken = '';
}

/** Every page of a list, up to `max` items (the console never counts over a whole collection). */
export async function listAll<T>(path: string, max = 500): Promise<{ data: T[]; more: boolean }> {
  const out: T[] = [];
  let cursor: string | null = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page: Page<T> = await api<Page<T>>('GET', `${path}${sep}limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    out.push(...page.data);
    cursor = page.nextCursor;
  } while (cursor !== null && out.length < max);
  return { data: out.slice(0, max), more: cursor !== null };
}

/** What a key's scopes allow (admin allows everything), as src/api/scopes.ts decides it. */
export function can(session: Session, scope: string): boolean {
  return session.scopes.includes('admin') || session.scopes.includes(scope);
}
