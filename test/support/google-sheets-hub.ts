import { GoogleSheetsEmulator } from './emulators/google-sheets';
import { freePort } from './local-server';
import { startOAuthServer } from './oauth/oauth-server';
import type { OAuthServer } from './oauth/oauth-server';
import { startTestHub } from './test-hub';
import type { TestHub } from './test-hub';

export const SHEETS_SCOPE = 'https://www.googleapis.com/auth/spreadsheets';

/** A hub whose google-sheets connector links through the local OAuth server and writes to the Sheets emulator. */
export interface SheetsHub {
  oauth: OAuthServer;
  sheets: GoogleSheetsEmulator;
  th: TestHub;
  stop(): Promise<void>;
}

/** Starts the OAuth server (Google's hour-long access tokens, refresh tokens not rotated), the emulator and a hub; `env` adds to the hub's. */
export async function startSheetsHub(env: Record<string, string> = {}): Promise<SheetsHub> {
  const port = await freePort();
  const hubUrl = `http://127.0.0.1:${port}`;
  const oauth = await startOAuthServer({
    clients: [{ client_id: 'gs-app', client_secret: 'gs-secret', redirect_uris: [`${hubUrl}/oauth/callback/google-sheets`], token_endpoint_auth_method: 'client_secret_post', accessTokenTtlSeconds: 3600, rotate_refresh_tokens: false }],
    scopes: ['openid', SHEETS_SCOPE],
  });
  const sheets = await GoogleSheetsEmulator.start(oauth.resourceServer, { acceptClientIds: ['gs-app'], introspectionCacheMs: 0 });
  const th = await startTestHub({
    env: {
      PORT: String(port),
      HOOKHUB_PUBLIC_URL: hubUrl,
      HOOKHUB_GOOGLE_SHEETS_CLIENT_ID: 'gs-app',
      HOOKHUB_GOOGLE_SHEETS_CLIENT_SECRET: 'gs-secret',
      HOOKHUB_GOOGLE_SHEETS_AUTHORIZATION_URL: oauth.authorizationUrl,
      HOOKHUB_GOOGLE_SHEETS_TOKEN_URL: oauth.tokenUrl,
      HOOKHUB_GOOGLE_SHEETS_BASE_URL: `${sheets.url}/v4`,
      ...env,
    },
  });
  return {
    oauth,
    sheets,
    th,
    async stop() {
      await th.destroy();
      await sheets.close();
      await oauth.stop();
    },
  };
}
