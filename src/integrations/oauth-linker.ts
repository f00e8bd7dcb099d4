// Over 300 lines: the whole OAuth linking flow (authorize, start, callback and the link steps) with its passport glue, in one place.
import { systemClock } from '../core/clock';
import type { Clock } from '../core/clock';
import { randomBytes } from 'node:crypto';
import { Strategy as OAuth2Strategy } from 'passport-oauth2';
import type { HubConfig } from '../config/config';
import { HubError, ValidationError } from '../core/errors';
import { sha256Hex } from '../core/ids';
import type { SecretBox } from '../core/secret-box';
import type { ConnectionService } from './connection-service';
import { LinkStepError } from '../connectors/link-steps';
import type { LoadedConnector } from '../connectors/loader';
import type { OAuth2Spec } from '../connectors/manifest';
import type { ConnectorRegistry } from '../connectors/registry';
import type { ConnectionRecord, OAuthStateRecord } from './model';
import type { OAuthStates, TenantSettingsStore } from './ports';
import { RedirectPolicy } from './redirect-policy';
import { oauthApp } from './oauth-apps';
import type { OAuthApp, OAuthAppSettings } from './oauth-apps';
import { authorizeInput } from './connection-input';
import { providerAccountOf } from './provider-account';
import type { ProviderAccount } from './provider-account';
import { TokenError, tokenRequest } from './token-client';
import type { TokenResponse } from './token-client';

/** How long an authorization may take from start to callback. */
export const STATE_TTL_MS = 10 * 60_000;
export const STATE_COOKIE_PREFIX = 'hh_oauth_';
export { MAX_REDIRECT_AFTER } from './redirect-policy';

export interface OAuthLinkerOptions {
  /** The flows' states, and the tenants' settings (their own allowed redirect origins). */
  store: OAuthStates & Pick<TenantSettingsStore, 'getTenantSettings'>;
  secretBox: SecretBox;
  registry: ConnectorRegistry;
  connections: Pick<ConnectionService, 'checkPlan' | 'get' | 'pinned' | 'settings' | 'linkSteps' | 'assertValidConfig' | 'createOAuth' | 'relinkOAuth'>;
  config: Pick<HubConfig, 'publicUrl' | 'production'> & { oauth?: Pick<HubConfig['oauth'], 'redirectOrigins'> } & OAuthAppSettings;
  /** Called after an account was linked again: parked deliveries resume. */
  onRelinked(connection: ConnectionRecord): Promise<void>;
  /** Decides when a linking state has expired. */
  clock?: Clock;
}

/** A link (or relink) completed: what the browser is shown and the audit trail records. */
export interface LinkCompleted {
  connection: ConnectionRecord;
  redirectAfter: string | null;
  relinked: boolean;
  account: ProviderAccount | null;
  startedBy: { keyId: string; keyName: string } | null;
}

/** What a browser request to the callback carries; a subset of express's Request. */
export interface CallbackRequest {
  query: Record<string, unknown>;
  cookies: Record<string, string>;
}

interface Sealed {
  config: Record<string, unknown>;
  verifier: string | null;
  description: string | null;
}

/** A refusal shown to the person linking the account, with the reason. */
export class OAuthFlowError extends HubError {
  constructor(code: string, message: string, status = 400) {
    super(code, message, { status });
    this.name = 'OAuthFlowError';
  }
}

/**
 * Account linking over OAuth 2 (authorization code, PKCE where the manifest
 * asks), with passport-oauth2 strategies built from each manifest's auth block.
 * The state is single use, short-lived, bound to the tenant that asked and to
 * the browser that opened the link; tokens are stored sealed.
 */
export class OAuthLinker {
  private readonly clock: Clock;
  private readonly redirects: RedirectPolicy;

  constructor(private readonly options: OAuthLinkerOptions) {
    this.clock = options.clock ?? systemClock;
    this.redirects = new RedirectPolicy({
      production: options.config.production,
      hubOrigins: options.config.oauth?.redirectOrigins ?? [],
      tenantOrigins: async (tenantId) => (await options.store.getTenantSettings(tenantId))?.redirectOrigins ?? [],
    });
  }

  callbackUrl(connector: string): string {
    return `${this.options.config.publicUrl}/oauth/callback/${connector}`;
  }

