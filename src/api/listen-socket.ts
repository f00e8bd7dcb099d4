import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RawData, WebSocket } from 'ws';
import type { ApiKeys } from '../access/ports';
import { errorMessage, HubError } from '../core/errors';
import type { Logger } from '../core/logger';
import type { RelayRequest, RelayService } from '../subscriptions/relay-service';
import type { RelaySubscription } from '../subscriptions/model';
import { RelayConnection } from '../webhooks/relay-connection';
import type { ListenMessage } from '../webhooks/relay-connection';
import type { RelayClients } from '../webhooks/relay-target';
import { authorizeUpgrade, ClientSockets, keepAlive, parseFrame, refuse, sendRefusal, upgradeFailure } from './hub-socket';

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
  private readonly sockets = new ClientSockets(1024 * 1024);

  constructor(private readonly options: ListenSocketOptions) {}

  /** For the HTTP server's `upgrade` event. */
  readonly upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    this.authorize(req).then(
      (tenantId) => this.sockets.server.handleUpgrade(req, socket, head, (ws) => this.accept(ws, tenantId)),
      (err: unknown) => refuse(socket, upgradeFailure(err)),
    );
  };

  /** Closes every client (they reconnect to another process) and records that they left. */
  close(): Promise<void> {
    return this.sockets.close();
  }

  private async authorize(req: IncomingMessage): Promise<string> {
    if (!this.options.enabled) {
      throw new HubError('relays_disabled', 'Relays (hookhub listen) are turned off on this hub (HOOKHUB_RELAYS=false). Ask its operator to turn them on, or use a subscription to a public URL.', { status: 503 });
    }
    return (await authorizeUpgrade(req, this.options.keys, 'relay:write', 'hookhub listen')).tenantId;
  }

  private accept(ws: WebSocket, tenantId: string): void {
    const connection = new RelayConnection(ws, this.options.answerTimeoutMs);
    let relay: RelaySubscription | null = null;
    let stopHeartbeat = (): void => undefined;
    const helloTimer = setTimeout(() => ws.close(4408, 'no hello'), HELLO_TIMEOUT_MS);
    ws.on('message', (data: RawData) => {
      const message = parseFrame(data);
      if (message?.type === 'answer') connection.answer(message);
      else if (message?.type === 'hello' && relay === null) {
        clearTimeout(helloTimer);
        void this.open(ws, tenantId, message, connection).then((opened) => {
          relay = opened;
          if (!opened) return;
          stopHeartbeat = keepAlive(ws, HEARTBEAT_MS, () => void this.options.relays.seen(opened, this.options.holder).catch(() => undefined));
        });
      }
    });
    ws.on('close', () => {
      clearTimeout(helloTimer);
      stopHeartbeat();
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
      sendRefusal(ws, err);
      return null;
    }
  }

  private left(relay: RelaySubscription, connection: RelayConnection): void {
    const { clients, relays, holder, logger } = this.options;
    // A connection replaced by the client's newer one here leaves nothing to record: the relay still has its client.
    if (!clients.detach(relay.id, connection)) return;
    logger.info({ relayId: relay.id }, 'listen client disconnected');
    const recording = relays.left(relay.tenantId, relay.id, holder).catch((err: unknown) => logger.warn({ relayId: relay.id, err: errorMessage(err) }, 'could not record that a listen client left'));
    // Removed once it has had no client for its keep (a reconnect anywhere meanwhile keeps it).
    this.sockets.left(recording, relay.relay.keepSeconds, () =>
      relays.removeIfIdle(relay.tenantId, relay.id).then(
        (removed) => removed && logger.info({ relayId: relay.id }, 'relay removed: no listen client for its keep'),
        (err: unknown) => logger.warn({ relayId: relay.id, err: errorMessage(err) }, 'could not remove an idle relay'),
      ),
    );
  }
}
