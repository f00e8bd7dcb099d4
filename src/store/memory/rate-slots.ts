import type { Retention } from '../../jobs/ports';
import type { RateSlots } from '../../webhooks/rate-slots';
import type { MemoryTables } from './tables';

/** Rate slots in memory: a slot id is taken once. */
export function memoryRateSlots(tables: MemoryTables): RateSlots & Pick<Retention, 'deleteRateSlotsBefore'> {
  const slots = tables.rateSlots;
  return {
    async claimRateSlot(key, bucket, slot) {
      const id = `${key}|${bucket}|${slot}`;
      if (slots.has(id)) return false;
      slots.set(id, Date.now());
      return true;
    },
    async deleteRateSlotsBefore(before) {
      let deleted = 0;
      for (const [id, at] of slots) if (at < before.getTime() && slots.delete(id)) deleted++;
      return deleted;
    },
  };
}
