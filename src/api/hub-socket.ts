import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { RawData, WebSocket } from 'ws';
import type { ApiKeyRecord } from '../access/model';
import type { ApiKeys } from '../access/ports';
import { errorMessage, HubError } from '../core/errors';
import { sha256Hex } from '../core/ids';
import type { ApiScope } from './scopes';
import { hasScope } from './scopes';

/**
 * What the hub's WebSocket endpoints (`hookhub listen` at /v1/listen, `hookhub tunnel` at /v1/tunnel) share:
 * one upgrade handler that routes by path, the API key check on the upgrade request, heartbeats, and frames.
 */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** The HTTP server's `upgrade` listener: the handler for the request's path, or a 404 in the API's error shape. */
export function upgradeRoutes(routes: Record<string, UpgradeHandler>): UpgradeHandler {
  return (req, socket, head) => {
    const path = new URL(req.url ?? '/', 'http://hub').pathname.replace(/\/+$/, '');
    const handler = Object.hasOwn(routes, path) ? routes[path] : undefined;
    if (handler) handler(req, socket, head);
    else refuse(socket, new HubError('route_not_found', `Only ${Object.keys(routes).join(' and ')} take a WebSocket upgrade.`, { status: 404 }));
  };
}

/** The API key of an upgrade request (`Authorization: Bearer <key>`), which must hold `scope` for `command`. */
export async function authorizeUpgrade(req: IncomingMessage, keys: ApiKeys, scope: ApiScope, command: string): Promise<ApiKeyRecord> {
  const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (!match?.[1]) throw new HubError('unauthorized', 'Send your API key as "Authorization: Bearer <key>" on the upgrade request.', { status: 401 });
  const key = await keys.findApiKey(sha256Hex(match[1]));
  if (!key || key.revokedAt !== null) throw new HubError('unauthorized', 'The API key is not valid or was revoked. Check it, or ask an admin for a new one.', { status: 401 });
  if (!hasScope(key.scopes, scope)) {
    throw new HubError('insufficient_scope', `This key lacks the scope ${scope} needed for ${command}. Use a key that has it, or ask an admin to create one.`, { status: 403, details: { required: scope } });
  }
  return key;
}

/** An upgrade refused for a reason that is not a HubError: the key could not be checked. */
export function upgradeFailure(err: unknown): HubError {
  return err instanceof HubError ? err : new HubError('internal_error', 'The hub could not check the API key; try again.', { status: 500 });
}

/** Answers the upgrade request with the API's error body and closes the socket. */
export function refuse(socket: Duplex, err: HubError): void {
  const body = JSON.stringify(errorBody(err));
  socket.end(`HTTP/1.1 ${err.status} ${err.code}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/** The API's error shape for a HubError. */
export function errorBody(err: HubError): { error: { code: string; message: string; details?: unknown } } {
  return { error: { code: err.code, message: err.message, ...(err.details === undefined ? {} : { details: err.details }) } };
}

/** Tells the client why its hello was refused (an error frame, the API's error shape), then closes. */
export function sendRefusal(ws: WebSocket, err: unknown): void {
  const { error } = errorBody(err instanceof HubError ? err : new HubError('internal_error', errorMessage(err), { status: 500 }));
  ws.send(JSON.stringify({ type: 'error', error }), () => ws.close(4400, error.code.slice(0, 100)));
}

/** A JSON text frame with a `type`, or null. */
export type SocketFrame = { type: string } & Record<string, unknown>;

export function parseFrame(data: RawData): SocketFrame | null {
  try {
    const value: unknown = JSON.parse(String(data));
    return value && typeof value === 'object' && typeof (value as SocketFrame).type === 'string' ? (value as SocketFrame) : null;
  } catch {
    return null;
  }
}

/**
 * Pings the client every `everyMs`; a client that did not answer the previous ping (a laptop gone to sleep) is
 * dropped. `onBeat` runs at each heartbeat of a live client (the holder confirming it in the store). Returns the stop.
 */
export function keepAlive(ws: WebSocket, everyMs: number, onBeat: () => void): () => void {
  let answering = true;
  ws.on('pong', () => (answering = true));
  const timer = setInterval(() => {
    if (!answering) {
      ws.terminate();
      return;
    }
    answering = false;
    ws.ping();
    onBeat();
  }, everyMs);
  return () => clearInterval(timer);
}

/**
 * The connected clients of one WebSocket endpoint and what outlives them: each client's departure being written
 * to the store, and the removal of what it held once it has been gone for its keep (unless the hub is stopping,
 * when the clients are told to reconnect elsewhere and keep what they held).
 */
export class ClientSockets {
  readonly server: WebSocketServer;
  private readonly idleTimers = new Set<NodeJS.Timeout>();
  private readonly leaving = new Set<Promise<void>>();
  private closing = false;

  constructor(maxPayload: number) {
    this.server = new WebSocketServer({ noServer: true, maxPayload });
  }

  /** A client left: `recording` writes that down (awaited by close()); after `keepSeconds`, `remove` runs. */
  left(recording: Promise<void>, keepSeconds: number, remove: () => void): void {
    this.leaving.add(recording);
    void recording.finally(() => this.leaving.delete(recording));
    if (this.closing) return;
    const timer = setTimeout(() => {
      this.idleTimers.delete(timer);
      remove();
    }, keepSeconds * 1000 + 100);
    timer.unref();
    this.idleTimers.add(timer);
  }

  /** Drops every client and waits until their departures are recorded. */
  async close(): Promise<void> {
    this.closing = true;
    for (const timer of this.idleTimers) clearTimeout(timer);
    await Promise.all([...this.server.clients].map((ws) => new Promise((resolve) => {
      ws.once('close', resolve);
      ws.terminate();
    })));
    await Promise.allSettled([...this.leaving]);
    this.server.close();
  }
}
