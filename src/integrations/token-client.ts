import { request } from 'undici';
import type { OAuth2Spec } from '../connectors/manifest';
import type { OAuthApp } from './oauth-apps';

/** A token endpoint's answer (RFC 6749 §5.1), with whatever extra fields the provider adds. */
export interface TokenResponse {
  access_token: string;
  token_type?: string;
  expires_in?: number;
  refresh_token?: string;
  scope?: string;
  [extra: string]: unknown;
}

/** The provider refused (RFC 6749 §5.2) or could not be reached. */
export class TokenError extends Error {
  constructor(
    /** The OAuth error code (invalid_grant, ...) or `http_<status>` / `unreachable`. */
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'TokenError';
  }

  /** The user's grant is gone for good (revoked or expired): only a new link helps. */
  get permanent(): boolean {
    return this.code === 'invalid_grant';
  }

  /**
   * The provider refused the hub's own app credentials (RFC 6749 §5.2: wrong or rotated secret,
   * app removed or not allowed the grant): the operator's to fix, not the user's; links stay as they are.
   */
  get appCredentials(): boolean {
    return this.code === 'invalid_client' || this.code === 'unauthorized_client';
  }
}

/**
 * Token requests (code exchange, refresh). The client authenticates the way the
 * manifest says: HTTP Basic (RFC 6749 §2.3.1, the default) or in the body.
 */
export async function tokenRequest(app: OAuthApp, spec: OAuth2Spec, params: Record<string, string>, timeoutMs = 15_000): Promise<TokenResponse> {
  const body = new URLSearchParams({ ...(spec.token_params ?? {}), ...params });
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  if ((spec.client_auth ?? 'client_secret_basic') === 'client_secret_basic') {
    headers['authorization'] = `Basic ${Buffer.from(`${encodeURIComponent(app.clientId)}:${encodeURIComponent(app.clientSecret)}`).toString('base64')}`;
  } else {
    body.set('client_id', app.clientId);
    body.set('client_secret', app.clientSecret);
  }
  let status: number;
  let text: string;
  try {
    const response = await request(app.tokenUrl, { method: 'POST', headers, body: body.toString(), headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    status = response.statusCode;
    text = await response.body.text();
  } catch (err) {
    throw new TokenError('unreachable', `the token endpoint ${new URL(app.tokenUrl).origin} could not be reached: ${(err as Error).message}`);
  }
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    /* not JSON: reported below */
  }
  if (status >= 200 && status < 300 && typeof json['access_token'] === 'string') return json as TokenResponse;
  const code = typeof json['error'] === 'string' ? json['error'] : `http_${status}`;
  const description = typeof json['error_description'] === 'string' ? json['error_description'] : text.slice(0, 200);
  throw new TokenError(code, `${code}${description ? `: ${description}` : ''}`);
}

/** The credentials a connection keeps for an OAuth token response; a provider that does not rotate keeps the old refresh token. */
export function credentialsFrom(token: TokenResponse, previous: Record<string, unknown> = {}, now = Date.now()): Record<string, unknown> {
  const expiresIn = Number(token.expires_in);
  return {
    access_token: token.access_token,
    refresh_token: token.refresh_token ?? previous['refresh_token'] ?? null,
    token_type: token.token_type ?? 'Bearer',
    scope: token.scope ?? previous['scope'] ?? null,
    expires_at: Number.isFinite(expiresIn) && expiresIn > 0 ? new Date(now + expiresIn * 1000).toISOString() : null,
  };
}