  async authorize(tenantId: string, body: Record<string, unknown>, startedBy: OAuthStateRecord['startedBy'] = null): Promise<{ authorizationUrl: string; state: string; expiresAt: string }> {
    const input = authorizeInput(body, this.redirects.message());
    const connector = this.options.registry.latest(input.connector);
    if (!connector) throw new ValidationError('connector must name an installed connector; see GET /v1/connectors.', [{ path: '/connector', message: 'unknown connector' }]);
    const spec = oauthSpec(connector);
    const app = this.app(connector, spec);
    let relink: ConnectionRecord | null = null;
    let pinned = connector;
    if (input.connectionId !== undefined) {
      relink = await this.options.connections.get(tenantId, input.connectionId);
      if (relink.connector !== connector.manifest.name) {
        throw new ValidationError(`Connection ${relink.id} links ${relink.connector}, not ${connector.manifest.name}.`, [{ path: '/connectionId', message: 'another connector' }]);
      }
      pinned = this.options.connections.pinned(relink) ?? connector;
    }
    // A new link counts against the plan; linking an existing connection again does not.
    if (!relink) await this.options.connections.checkPlan(tenantId, connector.manifest.name);
    const config = input.config ?? (relink ? undefined : {});
    if (config !== undefined) this.options.connections.assertValidConfig(pinned, config);
    const redirectAfter = await this.redirects.check(tenantId, input.redirectAfter);
    const handle = randomBytes(24).toString('base64url');
    const info: { handle: string; verifier: string | null } = { handle, verifier: null };
    const providerUrl = await new Promise<string>((resolve, reject) => {
      const flow = Object.create(this.strategy(connector, spec, app, info)) as OAuth2Strategy & PassportActions;
      flow.redirect = (url: string) => resolve(url);
      flow.error = (err: Error) => reject(err);
      flow.fail = () => reject(new Error('the OAuth flow could not start'));
      flow.authenticate({ query: {}, body: {}, headers: {} } as never, { state: { handle } } as never);
    });
    const now = new Date(this.clock.now());
    const record: OAuthStateRecord = {
      id: handle,
      tenantId,
      connector: connector.manifest.name,
      connectionId: relink?.id ?? null,
      sealed: this.options.secretBox.seal(JSON.stringify({ config: config ?? {}, verifier: info.verifier, description: input.description ?? null } satisfies Sealed)),
      browserNonceHash: '',
      authorizationUrl: providerUrl,
      redirectAfter,
      startedBy,
      createdAt: now,
      expiresAt: new Date(now.getTime() + STATE_TTL_MS),
    };
    await this.options.store.insertOAuthState(record);
    return { authorizationUrl: `${this.options.config.publicUrl}/oauth/start/${handle}`, state: handle, expiresAt: record.expiresAt.toISOString() };
  }

  /** The browser opens the link: bind the flow to it with a cookie, then go to the provider. */
  async start(handle: string): Promise<{ location: string; cookieName: string; cookieValue: string; maxAgeMs: number }> {
    const state = await this.options.store.getOAuthState(handle);
    if (!state || state.expiresAt.getTime() < this.clock.now()) throw new OAuthFlowError('oauth_state_invalid', 'This link has expired or was already used; start linking the account again.', 410);
    const nonce = randomBytes(24).toString('base64url');
    if (!(await this.options.store.claimOAuthState(handle, sha256Hex(nonce)))) {
      throw new OAuthFlowError('oauth_state_claimed', 'This link was already opened in another browser; start linking the account again.', 409);
    }
    return { location: state.authorizationUrl, cookieName: `${STATE_COOKIE_PREFIX}${handle.slice(0, 16)}`, cookieValue: nonce, maxAgeMs: state.expiresAt.getTime() - this.clock.now() };
  }

  /** Whether a link still works, without using it up: a HEAD (a link scanner, a preview) must not claim it. */
  async usable(handle: string): Promise<boolean> {
    const state = await this.options.store.getOAuthState(handle);
    return state !== null && state.browserNonceHash === '' && state.expiresAt.getTime() >= this.clock.now();
  }

