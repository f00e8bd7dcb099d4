import type { TokenResponse } from './token-client';

/** Which account at the provider a link went to, so a tenant can spot a foreign one. */
export interface ProviderAccount {
  /** The provider's id of the user or organization (Salesforce: org/user), when the token response names it. */
  id: string | null;
  /** A name for people: the user's name or email, or the organization's domain. */
  name: string | null;
}

/**
 * The provider account named by a token response: an OpenID Connect id_token's claims (read
 * without checking the signature, which OIDC Core §3.1.3.7 allows for a token straight from the
 * token endpoint over TLS), Salesforce's identity URL (`id`: .../id/<org>/<user>), HubSpot's
 * hub_id / hub_domain / user, and else the host of the account's own API (api_domain, instance_url).
 * Null when the answer names nothing.
 */
export function providerAccountOf(token: TokenResponse): ProviderAccount | null {
  const claims = idTokenClaims(token['id_token']);
  const identity = typeof token['id'] === 'string' ? /\/id\/([^/]+)\/([^/?#]+)/.exec(token['id']) : null;
  const id = text(claims?.['sub']) ?? (identity ? `${identity[1]}/${identity[2]}` : null) ?? text(token['hub_id']) ?? text(token['user_id']) ?? text(token['company_id']);
  const name = text(claims?.['name']) ?? text(claims?.['email']) ?? text(token['user']) ?? text(token['hub_domain']) ?? host(token['api_domain']) ?? host(token['instance_url']);
  return id === null && name === null ? null : { id, name };
}

function idTokenClaims(value: unknown): Record<string, unknown> | null {
  if (typeof value !== 'string') return null;
  const payload = value.split('.')[1];
  if (!payload) return null;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown;
    return claims !== null && typeof claims === 'object' ? (claims as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function text(value: unknown): string | null {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return typeof value === 'string' && value !== '' ? value.slice(0, 200) : null;
}

function host(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  try {
    return new URL(value).host || null;
  } catch {
    return null;
  }
}
