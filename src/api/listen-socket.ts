import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { RawData, WebSocket } from 'ws';
import type { ApiKeys } from '../access/ports';
import { errorMessage, HubError } from '../core/errors';
import { sha256Hex } from '../core/ids';
import type { Logger } from '../core/logger';
import type { RelayRequest, RelayService } from '../subscriptions/relay-service';
import type { RelaySubscription } from '../subscriptions/model';
import { RelayConnection } from '../webhooks/relay-connection';
import type { ListenMessage } from '../webhooks/relay-connection';
import type { RelayClients } from '../webhooks/relay-target';
import { hasScope } from './scopes';

/** Where `hookhub listen` connects (a WebSocket upgrade with `Authorization: Bearer <key>`). */
export const LISTEN_PATH = '/v1/listen';
/** How often the holder confirms its client (the relay's lastSeenAt), well within HOLDER_STALE_MS. */
const HEARTBEAT_MS = 20_000;
const HELLO_TIMEOUT_MS = 10_000;

export interface ListenSocketOptions {
  enabled: boolean;
  keys: ApiKeys;
  relays: RelayService;
  clients: RelayClients;
  /** This process, as relays name their holder. */
  holder: string;
  /** How long a client may take to answer a delivery. */
  answerTimeoutMs: number;
  logger: Logger;
}

/**
 * The hub's end of `hookhub listen`: authenticates the upgrade, opens (or resumes) the client's relay, and
 * keeps it attached here while connected; once the client is gone for the relay's keep, the relay is removed.
 */
export class ListenSocket {
  private readonly server = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  private readonly idleTimers = new Set<NodeJS.Timeout>();
  private readonly leaving = new Set<Promise<void>>();
  private closing = false;

  constructor(private readonly options: ListenSocketOptions) {}

