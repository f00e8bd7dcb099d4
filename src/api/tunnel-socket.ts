import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RawData, WebSocket } from 'ws';
import type { ApiKeyRecord } from '../access/model';
import type { ApiKeys } from '../access/ports';
import type { Clock } from '../core/clock';
import { errorMessage, HubError } from '../core/errors';
import { newId } from '../core/ids';
import type { Logger } from '../core/logger';
import { TunnelConnection } from '../tunnels/tunnel-connection';
import type { TunnelClients } from '../tunnels/tunnel-connection';
import type { TunnelRecord } from '../tunnels/model';
import { TUNNEL_PREFIX } from '../tunnels/tunnel-service';
import type { TunnelService } from '../tunnels/tunnel-service';
import type { AuditTrail } from './audit';
import { authorizeUpgrade, ClientSockets, keepAlive, parseFrame, refuse, sendRefusal, upgradeFailure } from './hub-socket';
import type { SocketFrame } from './hub-socket';

/** Where `hookhub tunnel` connects (a WebSocket upgrade with `Authorization: Bearer <key>`). */
export const TUNNEL_PATH = '/v1/tunnel';
/** How often the holder confirms its client (the tunnel's lastSeenAt) and checks it was not closed elsewhere. */
const HEARTBEAT_MS = 20_000;
const HELLO_TIMEOUT_MS = 10_000;
/** Room for the frame around a body in base64. */
const FRAME_OVERHEAD_BYTES = 256 * 1024;

export interface TunnelSocketOptions {
  enabled: boolean;
  keys: ApiKeys;
  tunnels: TunnelService;
  clients: TunnelClients;
  audit: AuditTrail;
  /** This process, as tunnels name their holder. */
  holder: string;
  publicUrl: string;
  timeoutMs: number;
  requestsPerMinute: number;
  maxBodyBytes: number;
  clock: Clock;
  logger: Logger;
}

export function tunnelsDisabled(): HubError {
  return new HubError('tunnels_disabled', 'Tunnels (hookhub tunnel) are turned off on this hub (HOOKHUB_TUNNELS=false). Ask its operator to turn them on, or expose your local app another way.', { status: 503 });
}

/**
 * The hub's end of `hookhub tunnel`: authenticates the upgrade, opens (or resumes) the client's tunnel and keeps
 * it attached here while connected; once the client is gone for the tunnel's keep, the tunnel and its URL go.
 */
export class TunnelSocket {
  private readonly sockets: ClientSockets;

  constructor(private readonly options: TunnelSocketOptions) {
    this.sockets = new ClientSockets(Math.ceil((options.maxBodyBytes * 4) / 3) + FRAME_OVERHEAD_BYTES);
  }

