import { Agent } from 'undici';
import type { Dispatcher } from 'undici';
import { errorMessage } from '../core/errors';
import { Memo } from '../core/memo';
import { createHash } from 'node:crypto';
import { checkedLookup, checkLiteralHost, guardedLookup, parseAllowedIps } from './network-guard';
import type { AllowedRanges } from './network-guard';

/** The User-Agent of every request the hub sends, webhooks and connector actions alike: the version in package.json. */
export const USER_AGENT = `Hookhub/${readVersion()}`;

function readVersion(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('../../package.json') as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

/** Per-subscription transport settings: where it may connect, and its client certificate. */
export interface SendOptions {
  allowedIps?: readonly string[];
  tls?: { cert: string; key: string; ca?: string };
}

export const RESPONSE_BODY_LIMIT = 64 * 1024;

export interface HttpResult {
  status: number | null;
  headers: Record<string, string>;
  body: string | null;
  durationMs: number;
  /** Set when no HTTP answer came: timeout, refused connection, blocked address, TLS failure. */
  error: string | null;
  errorCode: string | null;
}

/** The result of a request that never went out, for `error` (null: nothing needed sending); the endpoint's health learns nothing from it. */
export function notSentResult(error: string | null): HttpResult {
  return { status: null, headers: {}, body: null, durationMs: 0, error, errorCode: 'not_sent' };
}

export interface HttpSenderOptions {
  timeoutMs: number;
  allowPrivateNetworks: boolean;
  connectionsPerOrigin: number;
  /** Most endpoint URLs whose address check is remembered (HOOKHUB_CACHE_ENTRIES). */
  maxTargets?: number;
  /** Most connection pools kept for subscriptions with network rules of their own (HOOKHUB_HTTP_AGENTS); the oldest is closed past it. */
  maxAgents?: number;
}

/**
 * Sends one webhook request with undici over a shared keep-alive pool.
 * Redirects are never followed; only the first 64 KiB of a response is kept.
 */
export class HttpSender {
  private readonly agent: Agent;
  /** Agents of subscriptions with their own settings (allowedIps, mutual TLS), by those settings. */
  private readonly agentsByNetworkRules = new Map<string, { agent: Agent; allowed: AllowedRanges | null }>();
  /** URLs that passed the literal-address check, split into what undici dispatches on. */
  private readonly targets: Memo<string, Target>;

  constructor(private readonly options: HttpSenderOptions) {
    this.targets = new Memo<string, Target>(options.maxTargets ?? 10_000);
    // undici's own timers bound the wait for the response head and for each body chunk; cheaper per
    // request than an AbortSignal, and together with the 64 KiB body cap they bound an attempt.
    this.agent = new Agent({
      connections: options.connectionsPerOrigin,
      keepAliveTimeout: 10_000,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      connect: options.allowPrivateNetworks ? { timeout: 10_000 } : { timeout: 10_000, lookup: guardedLookup },
    });
  }

  async send(url: string, headers: Record<string, string>, body: string | null, method = 'POST', options?: SendOptions): Promise<HttpResult> {
    const started = performance.now();
    const elapsed = (): number => Math.round(performance.now() - started);
    try {
      const own = options && (options.allowedIps?.length || options.tls) ? this.agentFor(options) : null;
      const blockPrivate = !this.options.allowPrivateNetworks;
      // Without allowedIps the literal-address check depends on the URL alone: remember the URLs that
      // passed (a refused one throws and is not kept).
      const target = own
        ? checkedTarget(url, blockPrivate, own.allowed)
        : this.targets.get(url, () => checkedTarget(url, blockPrivate, null));
      const response = await (own?.agent ?? this.agent).request({
        origin: target.origin,
        path: target.path,
        method: method as Dispatcher.HttpMethod,
        headers,
        body,
      });
      const text = await readLimited(response.body, response.headers['content-length']);
      return { status: response.statusCode, headers: flattenHeaders(response.headers), body: text, durationMs: elapsed(), error: null, errorCode: null };
    } catch (err) {
      const code = errorCode(err);
      const message = code === 'timeout' ? `no response within ${this.options.timeoutMs} ms` : errorMessage(err);
      return { status: null, headers: {}, body: null, durationMs: elapsed(), error: message, errorCode: code };
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.agent.close(), ...[...this.agentsByNetworkRules.values()].map((s) => s.agent.close())]);
    this.agentsByNetworkRules.clear();
  }

  private agentFor(options: SendOptions): { agent: Agent; allowed: AllowedRanges | null } {
    const key = createHash('sha256').update(JSON.stringify([options.allowedIps ?? [], options.tls ?? null])).digest('base64url');
    let found = this.agentsByNetworkRules.get(key);
    if (!found) {
      const allowed = options.allowedIps?.length ? parseAllowedIps(options.allowedIps) : null;
      const agent = new Agent({
        connections: this.options.connectionsPerOrigin,
        keepAliveTimeout: 10_000,
        headersTimeout: this.options.timeoutMs,
        bodyTimeout: this.options.timeoutMs,
        connect: {
          timeout: 10_000,
          lookup: checkedLookup(!this.options.allowPrivateNetworks, allowed),
          // Certificates are always verified; a subscription may add the CA of its endpoint.
          rejectUnauthorized: true,
          ...(options.tls ? { cert: options.tls.cert, key: options.tls.key, ...(options.tls.ca ? { ca: options.tls.ca } : {}) } : {}),
        },
      });
      if (this.agentsByNetworkRules.size >= (this.options.maxAgents ?? 500)) {
        const [oldestKey, oldest] = this.agentsByNetworkRules.entries().next().value as [string, { agent: Agent }];
        this.agentsByNetworkRules.delete(oldestKey);
        void oldest.agent.close();
      }
      found = { agent, allowed };
      this.agentsByNetworkRules.set(key, found);
    }
    return found;
  }
}

interface Target {
  origin: string;
  path: string;
}

function checkedTarget(raw: string, blockPrivate: boolean, allowed: AllowedRanges | null): Target {
  const url = new URL(raw);
  checkLiteralHost(url, blockPrivate, allowed);
  return { origin: url.origin, path: `${url.pathname}${url.search}` };
}

async function readLimited(body: Dispatcher.ResponseData['body'], contentLength: string | string[] | undefined): Promise<string> {
  // A declared length within the limit (undici holds the server to it) is read in one go, the common case.
  const declared = typeof contentLength === 'string' ? Number(contentLength) : NaN;
  if (declared >= 0 && declared <= RESPONSE_BODY_LIMIT) return body.text();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buffer = chunk as Buffer;
    chunks.push(buffer);
    size += buffer.length;
    if (size >= RESPONSE_BODY_LIMIT) break;
  }
  if (size >= RESPONSE_BODY_LIMIT) body.destroy();
  return Buffer.concat(chunks).subarray(0, RESPONSE_BODY_LIMIT).toString('utf8');
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function errorCode(err: unknown): string {
  const e = err as { name?: string; code?: string; cause?: { code?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT') {
    return 'timeout';
  }
  return e.code ?? e.cause?.code ?? 'network_error';
}
