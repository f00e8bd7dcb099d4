import crypto from 'node:crypto';

import type { OAuthClientConfig, OAuthServer } from './oauth-server';

/**
 * The client side of OAuth 2 by hand, for tests that check the authorization
 * server itself (Hookhub's own client is what the other tests exercise).
 */
export interface Pkce {
  verifier: string;
  challenge: string;
  method: 'S256';
}

/** A fresh RFC 7636 code verifier and its S256 challenge. */
export function createPkce(): Pkce {
  const verifier = crypto.randomBytes(32).toString('base64url');
  return { verifier, challenge: crypto.createHash('sha256').update(verifier).digest('base64url'), method: 'S256' };
}

export interface AuthorizationParams {
  client_id: string;
  redirect_uri: string;
  scope?: string;
  state?: string;
  pkce?: Pkce;
}

export function authorizationUrl(server: Pick<OAuthServer, 'authorizationUrl'>, params: AuthorizationParams): string {
  const url = new URL(server.authorizationUrl);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', params.client_id);
  url.searchParams.set('redirect_uri', params.redirect_uri);
  if (params.scope !== undefined) url.searchParams.set('scope', params.scope);
  if (params.state !== undefined) url.searchParams.set('state', params.state);
  if (params.pkce) {
    url.searchParams.set('code_challenge', params.pkce.challenge);
    url.searchParams.set('code_challenge_method', params.pkce.method);
  }
  return url.href;
}

export interface TokenResponse {
  status: number;
  /** The parsed JSON: access_token, refresh_token, expires_in, ... or error, error_description. */
  body: Record<string, unknown>;
}

/** POSTs to the token endpoint, authenticating as `client` with its token_endpoint_auth_method. */
export async function tokenRequest(
  server: Pick<OAuthServer, 'tokenUrl'>,
  client: Pick<OAuthClientConfig, 'client_id' | 'client_secret' | 'token_endpoint_auth_method'>,
  params: Record<string, string>,
): Promise<TokenResponse> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  const form = new URLSearchParams(params);
  if (client.token_endpoint_auth_method === 'client_secret_post') {
    form.set('client_id', client.client_id);
    form.set('client_secret', client.client_secret);
  } else {
    const credentials = `${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`;
    headers['authorization'] = `Basic ${Buffer.from(credentials).toString('base64')}`;
  }
  const res = await fetch(server.tokenUrl, { method: 'POST', headers, body: form.toString() });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/**
 * The whole authorization code flow with PKCE for `client` (sign-in as `user`):
 * authorize, then exchange the code. Throws unless the token endpoint answered 200.
 */
export async function linkAccount(
  server: OAuthServer,
  client: OAuthClientConfig,
  options: { scope?: string; user?: string } = {},
): Promise<Record<string, unknown> & { access_token: string; refresh_token: string }> {
  const pkce = createPkce();
  const redirectUri = client.redirect_uris[0] ?? '';
  const url = authorizationUrl(server, { client_id: client.client_id, redirect_uri: redirectUri, state: 'link', pkce, ...(options.scope ? { scope: options.scope } : {}) });
  const { redirectedTo } = await server.authorize(url, options.user ? { user: options.user } : {});
  const code = new URL(redirectedTo).searchParams.get('code');
  if (!code) throw new Error(`no code in ${redirectedTo}`);
  const res = await tokenRequest(server, client, { grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: pkce.verifier });
  if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body as Record<string, unknown> & { access_token: string; refresh_token: string };
}