  /** For the HTTP server's `upgrade` event, at TUNNEL_PATH. */
  readonly upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    this.authorize(req).then(
      (key) => this.sockets.server.handleUpgrade(req, socket, head, (ws) => this.accept(ws, key, req)),
      (err: unknown) => refuse(socket, upgradeFailure(err)),
    );
  };

  /** Closes every client (they reconnect to another process, keeping their URL) and records that they left. */
  close(): Promise<void> {
    return this.sockets.close();
  }

  private async authorize(req: IncomingMessage): Promise<ApiKeyRecord> {
    if (!this.options.enabled) throw tunnelsDisabled();
    return authorizeUpgrade(req, this.options.keys, 'tunnels:write', 'hookhub tunnel');
  }

  private accept(ws: WebSocket, key: ApiKeyRecord, req: IncomingMessage): void {
    let connection: TunnelConnection | null = null;
    let hello = false;
    let stopHeartbeat = (): void => undefined;
    const helloTimer = setTimeout(() => ws.close(4408, 'no hello'), HELLO_TIMEOUT_MS);
    ws.on('message', (data: RawData) => {
      const frame = parseFrame(data);
      if (frame?.type === 'response') connection?.answer(frame);
      else if (frame?.type === 'hello' && !hello) {
        hello = true;
        clearTimeout(helloTimer);
        void this.open(ws, key, frame, req).then((opened) => {
          connection = opened;
          if (!opened) return;
          stopHeartbeat = keepAlive(ws, HEARTBEAT_MS, () => void this.confirm(opened));
        });
      }
    });
    ws.on('close', () => {
      clearTimeout(helloTimer);
      stopHeartbeat();
      if (!connection) return;
      connection.closed();
      this.left(connection);
    });
    ws.on('error', (err) => this.options.logger.debug({ err: err.message }, 'tunnel client connection failed'));
  }

  private async open(ws: WebSocket, key: ApiKeyRecord, hello: SocketFrame, req: IncomingMessage): Promise<TunnelConnection | null> {
    const { tunnels, holder, clients, logger } = this.options;
    try {
      const resuming = hello['tunnelId'] !== undefined;
      let record: TunnelRecord;
      let fresh: { token: string; resumeKey: string } | null = null;
      if (resuming) record = await tunnels.resume(key.tenantId, hello['tunnelId'], hello['resumeKey'], holder);
      else {
        const opened = await tunnels.open(key.tenantId, key.id, { target: hello['target'], keepSeconds: hello['keepSeconds'] }, holder);
        record = opened.record;
        fresh = { token: opened.token, resumeKey: opened.resumeKey };
        this.audited(key, record, req);
      }
      if (ws.readyState !== ws.OPEN) {
        await tunnels.left(record, holder);
        return null;
      }
      const connection = new TunnelConnection(ws, record, {
        timeoutMs: this.options.timeoutMs,
        requestsPerMinute: this.options.requestsPerMinute,
        maxBodyBytes: this.options.maxBodyBytes,
        clock: this.options.clock,
      });
      // A stale connection of the same tunnel here (the client reconnected before its old socket closed) is dropped.
      clients.attach(connection)?.drop();
      ws.send(
        JSON.stringify({
          type: 'ready',
          tunnelId: record.id,
          ...(fresh ? { url: `${this.options.publicUrl}${TUNNEL_PREFIX}${fresh.token}/`, resumeKey: fresh.resumeKey } : {}),
          resumed: resuming,
          keepSeconds: record.keepSeconds,
          timeoutMs: this.options.timeoutMs,
          maxBodyBytes: this.options.maxBodyBytes,
        }),
      );
      logger.info({ tenantId: key.tenantId, tunnelId: record.id, resumed: resuming }, 'tunnel client connected');
      return connection;
    } catch (err) {
      sendRefusal(ws, err);
      return null;
    }
  }

  /** A heartbeat: the tunnel is still held here, unless it was closed through the API, or taken by another process. */
  private async confirm(connection: TunnelConnection): Promise<void> {
    const state = await this.options.tunnels.seen(connection.tunnel, this.options.holder).catch(() => 'held' as const);
    if (state === 'gone') connection.end('tunnel closed');
    else if (state === 'elsewhere') connection.drop();
  }

  /** Opening a tunnel is a change made with the key, recorded like the API's (creation happens on this socket). */
  private audited(key: ApiKeyRecord, record: TunnelRecord, req: IncomingMessage): void {
    this.options.audit.record({
      id: newId('aud'),
      tenantId: key.tenantId,
      action: 'tunnel.open',
      resourceType: 'tunnel',
      resourceId: record.id,
      fields: ['target', 'keepSeconds'],
      apiKeyId: key.id,
      apiKeyName: key.name,
      ip: req.socket.remoteAddress ?? null,
      userAgent: req.headers['user-agent']?.slice(0, 512) ?? null,
      status: 101,
      at: new Date(this.options.clock.now()),
    });
  }

  private left(connection: TunnelConnection): void {
    const { clients, tunnels, holder, logger } = this.options;
    const tunnel = connection.tunnel;
    // A connection replaced by the client's newer one here, or held elsewhere by now, leaves nothing to record.
    if (!clients.detach(connection)) return;
    logger.info({ tunnelId: tunnel.id }, 'tunnel client disconnected');
    const recording = tunnels.left(tunnel, holder).catch((err: unknown) => logger.warn({ tunnelId: tunnel.id, err: errorMessage(err) }, 'could not record that a tunnel client left'));
    // Removed once it has had no client for its keep (a reconnect anywhere meanwhile keeps it).
    this.sockets.left(recording, tunnel.keepSeconds, () =>
      tunnels.removeIfIdle(tunnel.tenantId, tunnel.id).then(
        (removed) => removed && logger.info({ tunnelId: tunnel.id }, 'tunnel removed: no client for its keep'),
        (err: unknown) => logger.warn({ tunnelId: tunnel.id, err: errorMessage(err) }, 'could not remove an idle tunnel'),
      ),
    );
  }
}
