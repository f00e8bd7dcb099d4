// A real OAuth 2 authorization server for tests, built on oidc-provider (ESM-only,
// hence this .mjs file, run in a child process by oauth-server.ts).
//
// Input: the JSON configuration in the HOOKHUB_OAUTH_CONFIG environment variable.
// Output: one line `READY {"issuer": ...}` on stdout once it listens on 127.0.0.1.
// IPC messages from the parent: {type: 'setExtraTokenFields', clientId, fields}
// (answered with {type: 'ack', id}). The process exits when the parent goes away.
import crypto from 'node:crypto';
import http from 'node:http';

import Provider from 'oidc-provider';

const config = JSON.parse(process.env.HOOKHUB_OAUTH_CONFIG ?? '{}');
const accessTokenTtl = config.accessTokenTtlSeconds ?? 3600;
const clientTtls = new Map((config.clients ?? []).filter((c) => c.accessTokenTtlSeconds).map((c) => [c.client_id, c.accessTokenTtlSeconds]));
const refreshTokenTtl = config.refreshTokenTtlSeconds ?? 14 * 24 * 3600;
const rotate = config.rotateRefreshTokens ?? true;
const requirePkce = config.requirePkce ?? false;
const resourceServer = config.resourceServer; // {client_id, client_secret}: introspects and revokes any token
const extraTokenFields = new Map((config.clients ?? []).map((c) => [c.client_id, c.extraTokenFields ?? {}]));
const omitExpiresIn = new Set((config.clients ?? []).filter((c) => c.omit_expires_in).map((c) => c.client_id));
const omitRefreshToken = new Set((config.clients ?? []).filter((c) => c.omit_refresh_token).map((c) => c.client_id));
const rotatePerClient = new Map((config.clients ?? []).filter((c) => typeof c.rotate_refresh_tokens === 'boolean').map((c) => [c.client_id, c.rotate_refresh_tokens]));
const defaultScopes = new Map((config.clients ?? []).map((c) => [c.client_id, c.default_scope ?? 'base']));
const scopes = [...new Set([...(config.scopes ?? []), ...defaultScopes.values()].flatMap((s) => s.split(' ')).filter(Boolean))];

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });

const provider = new Provider(issuer, {
  clients: [
    ...config.clients.map((c) => ({
      client_id: c.client_id,
      client_secret: c.client_secret,
      redirect_uris: c.redirect_uris,
      token_endpoint_auth_method: c.token_endpoint_auth_method ?? 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    })),
    {
      client_id: resourceServer.client_id,
      client_secret: resourceServer.client_secret,
      grant_types: [],
      response_types: [],
      redirect_uris: [],
    },
  ],
  jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'test-key', alg: 'RS256', use: 'sig' }] },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  scopes,
  features: {
    devInteractions: { enabled: false },
    introspection: { enabled: true, allowedPolicy: async () => true },
    revocation: {
      enabled: true,
      // The token's own client may revoke it, and so may the resource-server client
      // (the test stand-in for "the user disconnected the app at the provider").
      allowedPolicy: async (_ctx, client, token) =>
        client.clientId === token.clientId || client.clientId === resourceServer.client_id,
    },
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  // Confidential clients MAY use PKCE; when a code_challenge was sent, the verifier is checked.
  pkce: { required: () => requirePkce },
  // A refresh token for every code grant, with or without offline_access.
  issueRefreshToken: async () => true,
  rotateRefreshToken: (ctx) => rotatePerClient.get(ctx.oidc?.client?.clientId) ?? rotate,
  expiresWithSession: async () => false,
  findAccount: async (_ctx, sub) => ({
    accountId: sub,
    claims: async () => ({ sub, email: `${sub}@example.test`, name: sub }),
  }),
  claims: { openid: ['sub'], email: ['email'], profile: ['name'] },
  ttl: {
    AccessToken: (_ctx, _token, client) => clientTtls.get(client?.clientId) ?? accessTokenTtl,
    AuthorizationCode: () => 60,
    IdToken: () => 3600,
    RefreshToken: () => refreshTokenTtl,
    Interaction: () => 600,
    Session: () => 24 * 3600,
    Grant: () => refreshTokenTtl,
  },
  renderError: async (ctx, out) => {
    ctx.type = 'json';
    ctx.body = out;
  },
});

// oidc-provider accepts client_secret_basic and client_secret_post interchangeably;
// real providers do not (Pipedrive wants Basic, HubSpot the form), so a client must
// use the method it was registered with at /token, /token/revocation and /token/introspection.
// A fault the test sets over IPC ({status, body, headers}): every POST /token answers it
// instead (an outage, refused app credentials), until cleared. Token requests are counted either way.
let tokenFault = null;
let tokenRequests = 0;
provider.use(async (ctx, next) => {
  if (ctx.method !== 'POST' || ctx.path !== '/token') return next();
  tokenRequests++;
  if (!tokenFault) return next();
  for await (const _chunk of ctx.req); // drain the body
  ctx.status = tokenFault.status;
  for (const [name, value] of Object.entries(tokenFault.headers ?? {})) ctx.set(name, value);
  ctx.set('cache-control', 'no-store');
  ctx.body = tokenFault.body ?? '';
  return undefined;
});

