import type { OrderedLanes } from '../../pipeline/ports';
import { clone, cloneOrNull } from './tables';
import type { MemoryTables } from './tables';

/** Ordered lanes and their backlogs in memory. */
export function memoryOrderedLanes(tables: MemoryTables): OrderedLanes {
  const { orderedLanes: lanes, backlogs } = tables;
  return {
    async getLane(id) {
      return cloneOrNull(lanes.get(id));
    },
    async saveLane(lane) {
      lanes.set(lane.id, clone(lane));
    },
    async deleteLane(id) {
      lanes.delete(id);
    },
    async addToBacklog(entry) {
      const backlog = backlogs.get(entry.laneId) ?? new Map();
      backlogs.set(entry.laneId, backlog);
      if (!backlog.has(entry.webhookId)) backlog.set(entry.webhookId, clone(entry));
    },
    async firstInBacklog(laneId) {
      const entries = [...(backlogs.get(laneId)?.values() ?? [])];
      const first = entries.reduce<(typeof entries)[number] | undefined>((min, e) => (min === undefined || e.seq < min.seq ? e : min), undefined);
      return cloneOrNull(first);
    },
    async removeFromBacklog(laneId, webhookId) {
      const backlog = backlogs.get(laneId);
      backlog?.delete(webhookId);
      if (backlog?.size === 0) backlogs.delete(laneId);
    },
  };
}
