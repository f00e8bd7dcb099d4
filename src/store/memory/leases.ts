import type { Leases } from '../../integrations/ports';
import type { MemoryTables } from './tables';

/** Leases in memory: one process, so a check and a set are enough. */
export function memoryLeases(tables: MemoryTables): Leases {
  const leases = tables.leases;
  return {
    async acquireLease(name, owner, ttlMs) {
      const now = Date.now();
      const held = leases.get(name);
      if (held && held.owner !== owner && held.expiresAt > now) return false;
      leases.set(name, { owner, expiresAt: now + ttlMs });
      return true;
    },
    async releaseLease(name, owner) {
      if (leases.get(name)?.owner === owner) leases.delete(name);
    },
  };
}
