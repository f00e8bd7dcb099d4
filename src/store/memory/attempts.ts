import { idTimeBound } from '../../core/ids';
import type { Retention } from '../../jobs/ports';
import type { AttemptLog } from '../../pipeline/ports';
import { clone, cloneOrNull, ownedBy, paginate } from './tables';
import type { MemoryTables } from './tables';

/** The delivery log in memory, by attempt id. */
export function memoryAttemptLog(tables: MemoryTables): AttemptLog & Pick<Retention, 'purgeAttemptsBefore' | 'purgeTenantAttemptsBefore'> {
  const attempts = tables.attempts;
  return {
    async recordAttempts(records) {
      for (const record of records) if (!attempts.has(record.id)) attempts.set(record.id, clone(record));
    },
    async listAttempts(tenantId, query) {
      return paginate(
        [...attempts.values()].filter(
          (a) =>
            a.tenantId === tenantId &&
            (query.subscriptionId === undefined || a.subscriptionId === query.subscriptionId) &&
            (query.eventId === undefined || a.eventId === query.eventId) &&
            (query.status === undefined || a.status === query.status) &&
            (query.eventType === undefined || a.eventType === query.eventType) &&
            // By id, as the MongoDB adapter does: attempt ids are time-ordered.
            (query.since === undefined || a.id >= idTimeBound('att', query.since)) &&
            (query.until === undefined || a.id < idTimeBound('att', query.until)),
        ),
        query,
      );
    },
    async getAttempt(tenantId, id) {
      return cloneOrNull(ownedBy(attempts, tenantId, id));
    },
    async haveSucceeded(deliveries) {
      const all = [...attempts.values()];
      return deliveries.map((d) => all.some((a) => a.status === 'succeeded' && a.tenantId === d.tenantId && a.eventId === d.eventId && a.subscriptionId === d.subscriptionId));
    },
    async countPendingRetries(tenantId, now) {
      return [...attempts.values()].filter((a) => a.tenantId === tenantId && a.next === 'retry' && a.nextAttemptAt !== null && a.nextAttemptAt > now).length;
    },
    async purgeAttemptsBefore(before, exceptTenants = []) {
      let purged = 0;
      for (const [id, a] of attempts) if (a.createdAt < before && !exceptTenants.includes(a.tenantId) && attempts.delete(id)) purged++;
      return purged;
    },
    async purgeTenantAttemptsBefore(tenantId, before) {
      let purged = 0;
      for (const [id, a] of attempts) if (a.tenantId === tenantId && a.createdAt < before && attempts.delete(id)) purged++;
      return purged;
    },
  };
}
