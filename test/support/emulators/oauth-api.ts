import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Shared machinery of the OAuth-protected CRM emulators (Salesforce, HubSpot,
 * Pipedrive): a real HTTP server on 127.0.0.1, Bearer tokens checked through the
 * authorization server's introspection endpoint (RFC 7662; results cached for at
 * most `introspectionCacheMs`, 1 s by default, and never past the token's `exp`),
 * a log of every request, and injected failures.
 */
export interface IntrospectionConfig {
  introspectionUrl: string;
  clientId: string;
  clientSecret: string;
}

export interface EmulatorOptions {
  /** Only tokens issued to these OAuth clients are accepted; default: any client of the authorization server. */
  acceptClientIds?: string[];
  /** Default 1000; 0 disables the cache. */
  introspectionCacheMs?: number;
}

export interface TokenInfo {
  active: true;
  client_id: string;
  sub: string;
  scope: string;
  exp: number;
}

export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The status answered (0 while the request is in flight). */
  status: number;
  /** The OAuth client and account of the token, when it was valid. */
  clientId?: string;
  sub?: string;
}

export interface ApiRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  rawBody: string;
  token: TokenInfo;
}

export interface Reply {
  status: number;
  /** JSON body; undefined means no body (e.g. 204). */
  body?: unknown;
  headers?: Record<string, string>;
}

/** Why a request was not authenticated: no Bearer token, an unknown or revoked one, or one seen before that has expired. */
export type AuthFailure = 'missing' | 'invalid' | 'expired';

export abstract class OAuthApiEmulator {
  url = '';
  readonly requests: RecordedRequest[] = [];
  private server: http.Server | null = null;
  private readonly failures: Array<{ status: number; body?: unknown }> = [];
  private readonly cache = new Map<string, { result: TokenInfo | null; at: number }>();
  private readonly knownExpiry = new Map<string, number>();

  protected constructor(
    protected readonly oauth: IntrospectionConfig,
    protected readonly baseOptions: EmulatorOptions = {},
  ) {}

  protected async listen(): Promise<void> {
    const server = http.createServer((req, res) => void this.dispatch(req, res));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Answer the next `n` requests (before authentication) with `status` and this API's error body for it, or `body`. */
  failNext(n: number, status = 503, body?: unknown): void {
    for (let i = 0; i < n; i++) this.failures.push(body === undefined ? { status } : { status, body });
  }

  /** How many requests reached `path` (exact, without query), optionally only with `method`. */
  count(path: string, method?: string): number {
    return this.requests.filter((r) => r.path === path && (method === undefined || r.method === method.toUpperCase())).length;
  }

  /** Request counts keyed by `METHOD /path`. */
  get requestsByPath(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.requests) out[`${r.method} ${r.path}`] = (out[`${r.method} ${r.path}`] ?? 0) + 1;
    return out;
  }

  /** This API's answer to a missing, invalid or expired token. */
  protected abstract unauthorized(reason: AuthFailure): Reply;
  /** This API's error body for an injected failure status. */
  protected abstract failureBody(status: number): unknown;
  /** Requests that need no token (e.g. a version list, a token endpoint); undefined: authenticate first. */
  protected unauthenticated(_method: string, _path: string, _request?: RecordedRequest): Reply | undefined | Promise<Reply | undefined> {
    return undefined;
  }
  /** Called for every authenticated request before routing: a rate limit answers here. */
  protected admit(_req: ApiRequest): Reply | undefined {
    return undefined;
  }
  /** Headers added to every authenticated answer (rate-limit information). */
  protected responseHeaders(_req: ApiRequest): Record<string, string> {
    return {};
  }
  protected abstract route(req: ApiRequest): Reply | Promise<Reply>;

  private async dispatch(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://emulator');
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
      status: 0,
    };
    this.requests.push(record);
    let reply: Reply;
    try {
      reply = await this.handle(record);
    } catch (err) {
      reply = { status: 500, body: this.failureBody(500) };
      console.error(`${this.constructor.name}: ${String(err)}`);
    }
    record.status = reply.status;
    const headers: Record<string, string> = { ...reply.headers };
    if (reply.body !== undefined) headers['content-type'] ??= 'application/json;charset=UTF-8';
    res.writeHead(reply.status, headers);
    res.end(reply.body === undefined ? undefined : JSON.stringify(reply.body));
  }

  private async handle(record: RecordedRequest): Promise<Reply> {
    const failure = this.failures.shift();
    if (failure) return { status: failure.status, body: failure.body ?? this.failureBody(failure.status) };
    const open = await this.unauthenticated(record.method, record.path, record);
    if (open) return open;

    const match = /^Bearer\s+(\S+)\s*$/i.exec(String(record.headers.authorization ?? ''));
    if (!match?.[1]) return this.unauthorized('missing');
    const token = match[1];
    const info = await this.introspect(token);
    if (!info) {
      const exp = this.knownExpiry.get(token);
      return this.unauthorized(exp !== undefined && exp * 1000 <= Date.now() ? 'expired' : 'invalid');
    }
    record.clientId = info.client_id;
    record.sub = info.sub;
    const req: ApiRequest = { method: record.method, path: record.path, query: record.query, headers: record.headers, rawBody: record.body, token: info };
    const reply = this.admit(req) ?? (await this.route(req));
    return { ...reply, headers: { ...this.responseHeaders(req), ...reply.headers } };
  }

  protected async introspect(token: string): Promise<TokenInfo | null> {
    const now = Date.now();
    const ttl = this.baseOptions.introspectionCacheMs ?? 1000;
    const cached = this.cache.get(token);
    let result: TokenInfo | null;
    if (cached && now - cached.at < ttl) {
      result = cached.result;
    } else {
      const basic = Buffer.from(`${encodeURIComponent(this.oauth.clientId)}:${encodeURIComponent(this.oauth.clientSecret)}`).toString('base64');
      const res = await fetch(this.oauth.introspectionUrl, {
        method: 'POST',
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
      });
      if (res.status !== 200) throw new Error(`introspection answered ${res.status}: ${await res.text()}`);
      const json = (await res.json()) as Partial<TokenInfo> & { active?: boolean; token_type?: string };
      const ok = json.active === true && json.token_type === 'Bearer' && typeof json.client_id === 'string' && typeof json.exp === 'number';
      result = ok ? { active: true, client_id: json.client_id ?? '', sub: json.sub ?? '', scope: json.scope ?? '', exp: json.exp ?? 0 } : null;
      if (ttl > 0) this.cache.set(token, { result, at: now });
    }
    if (result) this.knownExpiry.set(token, result.exp);
    if (!result || result.exp * 1000 <= now) return null;
    const accept = this.baseOptions.acceptClientIds;
    if (accept && !accept.includes(result.client_id)) return null;
    return result;
  }
}

/** Parses a JSON object body; undefined when it is not valid JSON or not an object. */
export function parseObject(raw: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(raw);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
