import type { TunnelStore } from '../../tunnels/ports';
import { clone, cloneOrNull, duplicateKey, ownedBy, paginate } from './tables';
import type { MemoryTables } from './tables';

/** Tunnels in memory, by id; a token hash is unique as the database's index makes it. */
export function memoryTunnels(tables: MemoryTables): TunnelStore {
  return {
    async insertTunnel(record) {
      if (tables.tunnels.has(record.id) || [...tables.tunnels.values()].some((t) => t.tokenHash === record.tokenHash)) throw duplicateKey();
      tables.tunnels.set(record.id, clone(record));
    },
    async getTunnel(tenantId, id) {
      return cloneOrNull(ownedBy(tables.tunnels, tenantId, id));
    },
    async findTunnelByTokenHash(tokenHash) {
      return cloneOrNull([...tables.tunnels.values()].find((t) => t.tokenHash === tokenHash));
    },
    async listTunnels(tenantId, page) {
      return paginate([...tables.tunnels.values()].filter((t) => t.tenantId === tenantId), page);
    },
    async setTunnelHolder(id, holder, lastSeenAt, onlyIfHolder) {
      const current = tables.tunnels.get(id);
      if (!current || (onlyIfHolder !== undefined && current.holder !== onlyIfHolder)) return false;
      tables.tunnels.set(id, { ...current, holder, lastSeenAt: new Date(lastSeenAt) });
      return true;
    },
    async deleteTunnel(tenantId, id) {
      return ownedBy(tables.tunnels, tenantId, id) !== undefined && tables.tunnels.delete(id);
    },
  };
}
