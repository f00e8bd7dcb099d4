import type { SealedValue, SealedValues } from '../../secrets/sealed-values';
import type { MemoryTables } from './tables';

/** Sealed values are the fields named *sealed (any case) of subscriptions, connections and OAuth states. */
export function memorySealedValues(tables: MemoryTables): SealedValues {
  const maps = (): Record<SealedValue['collection'], Map<string, object>> => ({
    subscriptions: tables.subscriptions,
    connections: tables.connections,
    oauth_states: tables.oauthStates,
  });
  return {
    async *scanSealed() {
      for (const [collection, map] of Object.entries(maps()) as Array<[SealedValue['collection'], Map<string, object>]>) {
        for (const [id, record] of map) {
          for (const [field, value] of Object.entries(record)) {
            if (/sealed$/i.test(field) && typeof value === 'string' && value !== '') yield { collection, id, field, value };
          }
        }
      }
    },
    async replaceSealed(found, value) {
      const record = maps()[found.collection].get(found.id) as Record<string, unknown> | undefined;
      if (!record || record[found.field] !== found.value) return false;
      record[found.field] = value;
      return true;
    },
  };
}