  /** For the HTTP server's `upgrade` event. */
  readonly upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    this.authorize(req).then(
      (tenantId) => this.server.handleUpgrade(req, socket, head, (ws) => this.accept(ws, tenantId)),
      (err: unknown) => refuse(socket, err instanceof HubError ? err : new HubError('internal_error', 'The hub could not check the API key; try again.', { status: 500 })),
    );
  };

  /** Closes every client (they reconnect to another process) and records that they left. */
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

  private async authorize(req: IncomingMessage): Promise<string> {
    const path = new URL(req.url ?? '/', 'http://hub').pathname.replace(/\/+$/, '');
    if (path !== LISTEN_PATH) throw new HubError('route_not_found', `Only ${LISTEN_PATH} takes a WebSocket upgrade.`, { status: 404 });
    if (!this.options.enabled) {
      throw new HubError('relays_disabled', 'Relays (hookhub listen) are turned off on this hub (HOOKHUB_RELAYS=false). Ask its operator to turn them on, or use a subscription to a public URL.', { status: 503 });
    }
    const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!match?.[1]) throw new HubError('unauthorized', 'Send your API key as "Authorization: Bearer <key>" on the upgrade request.', { status: 401 });
    const key = await this.options.keys.findApiKey(sha256Hex(match[1]));
    if (!key || key.revokedAt !== null) throw new HubError('unauthorized', 'The API key is not valid or was revoked. Check it, or ask an admin for a new one.', { status: 401 });
    if (!hasScope(key.scopes, 'relay:write')) {
      throw new HubError('insufficient_scope', 'This key lacks the scope relay:write needed for hookhub listen. Use a key that has it, or ask an admin to create one.', { status: 403, details: { required: 'relay:write' } });
    }
    return key.tenantId;
  }

  private accept(ws: WebSocket, tenantId: string): void {
    const connection = new RelayConnection(ws, this.options.answerTimeoutMs);
    let relay: RelaySubscription | null = null;
    let heartbeat: NodeJS.Timeout | undefined;
    const helloTimer = setTimeout(() => ws.close(4408, 'no hello'), HELLO_TIMEOUT_MS);
    // A client that stopped answering pings (a laptop gone to sleep) is dropped at the next heartbeat.
    let answering = true;
    ws.on('pong', () => (answering = true));
    ws.on('message', (data: RawData) => {
      const message = parse(data);
      if (message?.type === 'answer') connection.answer(message);
      else if (message?.type === 'hello' && relay === null) {
        clearTimeout(helloTimer);
        void this.open(ws, tenantId, message, connection).then((opened) => {
          relay = opened;
          if (!opened) return;
          heartbeat = setInterval(() => {
            if (!answering) return ws.terminate();
            answering = false;
            ws.ping();
            void this.options.relays.seen(opened, this.options.holder).catch(() => undefined);
          }, HEARTBEAT_MS);
        });
      }
    });
    ws.on('close', () => {
      clearTimeout(helloTimer);
      clearInterval(heartbeat);
      connection.closed();
      if (relay) this.left(relay, connection);
    });
    ws.on('error', (err) => this.options.logger.debug({ err: err.message }, 'listen client connection failed'));
  }

  private async open(ws: WebSocket, tenantId: string, hello: ListenMessage, connection: RelayConnection): Promise<RelaySubscription | null> {
    try {
      const { record, secret, resumed } = await this.options.relays.open(tenantId, hello as RelayRequest, this.options.holder);
      if (ws.readyState !== ws.OPEN) {
        await this.options.relays.left(tenantId, record.id, this.options.holder);
        return null;
      }
      // A stale connection of the same relay here (the client reconnected before its old socket closed) is dropped.
      const previous = this.options.clients.attach(record.id, connection);
      if (previous instanceof RelayConnection && previous !== connection) previous.closed();
      ws.send(JSON.stringify({ type: 'ready', relayId: record.id, secret, events: record.events, keepSeconds: record.relay.keepSeconds, resumed }));
      this.options.logger.info({ tenantId, relayId: record.id, resumed }, 'listen client connected');
      return record;
    } catch (err) {
      const error = err instanceof HubError ? { code: err.code, message: err.message, ...(err.details === undefined ? {} : { details: err.details }) } : { code: 'internal_error', message: errorMessage(err) };
      ws.send(JSON.stringify({ type: 'error', error }), () => ws.close(4400, error.code.slice(0, 100)));
      return null;
    }
  }

  private left(relay: RelaySubscription, connection: RelayConnection): void {
    const { clients, relays, holder, logger } = this.options;
    clients.detach(relay.id, connection);
    const leaving = relays.left(relay.tenantId, relay.id, holder).catch((err: unknown) => logger.warn({ relayId: relay.id, err: errorMessage(err) }, 'could not record that a listen client left'));
    this.leaving.add(leaving);
    void leaving.finally(() => this.leaving.delete(leaving));
    logger.info({ relayId: relay.id }, 'listen client disconnected');
    if (this.closing) return;
    // Removed once it has had no client for its keep (a reconnect anywhere meanwhile keeps it).
    const timer = setTimeout(() => {
      this.idleTimers.delete(timer);
      relays.removeIfIdle(relay.tenantId, relay.id).then(
        (removed) => removed && logger.info({ relayId: relay.id }, 'relay removed: no listen client for its keep'),
        (err: unknown) => logger.warn({ relayId: relay.id, err: errorMessage(err) }, 'could not remove an idle relay'),
      );
    }, relay.relay.keepSeconds * 1000 + 100);
    timer.unref();
    this.idleTimers.add(timer);
  }
}

function parse(data: RawData): ListenMessage | null {
  try {
    const value: unknown = JSON.parse(String(data));
    return value && typeof value === 'object' && typeof (value as ListenMessage).type === 'string' ? (value as ListenMessage) : null;
  } catch {
    return null;
  }
}

/** Answers the upgrade request with the API's error body and closes the socket. */
function refuse(socket: Duplex, err: HubError): void {
  const body = JSON.stringify({ error: { code: err.code, message: err.message, ...(err.details === undefined ? {} : { details: err.details }) } });
  socket.end(`HTTP/1.1 ${err.status} ${err.code}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}
