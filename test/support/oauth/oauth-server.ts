import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { driveAuthorization, type AuthorizeOptions } from './browser';

/**
 * A real OAuth 2 authorization server (oidc-provider, see server.mjs) in a child
 * process on 127.0.0.1: authorization code grant with optional PKCE (S256),
 * refresh tokens for every code grant, rotation, revocation (RFC 7009) and
 * introspection (RFC 7662). Access tokens are opaque.
 */
export interface OAuthClientConfig {
  client_id: string;
  client_secret: string;
  redirect_uris: string[];
  /** Default 'client_secret_basic'. */
  token_endpoint_auth_method?: 'client_secret_basic' | 'client_secret_post';
  /** Scope granted when an authorization request has none (as Pipedrive's do); default 'base'. Always allowed. */
  default_scope?: string;
  /** Added to every successful token response of this client, e.g. `{instance_url}` or `{api_domain}`. */
  extraTokenFields?: Record<string, unknown>;
  /** This client's access token lifetime (HubSpot's are 1800 s); default the server's accessTokenTtlSeconds. */
  accessTokenTtlSeconds?: number;
  /** Leave expires_in out of this client's token responses, as Salesforce does (the lifetime is the org's session timeout). */
  omit_expires_in?: boolean;
  /** Leave refresh_token out of this client's token responses, as Mailchimp does (its tokens do not expire). */
  omit_refresh_token?: boolean;
  /** Overrides the server's rotateRefreshTokens for this client (Salesforce rotates only when the app turns it on); false also leaves refresh_token out of refresh grants' answers, as Salesforce does. */
  rotate_refresh_tokens?: boolean;
}

export interface OAuthServerOptions {
  clients: OAuthClientConfig[];
  /** Default 3600. */
  accessTokenTtlSeconds?: number;
  /** Default 14 days. */
  refreshTokenTtlSeconds?: number;
  /** A refresh grant returns a new refresh token and consumes the old one. Default true. */
  rotateRefreshTokens?: boolean;
  /** Reject code grants without PKCE. Default false: PKCE is optional, but checked when a code_challenge was sent. */
  requirePkce?: boolean;
  /**
   * Scope values the server grants, any strings. Default
   * 'openid offline_access email profile api refresh_token crm.objects.companies.write crm.objects.companies.read
   * crm.objects.contacts.read crm.objects.contacts.write crm.objects.deals.read oauth base leads:full contacts:full'. Requested values outside this list are dropped.
   */
  scopes?: string[] | string;
  /**
   * Where the server's output goes. Default: a new file in the OS temp dir, removed by stop()
   * unless HOOKHUB_KEEP_OAUTH_LOGS is set; a file given here is kept.
   */
  logFile?: string;
}

/** What an API emulator needs to check Bearer tokens through introspection. */
export interface IntrospectionCredentials {
  introspectionUrl: string;
  clientId: string;
  clientSecret: string;
}

export interface IntrospectionResult {
  active: boolean;
  client_id?: string;
  sub?: string;
  scope?: string;
  exp?: number;
  iat?: number;
  token_type?: string;
  [key: string]: unknown;
}

export interface OAuthServer {
  issuer: string;
  authorizationUrl: string;
  tokenUrl: string;
  introspectionUrl: string;
  revocationUrl: string;
  logFile: string;
  /** A confidential client that may introspect and revoke any token: give it to the emulators. */
  resourceServer: IntrospectionCredentials;
  /** Drives the browser side (sign-in as `user`, consent or deny) and returns the final redirect to the client. */
  authorize(url: string, opts?: AuthorizeOptions): Promise<{ redirectedTo: string }>;
  introspect(token: string): Promise<IntrospectionResult>;
  /** Revokes a token as the resource server would for "user disconnected the app"; revoking a refresh token revokes its whole grant. */
  revoke(token: string, tokenTypeHint?: 'access_token' | 'refresh_token'): Promise<void>;
  /** Replaces the extra token response fields of a client (e.g. once the emulator's URL is known). */
  setExtraTokenFields(clientId: string, fields: Record<string, unknown>): Promise<void>;
  /** Makes every token request answer this (an outage: 503; refused app credentials: 401 invalid_client) until set to null. */
  setTokenFault(fault: TokenFault | null): Promise<void>;
  /** Token requests (every grant, faulted or not) since the server started. */
  tokenRequests(): Promise<number>;
  stop(): Promise<void>;
}

export type { AuthorizeOptions } from './browser';

/** What the token endpoint answers instead of a token while a fault is set. */
export interface TokenFault {
  status: number;
  /** JSON object or text; default empty. */
  body?: Record<string, unknown> | string;
  headers?: Record<string, string>;
}

const DEFAULT_SCOPES =
  'openid offline_access email profile api refresh_token crm.objects.companies.write crm.objects.companies.read ' +
  'crm.objects.contacts.read crm.objects.contacts.write crm.objects.deals.read oauth base leads:full contacts:full';

