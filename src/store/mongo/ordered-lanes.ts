import type { DeliveryJob } from '../../broker/port';
import type { BacklogEntry, OrderedLane } from '../../pipeline/model';
import type { OrderedLanes } from '../../pipeline/ports';
import type { MongoDatabase } from './database';
import type { Doc } from './documents';

/** Ordered lanes in `ordered_lanes`, their backlogs in `ordered_backlog` (the job as JSON). */
export function mongoOrderedLanes(db: MongoDatabase): OrderedLanes {
  const lanes = () => db.models.orderedLanes;
  const backlog = () => db.models.backlog;
  return {
    async getLane(id) {
      const doc = await lanes().findOne({ _id: id }).lean<Doc>();
      return doc ? fromLaneDoc(doc) : null;
    },

    async saveLane(lane) {
      const { id, ...rest } = lane;
      await lanes().replaceOne({ _id: id }, rest, { upsert: true });
    },

    async deleteLane(id) {
      await lanes().deleteOne({ _id: id });
    },

    async addToBacklog(entry) {
      const { job, ...rest } = entry;
      try {
        await backlog().collection.insertOne({ _id: `${entry.laneId}:${entry.webhookId}`, ...rest, jobJson: JSON.stringify(job) } as never);
      } catch (err) {
        // Added before (a redelivered message): it keeps its place.
        if ((err as { code?: unknown }).code !== 11000) throw err;
      }
    },

    async firstInBacklog(laneId) {
      const doc = await backlog().findOne({ laneId }).sort({ seq: 1 }).lean<Doc>();
      return doc ? fromBacklogDoc(doc) : null;
    },

    async removeFromBacklog(laneId, webhookId) {
      await backlog().deleteOne({ _id: `${laneId}:${webhookId}` });
    },
  };
}

function fromLaneDoc(doc: Doc): OrderedLane {
  const dead = Array.isArray(doc['dead']) ? (doc['dead'] as Doc[]) : [];
  return {
    id: String(doc['_id']),
    tenantId: String(doc['tenantId']),
    subscriptionId: String(doc['subscriptionId']),
    key: String(doc['key']),
    heldBy: typeof doc['heldBy'] === 'string' ? doc['heldBy'] : null,
    heldSince: doc['heldSince'] instanceof Date ? doc['heldSince'] : null,
    tail: Number(doc['tail'] ?? 0),
    dead: dead.map((d) => ({ id: String(d['id']), overtakers: Number(d['overtakers'] ?? 0) })),
    updatedAt: doc['updatedAt'] instanceof Date ? doc['updatedAt'] : new Date(0),
  };
}

function fromBacklogDoc(doc: Doc): BacklogEntry {
  return {
    laneId: String(doc['laneId']),
    seq: Number(doc['seq']),
    webhookId: String(doc['webhookId']),
    job: JSON.parse(String(doc['jobJson'])) as DeliveryJob,
    addedAt: doc['addedAt'] as Date,
  };
}
