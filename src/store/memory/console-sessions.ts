import type { ConsoleSessions } from '../../access/ports';
import { clone, cloneOrNull, duplicateKey } from './tables';
import type { MemoryTables } from './tables';

/** Console sessions in memory, by the hash of their token. */
export function memoryConsoleSessions(tables: MemoryTables): ConsoleSessions {
  const sessions = tables.consoleSessions;
  return {
    async insertConsoleSession(record) {
      if (sessions.has(record.id)) throw duplicateKey();
      sessions.set(record.id, clone(record));
    },
    async findConsoleSession(id) {
      return cloneOrNull(sessions.get(id));
    },
    async deleteConsoleSession(id) {
      return sessions.delete(id);
    },
    async purgeConsoleSessionsBefore(before) {
      let purged = 0;
      for (const [id, session] of sessions) {
        if (session.expiresAt.getTime() < before.getTime() && sessions.delete(id)) purged++;
      }
      return purged;
    },
  };
}