  /** The provider sends the browser back: check the state, exchange the code, store the connection. */
  async callback(connectorName: string, req: CallbackRequest): Promise<LinkCompleted> {
    const stateParam = typeof req.query['state'] === 'string' ? req.query['state'] : '';
    const state = stateParam ? await this.options.store.getOAuthState(stateParam) : null;
    if (!state) throw new OAuthFlowError('oauth_state_invalid', 'Unknown or already used authorization state; start linking the account again.', 403);
    if (state.connector !== connectorName) throw new OAuthFlowError('oauth_state_invalid', 'This authorization was started for another connector.', 403);
    const nonce = req.cookies[`${STATE_COOKIE_PREFIX}${state.id.slice(0, 16)}`];
    if (!nonce || state.browserNonceHash === '' || sha256Hex(nonce) !== state.browserNonceHash) {
      throw new OAuthFlowError('oauth_state_invalid', 'This authorization was started in another browser or by another tenant; start linking the account again from your own session.', 403);
    }
    if (state.expiresAt.getTime() < this.clock.now()) throw new OAuthFlowError('oauth_state_expired', 'The authorization took too long and expired; start linking the account again.', 403);
    // No code (a refusal, or a stray visit): nothing to exchange, and the state is kept so that the same browser may still finish.
    if (typeof req.query['code'] !== 'string' || req.query['code'] === '') {
      if (typeof req.query['error'] === 'string') {
        const description = typeof req.query['error_description'] === 'string' ? `: ${req.query['error_description']}` : '';
        throw new OAuthFlowError('oauth_provider_error', `The provider refused the authorization (${req.query['error']}${description}); nothing was linked. Approve the access at the provider, or start linking again.`, 400);
      }
      throw new OAuthFlowError('oauth_code_missing', 'The provider sent the browser back without an authorization code; nothing was linked. Start linking the account again.', 400);
    }
    if (!(await this.options.store.consumeOAuthState(state.id))) throw new OAuthFlowError('oauth_state_invalid', 'This authorization state was already used; start linking the account again.', 403);
    const connector = this.options.registry.latest(connectorName);
    if (!connector) throw new OAuthFlowError('connector_not_found', `Connector ${connectorName} is not installed.`, 404);
    const spec = oauthSpec(connector);
    const app = this.app(connector, spec);
    const sealed = JSON.parse(this.options.secretBox.open(state.sealed)) as Sealed;
    const token = await new Promise<TokenResponse>((resolve, reject) => {
      const flow = Object.create(this.strategy(connector, spec, app, { handle: state.id, verifier: sealed.verifier })) as OAuth2Strategy & PassportActions;
      flow.success = (user: unknown) => resolve(user as TokenResponse);
      flow.fail = (info: unknown) => reject(new OAuthFlowError('oauth_failed', `Linking failed: ${(info as { message?: string } | undefined)?.message ?? 'the provider did not authorize'}.`));
      flow.error = (err: Error) => reject(err);
      flow.authenticate({ query: req.query, body: {}, headers: {} } as never, {} as never);
    }).catch((err: unknown) => {
      if (err instanceof HubError) throw err;
      const cause = (err as { oauthError?: unknown }).oauthError ?? err;
      throw new OAuthFlowError('oauth_token_exchange_failed', `The provider did not issue a token: ${(cause as Error).message}.`, 502);
    });
    const linked = await this.linkSteps(state, connector, sealed.config, token, app);
    // Which account was linked, shown on the connection and audited: a tenant can spot a foreign account.
    const account = providerAccountOf(token);
    const metadata = { ...keptValues(spec, token), ...linked.kept, ...(account ? { provider_account: account } : {}) };
    const connection = state.connectionId
      ? await this.options.connections.relinkOAuth(state.tenantId, state.connectionId, linked.token, metadata, sealed.config)
      : await this.options.connections.createOAuth(state.tenantId, connector, sealed.config, linked.token, metadata, sealed.description);
    if (state.connectionId) await this.options.onRelinked(connection);
    // The provider's own "who am I" answer (the manifest's `account`), when the service read one, names the account better.
    const named = (connection.metadata['provider_account'] as ProviderAccount | undefined) ?? account;
    return { connection, redirectAfter: state.redirectAfter, relinked: state.connectionId !== null, account: named, startedBy: state.startedBy ?? null };
  }