export async function startOAuthServer(options: OAuthServerOptions): Promise<OAuthServer> {
  const resourceServer = { client_id: `resource-server-${crypto.randomUUID()}`, client_secret: crypto.randomBytes(24).toString('hex') };
  const scopes = typeof options.scopes === 'string' ? options.scopes.split(/\s+/) : (options.scopes ?? DEFAULT_SCOPES.split(' '));
  const config = {
    clients: options.clients,
    accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? 3600,
    refreshTokenTtlSeconds: options.refreshTokenTtlSeconds ?? 14 * 24 * 3600,
    rotateRefreshTokens: options.rotateRefreshTokens ?? true,
    requirePkce: options.requirePkce ?? false,
    scopes: scopes.filter((s) => s !== ''),
    resourceServer,
  };
  const logFile = options.logFile ?? path.join(os.tmpdir(), `hookhub-oauth-${process.pid}-${crypto.randomUUID()}.log`);
  const log = fs.openSync(logFile, 'a');
  const child = spawn(process.execPath, [path.join(__dirname, 'server.mjs')], {
    cwd: path.resolve(__dirname, '../../..'),
    env: { ...process.env, HOOKHUB_OAUTH_CONFIG: JSON.stringify(config), DEBUG: '' },
    stdio: ['ignore', 'pipe', log, 'ipc'],
  });
  fs.closeSync(log);

  let issuer: string;
  try {
    issuer = await waitForReady(child, logFile);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const logStream = fs.createWriteStream(logFile, { flags: 'a' });
  child.stdout?.pipe(logStream);

  const basic = `Basic ${Buffer.from(`${encodeURIComponent(resourceServer.client_id)}:${encodeURIComponent(resourceServer.client_secret)}`).toString('base64')}`;
  const postForm = (url: string, form: Record<string, string>): Promise<Response> =>
    fetch(url, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams(form).toString(),
    });

  let ackSeq = 0;
  /** One IPC request to the server process, answered by an ack with the same id. */
  const call = (message: Record<string, unknown>): Promise<unknown> => {
    const id = ++ackSeq;
    return new Promise((resolve, reject) => {
      const onMessage = (msg: unknown): void => {
        const ack = msg as { type?: string; id?: number; value?: unknown };
        if (ack.type === 'ack' && ack.id === id) {
          child.off('message', onMessage);
          resolve(ack.value);
        }
      };
      child.on('message', onMessage);
      child.send({ ...message, id }, (err) => {
        if (err) {
          child.off('message', onMessage);
          reject(err);
        }
      });
    });
  };
  const server: OAuthServer = {
    issuer,
    authorizationUrl: `${issuer}/auth`,
    tokenUrl: `${issuer}/token`,
    introspectionUrl: `${issuer}/token/introspection`,
    revocationUrl: `${issuer}/token/revocation`,
    logFile,
    resourceServer: { introspectionUrl: `${issuer}/token/introspection`, clientId: resourceServer.client_id, clientSecret: resourceServer.client_secret },
    authorize: (url, opts) => driveAuthorization(issuer, url, opts),
    async introspect(token) {
      const res = await postForm(server.introspectionUrl, { token });
      if (res.status !== 200) throw new Error(`introspection answered ${res.status}: ${await res.text()}`);
      return (await res.json()) as IntrospectionResult;
    },
    async revoke(token, tokenTypeHint) {
      const res = await postForm(server.revocationUrl, tokenTypeHint ? { token, token_type_hint: tokenTypeHint } : { token });
      if (res.status !== 200) throw new Error(`revocation answered ${res.status}: ${await res.text()}`);
      await res.body?.cancel();
    },
    async setTokenFault(fault) {
      await call({ type: 'setTokenFault', fault });
    },
    async tokenRequests() {
      return Number(await call({ type: 'tokenRequests' }));
    },
    setExtraTokenFields(clientId, fields) {
      const id = ++ackSeq;
      return new Promise<void>((resolve, reject) => {
        const onMessage = (msg: unknown): void => {
          if ((msg as { type?: string; id?: number }).type === 'ack' && (msg as { id?: number }).id === id) {
            child.off('message', onMessage);
            resolve();
          }
        };
        child.on('message', onMessage);
        child.send({ type: 'setExtraTokenFields', id, clientId, fields }, (err) => {
          if (err) {
            child.off('message', onMessage);
            reject(err);
          }
        });
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }
      await new Promise<void>((resolve) => logStream.end(() => resolve()));
      if (!options.logFile && !process.env['HOOKHUB_KEEP_OAUTH_LOGS']) fs.rmSync(logFile, { force: true });
    },
  };
  return server;
}

function waitForReady(child: ChildProcess, logFile: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => fail(new Error(`OAuth server not ready after 20 s; see ${logFile}`)), 20_000);
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString('utf8');
      const line = buffered.split('\n').find((l) => l.startsWith('READY '));
      if (!line) return;
      cleanup();
      resolve((JSON.parse(line.slice('READY '.length)) as { issuer: string }).issuer);
    };
    const onExit = (code: number | null): void => fail(new Error(`OAuth server exited with ${code} before it was ready; see ${logFile}`));
    const fail = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
    };
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}
