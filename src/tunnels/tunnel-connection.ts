import type { WebSocket } from 'ws';
import type { Clock } from '../core/clock';
import { newId } from '../core/ids';
import { PendingAnswers } from '../core/pending-answers';
import { endToEnd } from './http-headers';
import type { HeaderPairs } from './http-headers';
import type { TunnelRecord } from './model';

/**
 * The tunnel protocol, JSON text frames over one WebSocket (bodies in base64, so binary bodies arrive intact):
 * - client → hub, first: `{"type": "hello", target, keepSeconds}`, or after a reconnect `{"type": "hello", tunnelId, resumeKey}`
 * - hub → client: `{"type": "ready", tunnelId, url?, resumeKey?, resumed, timeoutMs, maxBodyBytes}` (url and
 *   resumeKey only when the tunnel is new) or `{"type": "error", error}`
 * - hub → client: `{"type": "request", id, method, path, headers: [[name, value], ...], body}`
 * - client → hub: `{"type": "response", id, status, headers, body, durationMs}`, or `{"type": "response", id,
 *   status: null, error}` when the local URL did not answer. Requests are answered in any order, matched by id.
 * - the hub closes with code 4410 when the tunnel is closed through the API.
 */
export const TUNNEL_CLOSED_CODE = 4410;

/** A request to the public URL, as the client sends it to its local URL. */
export interface TunnelRequest {
  method: string;
  /** Below the tunnel's prefix, with the query: `/callback?code=x`. */
  path: string;
  headers: HeaderPairs;
  body: Buffer;
}

export type TunnelAnswer =
  | { kind: 'response'; status: number; headers: HeaderPairs; body: Buffer; durationMs: number }
  | { kind: 'failed'; reason: 'timeout' | 'client_disconnected' | 'local_failed'; message: string; durationMs: number };

export interface TunnelConnectionOptions {
  /** How long the local app may take (HOOKHUB_TUNNEL_TIMEOUT_MS); then the caller gets 504. */
  timeoutMs: number;
  /** Requests a minute through this tunnel (HOOKHUB_TUNNEL_RATE_LIMIT); more get 429. */
  requestsPerMinute: number;
  /** The largest response body taken from the client. */
  maxBodyBytes: number;
  clock: Clock;
}

/** A connected `hookhub tunnel` client: requests out, responses back by id, any number at once. */
export class TunnelConnection {
  private readonly pending = new PendingAnswers<TunnelAnswer>();
  private window = { minute: -1, count: 0 };

  constructor(
    private readonly socket: WebSocket,
    readonly tunnel: TunnelRecord,
    private readonly options: TunnelConnectionOptions,
  ) {}

  /** Takes one request of the tunnel's rate; the seconds until the next minute when none is left. */
  admit(): { admitted: true } | { admitted: false; retryAfterSeconds: number } {
    const now = this.options.clock.now();
    const minute = Math.floor(now / 60_000);
    if (minute !== this.window.minute) this.window = { minute, count: 0 };
    if (this.window.count >= this.options.requestsPerMinute) return { admitted: false, retryAfterSeconds: Math.max(1, Math.ceil(((minute + 1) * 60_000 - now) / 1000)) };
    this.window.count += 1;
    return { admitted: true };
  }

  forward(request: TunnelRequest): Promise<TunnelAnswer> {
    const id = newId('tre');
    return this.pending.wait(
      id,
      this.options.timeoutMs,
      (started) => failed('timeout', `The local app did not answer within ${this.options.timeoutMs / 1000} s.`, started),
      (settle) => {
        const started = Date.now();
        const frame = { type: 'request', id, method: request.method, path: request.path, headers: request.headers, body: request.body.toString('base64') };
        this.socket.send(JSON.stringify(frame), (err) => {
          if (err) settle(failed('client_disconnected', `Could not write to the tunnel client: ${err.message}`, started));
        });
      },
    );
  }

  /** A response from the client; false when it is not one to a pending request. */
  answer(frame: Record<string, unknown>): boolean {
    const id = frame['id'];
    const started = this.pending.startedAt(id);
    if (started === undefined) return false;
    return this.pending.settle(id as string, this.answerOf(frame, started));
  }

  /** Ends the connection (the tunnel was closed): the client is told with TUNNEL_CLOSED_CODE and does not come back. */
  end(reason: string): void {
    this.socket.close(TUNNEL_CLOSED_CODE, reason.slice(0, 120));
  }

  /** Drops a stale connection (its tunnel is held by another process now): requests here stop going to it. */
  drop(): void {
    this.socket.terminate();
  }

  /** The connection closed: every request still waiting is answered at once (502), none waits for its timeout. */
  closed(): void {
    this.pending.settleAll((started) => failed('client_disconnected', 'The hookhub tunnel client disconnected before the local app answered.', started));
  }

  /** The client is not trusted to keep to the limits: statuses, headers and the body size are checked. */
  private answerOf(frame: Record<string, unknown>, started: number): TunnelAnswer {
    const status = frame['status'];
    const duration = frame['durationMs'];
    const durationMs = typeof duration === 'number' && Number.isFinite(duration) && duration >= 0 ? Math.round(duration) : Date.now() - started;
    if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 599) {
      const error = typeof frame['error'] === 'string' ? frame['error'].slice(0, 500) : 'The tunnel client sent no status.';
      return { kind: 'failed', reason: 'local_failed', message: `The local app did not answer: ${error}`, durationMs };
    }
    const body = typeof frame['body'] === 'string' ? Buffer.from(frame['body'], 'base64') : Buffer.alloc(0);
    if (body.length > this.options.maxBodyBytes) {
      return { kind: 'failed', reason: 'local_failed', message: `The local app's response body is larger than ${this.options.maxBodyBytes} bytes (HOOKHUB_MAX_BODY_BYTES).`, durationMs };
    }
    return { kind: 'response', status, headers: endToEnd(frame['headers']), body, durationMs };
  }
}

function failed(reason: 'timeout' | 'client_disconnected', message: string, started: number): TunnelAnswer {
  return { kind: 'failed', reason, message, durationMs: Date.now() - started };
}

/** The tunnel clients connected to this process, by tunnel id and by the hash of the URL's token. */
export class TunnelClients {
  private readonly byId = new Map<string, TunnelConnection>();
  private readonly byToken = new Map<string, TunnelConnection>();

  /** `connection` takes the tunnel's requests here from now on; the one it replaces (a stale connection), if any. */
  attach(connection: TunnelConnection): TunnelConnection | undefined {
    const previous = this.byId.get(connection.tunnel.id);
    this.byId.set(connection.tunnel.id, connection);
    this.byToken.set(connection.tunnel.tokenHash, connection);
    return previous;
  }

  /** Forgets `connection` unless another has taken its tunnel since; true when it was the tunnel's connection. */
  detach(connection: TunnelConnection): boolean {
    if (this.byId.get(connection.tunnel.id) !== connection) return false;
    this.byId.delete(connection.tunnel.id);
    this.byToken.delete(connection.tunnel.tokenHash);
    return true;
  }

  get(id: string): TunnelConnection | undefined {
    return this.byId.get(id);
  }

  byTokenHash(tokenHash: string): TunnelConnection | undefined {
    return this.byToken.get(tokenHash);
  }
}
