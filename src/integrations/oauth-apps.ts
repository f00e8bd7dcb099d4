import type { HubConfig } from '../config/config';
import type { OAuth2Spec } from '../connectors/manifest';

/** The settings OAuth apps are read from: the variables the config kept. */
export type OAuthAppSettings = Pick<HubConfig, 'connectorEnv' | 'connectorVariable'>;

/** A Hookhub OAuth app registered with a provider: its client and the endpoints in use. */
export interface OAuthApp {
  clientId: string;
  clientSecret: string;
  authorizationUrl: string;
  tokenUrl: string;
}

/** HOOKHUB_SALESFORCE_CLIENT_ID style names: the connector name upper-cased, '-' as '_'. */
export function connectorEnvName(connector: string, setting: string): string {
  return `HOOKHUB_${connector.toUpperCase().replace(/-/g, '_')}_${setting}`;
}

export type OAuthAppLookup = { ok: true; app: OAuthApp } | { ok: false; missing: string[] };

/**
 * The OAuth app of a connector from the environment: client id and secret
 * (names from the manifest's client_id_env / client_secret_env, or the
 * defaults), and optional overrides of the provider's endpoints (a Salesforce
 * sandbox, a proxy, a test server).
 */
export function oauthApp(connector: string, spec: OAuth2Spec, settings: OAuthAppSettings): OAuthAppLookup {
  const env = settings.connectorEnv;
  const idVar = spec.client_id_env ?? connectorEnvName(connector, 'CLIENT_ID');
  const secretVar = spec.client_secret_env ?? connectorEnvName(connector, 'CLIENT_SECRET');
  const clientId = env[idVar] ?? settings.connectorVariable(idVar);
  const clientSecret = env[secretVar] ?? settings.connectorVariable(secretVar);
  const missing = [clientId ? null : idVar, clientSecret ? null : secretVar].filter((v): v is string => v !== null);
  if (!clientId || !clientSecret) return { ok: false, missing };
  return {
    ok: true,
    app: {
      clientId,
      clientSecret,
      authorizationUrl: env[connectorEnvName(connector, 'AUTHORIZATION_URL')] ?? spec.authorization_url,
      tokenUrl: env[connectorEnvName(connector, 'TOKEN_URL')] ?? spec.token_url,
    },
  };
}

/** An override of a connector's base_url (HOOKHUB_<NAME>_BASE_URL), e.g. to reach a sandbox. */
export function baseUrlOverride(connector: string, env: Readonly<Record<string, string>>): string | null {
  return env[connectorEnvName(connector, 'BASE_URL')] ?? null;
}

/** An override of the URL of a connector's account request (HOOKHUB_<NAME>_ACCOUNT_URL), e.g. to reach a test server. */
export function accountUrlOverride(connector: string, env: Readonly<Record<string, string>>): string | null {
  return env[connectorEnvName(connector, 'ACCOUNT_URL')] ?? null;
}
