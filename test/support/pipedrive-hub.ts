import { PipedriveEmulator } from './emulators/pipedrive';
import { freePort } from './local-server';
import { startOAuthServer } from './oauth/oauth-server';
import type { OAuthClientConfig, OAuthServer } from './oauth/oauth-server';
import { startTestHub } from './test-hub';
import type { TestHub } from './test-hub';

/** A hub with the Pipedrive connector's OAuth app registered at the local OAuth server, and Pipedrive's emulator behind it. */
export interface PipedriveHub {
  th: TestHub;
  oauth: OAuthServer;
  pipedrive: PipedriveEmulator;
  /** The app as registered in Pipedrive's Developer Hub, with the scopes the README lists. */
  client: OAuthClientConfig;
  stop(): Promise<void>;
}

/**
 * The set-up of every Pipedrive linking test: a free port for the hub (the OAuth callback
 * must be known before the app is registered), the OAuth server with the app, the emulator
 * answering at the `api_domain` the token response names, and the hub pointed at both.
 */
export async function startPipedriveHub(options: { env?: Record<string, string> } = {}): Promise<PipedriveHub> {
  const port = await freePort();
  const hubUrl = `http://127.0.0.1:${port}`;
  const client: OAuthClientConfig = {
    client_id: 'pd-app',
    client_secret: 'pd-secret',
    redirect_uris: [`${hubUrl}/oauth/callback/pipedrive`],
    token_endpoint_auth_method: 'client_secret_basic',
    default_scope: 'base contacts:full leads:full',
  };
  const oauth = await startOAuthServer({ clients: [client] });
  const pipedrive = await PipedriveEmulator.start(oauth.resourceServer, { acceptClientIds: ['pd-app'], introspectionCacheMs: 0 });
  await oauth.setExtraTokenFields('pd-app', { api_domain: pipedrive.url });
  const th = await startTestHub({
    env: {
      PORT: String(port),
      HOOKHUB_PUBLIC_URL: hubUrl,
      HOOKHUB_PIPEDRIVE_CLIENT_ID: 'pd-app',
      HOOKHUB_PIPEDRIVE_CLIENT_SECRET: 'pd-secret',
      HOOKHUB_PIPEDRIVE_AUTHORIZATION_URL: oauth.authorizationUrl,
      HOOKHUB_PIPEDRIVE_TOKEN_URL: oauth.tokenUrl,
      ...options.env,
    },
  });
  return {
    th,
    oauth,
    pipedrive,
    client,
    stop: async () => {
      await th.destroy();
      await pipedrive.close();
      await oauth.stop();
    },
  };
}