const authMethods = new Map((config.clients ?? []).map((c) => [c.client_id, c.token_endpoint_auth_method ?? 'client_secret_basic']));
provider.use(async (ctx, next) => {
  if (ctx.method !== 'POST' || !['/token', '/token/revocation', '/token/introspection'].includes(ctx.path)) return next();
  const chunks = [];
  for await (const chunk of ctx.req) chunks.push(chunk);
  const raw = Buffer.concat(chunks).toString('utf8');
  ctx.request.body = raw; // oidc-provider parses an already-read body from here
  const form = new URLSearchParams(raw);
  const header = ctx.get('authorization');
  let used;
  let clientId;
  if (/^basic /i.test(header)) {
    used = 'client_secret_basic';
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    try {
      clientId = decodeURIComponent(decoded.slice(0, decoded.indexOf(':')).replace(/\+/g, ' '));
    } catch {
      clientId = undefined; // malformed: oidc-provider answers invalid_request
    }
  } else if (form.get('client_secret')) {
    used = 'client_secret_post';
    clientId = form.get('client_id');
  }
  const registered = authMethods.get(clientId);
  if (used && registered && used !== registered) {
    ctx.status = 401;
    ctx.set('cache-control', 'no-store');
    ctx.body = { error: 'invalid_client', error_description: `client authentication failed: ${clientId} must use ${registered}, not ${used}` };
    return undefined;
  }
  return next();
});

// An authorization request without scope (Pipedrive's apps get their scopes from
// the app registration) stands for the client's default scope: oidc-provider
// would otherwise end it in access_denied, having no scope to grant.
provider.use(async (ctx, next) => {
  if (ctx.path === '/auth' && ctx.method === 'GET' && !ctx.query.scope && typeof ctx.query.client_id === 'string') {
    const scope = defaultScopes.get(ctx.query.client_id);
    if (scope) ctx.query = { ...ctx.query, scope };
  }
  await next();
});

// Per-client extra fields in the token endpoint's JSON (Salesforce's instance_url,
// Pipedrive's api_domain, ...), on the code grant and the refresh grant alike.
provider.use(async (ctx, next) => {
  await next();
  if (ctx.path !== '/token' || ctx.status !== 200 || !ctx.body || typeof ctx.body !== 'object') return;
  if (!('access_token' in ctx.body)) return;
  const clientId = ctx.oidc?.client?.clientId;
  const fields = extraTokenFields.get(clientId);
  if (fields) ctx.body = { ...ctx.body, ...fields };
  if (omitExpiresIn.has(clientId)) {
    const { expires_in: _omitted, ...rest } = ctx.body;
    ctx.body = rest;
  }
  if (omitRefreshToken.has(clientId)) {
    const { refresh_token: _none, ...rest } = ctx.body;
    ctx.body = rest;
  }
  // A client that does not rotate gets no refresh_token on a refresh grant (Salesforce's answer): it keeps its own.
  if (rotatePerClient.get(clientId) === false && ctx.oidc?.params?.grant_type === 'refresh_token') {
    const { refresh_token: _kept, ...rest } = ctx.body;
    ctx.body = rest;
  }
});

const page = (title, inner) =>
  `<!doctype html><html><head><title>${title}</title></head><body><h1>${title}</h1>${inner}</body></html>`;

const escape = (s) => String(s).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

// Minimal login and consent pages: GET /interaction/:uid shows the form of the
// current prompt; POST .../login, POST .../confirm and GET|POST .../abort finish it.
async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  const { prompt, params, session } = details;
  if (!action && req.method === 'GET') {
    const base = `/interaction/${uid}`;
    const body =
      prompt.name === 'login'
        ? `<form method="post" action="${base}/login" data-prompt="login"><input type="hidden" name="prompt" value="login"/>` +
          `<input name="login"/><input type="password" name="password"/><button>Sign in</button></form>`
        : `<form method="post" action="${base}/confirm" data-prompt="consent"><input type="hidden" name="prompt" value="consent"/>` +
          `<p>${escape(params.client_id)} asks for: ${escape(params.scope ?? '')}</p><button>Allow</button></form>`;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(page(prompt.name === 'login' ? 'Sign-in' : 'Authorize', `${body}<a href="${base}/abort">Cancel</a>`));
    return;
  }
  if (action === 'abort') {
    await provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'End-User aborted interaction' },
      { mergeWithLastSubmission: false },
    );
    return;
  }
  if (req.method !== 'POST') throw new Error('method not allowed');
  const form = await readForm(req);
  if (action === 'login' && prompt.name === 'login') {
    const login = form.get('login')?.trim();
    if (!login) throw new Error('login is required');
    await provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
    return;
  }
  if (action === 'confirm' && prompt.name === 'consent') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = prompt.details;
    if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
    if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
    if (missingResourceScopes) {
      for (const [indicator, scopes] of Object.entries(missingResourceScopes)) grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return;
  }
  throw new Error(`unexpected ${action} for prompt ${prompt.name}`);
}

const providerCallback = provider.callback();
server.on('request', (req, res) => {
  const match = /^\/interaction\/([^/?]+)(?:\/(login|confirm|abort))?(?:\?.*)?$/.exec(req.url ?? '');
  if (!match) {
    providerCallback(req, res);
    return;
  }
  interaction(req, res, match[1], match[2]).catch((err) => {
    console.error('interaction failed', err);
    if (res.headersSent) return res.end();
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'invalid_request', error_description: String(err.message ?? err) }));
  });
});

process.on('message', (msg) => {
  if (msg?.type === 'setExtraTokenFields') {
    extraTokenFields.set(msg.clientId, { ...msg.fields });
    process.send?.({ type: 'ack', id: msg.id });
  } else if (msg?.type === 'setTokenFault') {
    tokenFault = msg.fault ?? null;
    process.send?.({ type: 'ack', id: msg.id });
  } else if (msg?.type === 'tokenRequests') {
    process.send?.({ type: 'ack', id: msg.id, value: tokenRequests });
  }
});
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));

process.stdout.write(`READY ${JSON.stringify({ issuer })}\n`);