  /**
   * The connector's link_steps on the fresh token (a long-lived token, a page's token), with the settings the
   * link will have (a relink's merged with the new ones); a step that fails stops the linking with its reason.
   */
  private async linkSteps(state: OAuthStateRecord, connector: LoadedConnector, config: Record<string, unknown>, token: TokenResponse, app: OAuthApp): Promise<{ token: TokenResponse; kept: Record<string, unknown> }> {
    let target = connector;
    let settings = config;
    if (state.connectionId) {
      const current = await this.options.connections.get(state.tenantId, state.connectionId);
      target = this.options.connections.pinned(current) ?? connector;
      settings = { ...this.options.connections.settings(current), ...config };
    }
    if (target.linkSteps.length === 0) return { token, kept: {} };
    try {
      const linked = await this.options.connections.linkSteps(target, settings, token, { client_id: app.clientId, client_secret: app.clientSecret });
      return { token: linked.token as TokenResponse, kept: linked.kept };
    } catch (err) {
      if (!(err instanceof LinkStepError)) throw err;
      const title = target.manifest.title;
      if (err.refused) throw new OAuthFlowError('oauth_link_refused', `${title} was not linked: ${err.message}`, 409);
      throw new OAuthFlowError('oauth_link_step_failed', `${title} was not linked: its ${err.step} request after the authorization failed (${err.message}); start linking the account again.`, 502);
    }
  }

  app(connector: LoadedConnector, spec: OAuth2Spec): OAuthApp {
    const found = oauthApp(connector.manifest.name, spec, this.options.config);
    if (!found.ok) {
      throw new HubError('oauth_app_not_configured', `${connector.manifest.title} is not set up on this hub: the operator must register a Hookhub OAuth app and set ${found.missing.join(' and ')}.`, { status: 409 });
    }
    return found.app;
  }

  private strategy(connector: LoadedConnector, spec: OAuth2Spec, app: OAuthApp, info: { handle: string; verifier: string | null }): OAuth2Strategy {
    const strategy = new OAuth2Strategy(
      {
        authorizationURL: app.authorizationUrl,
        tokenURL: app.tokenUrl,
        clientID: app.clientId,
        clientSecret: app.clientSecret,
        callbackURL: this.callbackUrl(connector.manifest.name),
        scope: spec.scopes ?? [],
        scopeSeparator: spec.scope_separator ?? ' ',
        pkce: spec.pkce ?? false,
        state: true,
        store: new SingleFlowStore(info) as never,
      } as never,
      // Five parameters: passport-oauth2 then passes the whole token response (params).
      ((_access: string, _refresh: string, params: TokenResponse, _profile: unknown, done: (err: Error | null, user?: unknown) => void) => done(null, params)) as never,
    );
    strategy.authorizationParams = () => ({ ...(spec.authorize_params ?? {}) });
    // The `oauth` library behind passport-oauth2 always puts the client secret in the body, which
    // servers that require client_secret_basic refuse: token requests go through our client.
    const oauth2 = (strategy as unknown as { _oauth2: { getOAuthAccessToken: unknown } })._oauth2;
    oauth2.getOAuthAccessToken = (code: string, params: Record<string, string>, callback: (err: unknown, access?: string, refresh?: string, result?: TokenResponse) => void) => {
      tokenRequest(app, spec, { ...params, code }).then(
        (token) => callback(null, token.access_token, token.refresh_token, token),
        (err: unknown) => callback(err instanceof TokenError ? { statusCode: 400, data: JSON.stringify({ error: err.code, error_description: err.message }), oauthError: err } : err),
      );
    };
    return strategy;
  }
}

interface PassportActions {
  redirect(url: string): void;
  success(user: unknown): void;
  fail(info?: unknown): void;
  error(err: Error): void;
}

/**
 * passport-oauth2's state store for one flow: Hookhub keeps the state itself
 * (in the store, single use), so this only hands passport the handle and, with
 * PKCE, the verifier it made (store) or the one kept for the callback (verify).
 */
class SingleFlowStore {
  constructor(private readonly info: { handle: string; verifier: string | null }) {}

  store(_req: unknown, verifier: string | undefined, _state: unknown, _meta: unknown, callback: (err: Error | null, handle?: string) => void): void {
    this.info.verifier = verifier ?? null;
    callback(null, this.info.handle);
  }

  verify(_req: unknown, provided: string, callback: (err: Error | null, ok: string | boolean, info?: unknown) => void): void {
    if (provided !== this.info.handle) return callback(null, false, { message: 'state mismatch' });
    callback(null, this.info.verifier ?? true);
  }
}

function oauthSpec(connector: LoadedConnector): OAuth2Spec {
  const auth = connector.manifest.auth;
  if (auth.type !== 'oauth2') {
    throw new ValidationError(`${connector.manifest.title} does not link through OAuth; create the connection with POST /v1/connections.`, [{ path: '/connector', message: 'not an OAuth connector' }]);
  }
  return auth;
}

function keptValues(spec: OAuth2Spec, token: TokenResponse): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const name of spec.keep ?? []) if (token[name] !== undefined) kept[name] = token[name];
  return kept;
}
