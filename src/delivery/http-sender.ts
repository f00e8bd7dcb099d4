import { Agent, request } from 'undici';
import type { Dispatcher } from 'undici';
import { errorMessage } from '../core/errors';
import { checkLiteralHost, guardedLookup } from './network-guard';

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

export interface HttpSenderOptions {
  timeoutMs: number;
  allowPrivateNetworks: boolean;
  connectionsPerOrigin: number;
}

/**
 * Sends one webhook request with undici over a shared keep-alive pool.
 * Redirects are never followed; only the first 64 KiB of a response is kept.
 */
export class HttpSender {
  private readonly agent: Agent;

  constructor(private readonly options: HttpSenderOptions) {
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

  async send(url: string, headers: Record<string, string>, body: string | null, method = 'POST'): Promise<HttpResult> {
    const started = performance.now();
    const elapsed = (): number => Math.round(performance.now() - started);
    try {
      if (!this.options.allowPrivateNetworks) checkLiteralHost(new URL(url));
      const response = await request(url, {
        method: method as Dispatcher.HttpMethod,
        headers,
        body,
        dispatcher: this.agent,
      });
      const text = await readLimited(response.body);
      return { status: response.statusCode, headers: flattenHeaders(response.headers), body: text, durationMs: elapsed(), error: null, errorCode: null };
    } catch (err) {
      const code = errorCode(err);
      const message = code === 'timeout' ? `no response within ${this.options.timeoutMs} ms` : errorMessage(err);
      return { status: null, headers: {}, body: null, durationMs: elapsed(), error: message, errorCode: code };
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

async function readLimited(body: Dispatcher.ResponseData['body']): Promise<string> {
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
