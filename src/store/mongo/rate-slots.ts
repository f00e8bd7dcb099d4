import type { Retention } from '../../jobs/ports';
import type { RateSlots } from '../../webhooks/rate-slots';
import type { MongoDatabase } from './database';
import { insertOnce } from './documents';

/** Rate slots in `rate_slots`: a slot is taken by inserting its id, which only one insert can do. */
export function mongoRateSlots(db: MongoDatabase): RateSlots & Pick<Retention, 'deleteRateSlotsBefore'> {
  return {
    claimRateSlot(key, bucket, slot) {
      return insertOnce(db.models.rateSlots, { _id: `${key}|${bucket}|${slot}`, at: new Date() });
    },

    async deleteRateSlotsBefore(before) {
      return (await db.models.rateSlots.deleteMany({ at: { $lt: before } })).deletedCount;
    },
  };
}
