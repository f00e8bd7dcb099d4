import type { OAuthServer } from './oauth/oauth-server';
import type { TenantApi } from './test-hub';

/**
 * Links an account the way its owner does in a browser: POST /v1/connections/authorize, open the
 * link Hookhub gave (its cookie), consent at the authorization server, follow the callback.
 * Returns the new connection's id.
 */
export async function linkThroughBrowser(api: TenantApi, oauth: OAuthServer, authorize: Record<string, unknown>): Promise<string> {
  const started = await api('POST', '/v1/connections/authorize', authorize);
  if (started.status !== 201) throw new Error(`authorize answered ${started.status}: ${JSON.stringify(started.body)}`);
  const start = await fetch(String(started.body['authorizationUrl']), { redirect: 'manual' });
  const cookie = (start.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const { redirectedTo } = await oauth.authorize(start.headers.get('location') ?? '');
  const done = await fetch(redirectedTo, { headers: { cookie, accept: 'application/json' }, redirect: 'manual' });
  const body = (await done.json()) as Record<string, unknown>;
  if (body['status'] !== 'linked') throw new Error(`linking did not complete: ${JSON.stringify(body)}`);
  return String(body['connection']);
}
