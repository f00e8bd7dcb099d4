import type { DeadLetterRecord } from '../../pipeline/model';
import type { DeadLetters } from '../../pipeline/ports';
import { clone, cloneOrNull, duplicateKey, ownedBy, paginate } from './tables';
import type { MemoryTables } from './tables';

/** Dead letters in memory. */
export function memoryDeadLetters(tables: MemoryTables): DeadLetters {
  const deadLetters = tables.deadLetters;
  const oldestFirst = (found: DeadLetterRecord[]): DeadLetterRecord[] => found.sort((a, b) => (a.id < b.id ? -1 : 1)).map(clone);
  return {
    async insertDeadLetter(record) {
      if (deadLetters.has(record.id)) throw duplicateKey();
      deadLetters.set(record.id, clone(record));
    },
    async getDeadLetter(tenantId, id) {
      return cloneOrNull(ownedBy(deadLetters, tenantId, id));
    },
    async listDeadLetters(tenantId, query) {
      return paginate(
        [...deadLetters.values()].filter((d) => d.tenantId === tenantId && (query.subscriptionId === undefined || d.subscriptionId === query.subscriptionId)),
        query,
      );
    },
    async findDeadLettersBetween(tenantId, subscriptionId, since, until) {
      return oldestFirst(
        [...deadLetters.values()].filter(
          (d) => d.tenantId === tenantId && d.subscriptionId === subscriptionId && d.replayedAt === null && d.createdAt >= since && d.createdAt < until,
        ),
      );
    },
    async findDeadLettersByReason(tenantId, subscriptionIds, reason) {
      return oldestFirst(
        [...deadLetters.values()].filter((d) => d.tenantId === tenantId && subscriptionIds.includes(d.subscriptionId) && d.reason === reason && d.replayedAt === null),
      );
    },
    async findDeadLettersOfBatch(tenantId, batchId) {
      return [...deadLetters.values()]
        .filter((d) => d.tenantId === tenantId && d.batch?.id === batchId)
        .sort((a, b) => (a.batch?.index ?? 0) - (b.batch?.index ?? 0))
        .map(clone);
    },
    async countDeadLettersByReason(tenantId) {
      const counts: Partial<Record<DeadLetterRecord['reason'], number>> = {};
      for (const d of deadLetters.values()) if (d.tenantId === tenantId && d.replayedAt === null) counts[d.reason] = (counts[d.reason] ?? 0) + 1;
      return counts;
    },
    async markDeadLetterReplayed(tenantId, id, at) {
      const found = ownedBy(deadLetters, tenantId, id);
      if (found) {
        found.replayedAt = at;
        found.replayCount += 1;
      }
    },
    async addOvertaker(tenantId, id, eventId) {
      const found = ownedBy(deadLetters, tenantId, id);
      if (found && found.replayedAt === null && !found.overtakenBy?.includes(eventId)) found.overtakenBy = [...(found.overtakenBy ?? []), eventId];
    },
  };
}
