import type { Page, PageRequest } from '../core/page';
import type { TunnelRecord } from './model';

/** Where the hub keeps tunnels (so every process finds a tunnel's URL and the API lists them). */
export interface TunnelStore {
  /** A second insert of an id or a token hash is reported (a duplicate key error), not applied. */
  insertTunnel(record: TunnelRecord): Promise<void>;
  /** The tenant's tunnel, or null (another tenant's reads as absent). */
  getTunnel(tenantId: string, id: string): Promise<TunnelRecord | null>;
  /** The tunnel whose URL token hashes to `tokenHash`, of any tenant (the public URL names no tenant). */
  findTunnelByTokenHash(tokenHash: string): Promise<TunnelRecord | null>;
  /** The tenant's tunnels, newest first. */
  listTunnels(tenantId: string, page: PageRequest): Promise<Page<TunnelRecord>>;
  /**
   * Records who holds the tunnel's client and when it was last seen; with `onlyIfHolder`, only while that process
   * still holds it (a client that left one process must not undo its arrival at another). True when changed.
   */
  setTunnelHolder(id: string, holder: string | null, lastSeenAt: Date, onlyIfHolder?: string): Promise<boolean>;
  /** True when it was there. */
  deleteTunnel(tenantId: string, id: string): Promise<boolean>;
}
