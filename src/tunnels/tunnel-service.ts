import { randomBytes, timingSafeEqual } from 'node:crypto';
import { systemClock } from '../core/clock';
import type { Clock } from '../core/clock';
import { HubError } from '../core/errors';
import { newId, sha256Hex } from '../core/ids';
import type { Page, PageRequest } from '../core/page';
import { HOLDER_STALE_MS } from '../subscriptions/relay-service';
import type { TunnelRecord } from './model';
import type { TunnelStore } from './ports';

/** How long a tunnel is kept without a client unless the client asks otherwise (`hookhub tunnel --keep`). */
export const DEFAULT_TUNNEL_KEEP_SECONDS = 600;
const MAX_KEEP_SECONDS = 86_400;
/** Where every tunnel's public URL lives: `<HOOKHUB_PUBLIC_URL>/t/<token>/`. */
export const TUNNEL_PREFIX = '/t/';

/** What a new client asks for. */
export interface TunnelHello {
  /** The local URL it forwards to (informative). */
  target?: unknown;
  keepSeconds?: unknown;
}

export interface OpenedTunnel {
  record: TunnelRecord;
  /** Shown to the client once: the URL's token, and the key it resumes the tunnel with after a reconnect. */
  token: string;
  resumeKey: string;
}

/** A tunnel as the API lists it: whether a client is connected, never its token. */
export interface TunnelView {
  id: string;
  target: string;
  connected: boolean;
  keepSeconds: number;
  lastSeenAt: string;
  createdAt: string;
}

/** Opens, resumes, finds, lists and closes tunnels; their public URL lives as long as a client comes back within its keep. */
export class TunnelService {
  private readonly clock: Clock;

  constructor(
    private readonly store: TunnelStore,
    clock?: Clock,
  ) {
    this.clock = clock ?? systemClock;
  }

  /** A new tunnel whose client `holder` (this process) holds from now on. */
  async open(tenantId: string, apiKeyId: string, request: TunnelHello, holder: string): Promise<OpenedTunnel> {
    const keep = request.keepSeconds ?? DEFAULT_TUNNEL_KEEP_SECONDS;
    if (typeof keep !== 'number' || !Number.isInteger(keep) || keep < 1 || keep > MAX_KEEP_SECONDS) {
      throw new HubError('validation_failed', `keepSeconds must be a whole number of seconds from 1 to ${MAX_KEEP_SECONDS}.`, { status: 400 });
    }
    const target = typeof request.target === 'string' ? request.target.slice(0, 2048) : '';
    const token = randomBytes(16).toString('base64url');
    const resumeKey = randomBytes(16).toString('base64url');
    const now = new Date(this.clock.now());
    const record: TunnelRecord = {
      id: newId('tun'),
      tenantId,
      tokenHash: sha256Hex(token),
      resumeHash: sha256Hex(resumeKey),
      target,
      apiKeyId,
      holder,
      lastSeenAt: now,
      keepSeconds: keep,
      createdAt: now,
    };
    await this.store.insertTunnel(record);
    return { record, token, resumeKey };
  }

  /** The tenant's tunnel taken back by a client that shows its resume key (a reconnect, to any process). */
  async resume(tenantId: string, id: unknown, resumeKey: unknown, holder: string): Promise<TunnelRecord> {
    const record = typeof id === 'string' ? await this.store.getTunnel(tenantId, id) : null;
    if (!record || this.expired(record)) throw gone(typeof id === 'string' ? id : '');
    if (typeof resumeKey !== 'string' || !sameHash(sha256Hex(resumeKey), record.resumeHash)) {
      throw new HubError('unauthorized', 'The resume key does not belong to this tunnel. Start `hookhub tunnel` again for a new URL.', { status: 401 });
    }
    return this.place(record, holder);
  }

  /**
   * The holder still has the client (a heartbeat): `held` when recorded; `elsewhere` when another process holds it
   * by now (this connection is stale); `gone` when the tunnel was closed through the API.
   */
  async seen(record: TunnelRecord, holder: string): Promise<'held' | 'elsewhere' | 'gone'> {
    if (await this.store.setTunnelHolder(record.id, holder, new Date(this.clock.now()), holder)) return 'held';
    return (await this.store.getTunnel(record.tenantId, record.id)) ? 'elsewhere' : 'gone';
  }

  /** The client left `holder`: unless it is held elsewhere by now, the tunnel has no client from now on. */
  async left(record: TunnelRecord, holder: string): Promise<void> {
    await this.store.setTunnelHolder(record.id, null, new Date(this.clock.now()), holder);
  }

  /** Removes the tunnel when it has had no client for its keep; true when it did. */
  async removeIfIdle(tenantId: string, id: string): Promise<boolean> {
    const current = await this.store.getTunnel(tenantId, id);
    return current !== null && this.expired(current) && this.store.deleteTunnel(tenantId, id);
  }

  /** The tunnel whose public URL has this token; null for an unknown token or a tunnel past its keep. */
  async byToken(token: string): Promise<TunnelRecord | null> {
    const record = await this.store.findTunnelByTokenHash(sha256Hex(token));
    if (!record) return null;
    if (!this.expired(record)) return record;
    await this.store.deleteTunnel(record.tenantId, record.id);
    return null;
  }

  /** The tenant's tunnels; those past their keep are removed on the way. */
  async list(tenantId: string, page: PageRequest): Promise<Page<TunnelView>> {
    const found = await this.store.listTunnels(tenantId, page);
    const live: TunnelView[] = [];
    for (const record of found.data) {
      if (this.expired(record)) await this.store.deleteTunnel(tenantId, record.id);
      else live.push(this.view(record));
    }
    return { data: live, nextCursor: found.nextCursor };
  }

  /** Closes the tenant's tunnel: its URL answers 404 from now on. */
  async close(tenantId: string, id: string): Promise<TunnelRecord> {
    const record = await this.store.getTunnel(tenantId, id);
    if (!record || !(await this.store.deleteTunnel(tenantId, id))) throw gone(id);
    return record;
  }

  /** A client holds it: the holder named it within HOLDER_STALE_MS (a holder that died stops confirming it). */
  connected(record: TunnelRecord): boolean {
    return record.holder !== null && this.clock.now() - record.lastSeenAt.getTime() < HOLDER_STALE_MS;
  }

  view(record: TunnelRecord): TunnelView {
    return {
      id: record.id,
      target: record.target,
      connected: this.connected(record),
      keepSeconds: record.keepSeconds,
      lastSeenAt: record.lastSeenAt.toISOString(),
      createdAt: record.createdAt.toISOString(),
    };
  }

  /** No client for longer than its keep. */
  private expired(record: TunnelRecord): boolean {
    return !this.connected(record) && this.clock.now() - record.lastSeenAt.getTime() >= record.keepSeconds * 1000;
  }

  private async place(record: TunnelRecord, holder: string): Promise<TunnelRecord> {
    const now = new Date(this.clock.now());
    if (!(await this.store.setTunnelHolder(record.id, holder, now))) throw gone(record.id);
    return { ...record, holder, lastSeenAt: now };
  }
}

function gone(id: string): HubError {
  return new HubError('tunnel_not_found', `No tunnel ${id} of this tenant: it was closed, or removed after its keep without a client. Start \`hookhub tunnel\` again for a new URL.`, {
    status: 404,
  });
}

function sameHash(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}
