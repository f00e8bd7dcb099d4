import type { IncomingMessage } from 'node:http';
import type { RequestHandler, Response } from 'express';
import { HubError } from '../core/errors';
import { sha256Hex } from '../core/ids';
import { endToEnd, pairsOf } from '../tunnels/http-headers';
import type { HeaderPairs } from '../tunnels/http-headers';
import type { TunnelAnswer, TunnelClients } from '../tunnels/tunnel-connection';
import type { TunnelService } from '../tunnels/tunnel-service';
import { errorBody } from './hub-socket';
import { tunnelsDisabled } from './tunnel-socket';

export interface TunnelGatewayOptions {
  enabled: boolean;
  tunnels: TunnelService;
  clients: TunnelClients;
  /** Larger request bodies are refused with 413 (HOOKHUB_MAX_BODY_BYTES). */
  maxBodyBytes: number;
  /** X-Forwarded-Proto: the scheme callers reach the hub with (HOOKHUB_PUBLIC_URL's). */
  publicUrl: string;
}

const FORWARDED = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']);
const RUN_TUNNEL = 'Run `hookhub tunnel --to <local URL>` (e.g. http://localhost:4000) on the machine with the local app';

/**
 * The public side of tunnels, mounted at /t before the JSON body parser: every request to `/t/<token>/<path>`
 * goes, as it came (method, path below the prefix, query, end-to-end headers, raw body), to the tunnel's client
 * connected to this process, and its local app's response comes back. See docs/tunnels.md.
 */
export function tunnelGateway(options: TunnelGatewayOptions): RequestHandler {
  const proto = new URL(options.publicUrl).protocol.replace(':', '');
  return (req, res) => {
    void (async () => {
      if (!options.enabled) return fail(res, tunnelsDisabled());
      const { token, path } = split(req.url);
      const connection = options.clients.byTokenHash(sha256Hex(token));
      if (!connection) return fail(res, await notHere(options.tunnels, token));
      const admitted = connection.admit();
      if (!admitted.admitted) {
        res.setHeader('Retry-After', String(admitted.retryAfterSeconds));
        return fail(res, new HubError('rate_limited', 'This tunnel takes no more requests this minute (HOOKHUB_TUNNEL_RATE_LIMIT); try again after Retry-After seconds.', { status: 429, details: { retryAfterSeconds: admitted.retryAfterSeconds } }));
      }
      const body = await readBody(req, options.maxBodyBytes);
      if (body === null) return fail(res, new HubError('payload_too_large', `The request body is larger than ${options.maxBodyBytes} bytes, the most a tunnel forwards (HOOKHUB_MAX_BODY_BYTES).`, { status: 413 }));
      const answer = await connection.forward({ method: req.method, path, headers: forwardedHeaders(req, proto), body });
      respond(res, answer);
    })().catch((err: unknown) => fail(res, err instanceof HubError ? err : new HubError('internal_error', 'The hub could not forward the request; try again.', { status: 500 })));
  };
}

/** `/<token>/rest?q` (the URL below /t) as the token and the path the local app gets (`/rest?q`). */
function split(url: string): { token: string; path: string } {
  const q = url.indexOf('?');
  const pathname = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? '' : url.slice(q);
  const below = pathname.replace(/^\/+/, '');
  const slash = below.indexOf('/');
  return { token: slash < 0 ? below : below.slice(0, slash), path: `${slash < 0 ? '/' : below.slice(slash)}${query}` };
}

/** Why no client of this process takes the request: no such tunnel, its client on another process, or none. */
async function notHere(tunnels: TunnelService, token: string): Promise<HubError> {
  const record = token === '' ? null : await tunnels.byToken(token);
  if (!record) {
    return new HubError('tunnel_not_found', `No tunnel has this URL: it was closed, or removed after its keep without a client. ${RUN_TUNNEL} for a new URL.`, { status: 404 });
  }
  if (tunnels.connected(record)) {
    return new HubError('tunnel_on_other_process', 'This tunnel\'s client is connected to another process of this hub, and this process cannot reach it. Route /t/ and /v1/tunnel to a single API process (docs/tunnels.md), or reconnect the client.', { status: 502 });
  }
  return new HubError('tunnel_not_connected', `No hookhub tunnel client is connected to this URL right now. ${RUN_TUNNEL}; a client that reconnects keeps this URL.`, { status: 502 });
}

/** The end-to-end headers of the caller's request, with X-Forwarded-For (appended to), -Proto and -Host (replaced). */
function forwardedHeaders(req: IncomingMessage, proto: string): HeaderPairs {
  const headers = endToEnd(pairsOf(req.rawHeaders));
  const prior = headers.filter(([n]) => n.toLowerCase() === 'x-forwarded-for').map(([, v]) => v).join(', ');
  const peer = req.socket.remoteAddress ?? 'unknown';
  return [
    ...headers.filter(([n]) => !FORWARDED.has(n.toLowerCase())),
    ['X-Forwarded-For', prior === '' ? peer : `${prior}, ${peer}`],
    ['X-Forwarded-Proto', proto],
    ['X-Forwarded-Host', req.headers.host ?? ''],
  ];
}

/** The raw body, or null when it is larger than `max` (Content-Length says so, or the bytes do). */
async function readBody(req: IncomingMessage, max: number): Promise<Buffer | null> {
  if (Number(req.headers['content-length'] ?? 0) > max) return null;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function respond(res: Response, answer: TunnelAnswer): void {
  if (answer.kind === 'failed') {
    const error =
      answer.reason === 'timeout'
        ? new HubError('tunnel_timeout', `${answer.message} The tunnel answers 504 after HOOKHUB_TUNNEL_TIMEOUT_MS.`, { status: 504 })
        : new HubError(answer.reason === 'client_disconnected' ? 'tunnel_client_disconnected' : 'tunnel_local_error', answer.message, { status: 502 });
    return fail(res, error);
  }
  res.status(answer.status);
  for (const [name, value] of answer.headers) res.appendHeader(name, value);
  res.end(answer.body);
}

function fail(res: Response, err: HubError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.status(err.status).json(errorBody(err));
}
