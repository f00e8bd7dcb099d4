import type { QueueDepth, QueueRole } from '../broker/port';
import type { DeadLetterReason } from '../subscriptions/model';

/** The order roles are shown in: the way a message travels, then where messages are set aside. */
const ROLE_ORDER: readonly QueueRole[] = ['router', 'router_suspect', 'deliveries', 'deliveries_suspect', 'retry', 'invalid', 'events_poison', 'deliveries_poison', 'dead_letters'];

/** The broker's depths, summed per role (the retry ladder's tiers together), and every queue as read (each tier apart). */
export function brokerDepthsView(depths: readonly QueueDepth[], at: Date): Record<string, unknown> {
  const roles = ROLE_ORDER.filter((role) => depths.some((q) => q.role === role)).map((role) => {
    const queues = depths.filter((q) => q.role === role);
    const unknown = queues.some((q) => q.unacknowledged === null);
    return {
      role,
      ready: queues.reduce((sum, q) => sum + q.ready, 0),
      unacknowledged: unknown ? null : queues.reduce((sum, q) => sum + (q.unacknowledged ?? 0), 0),
      consumers: queues.reduce((sum, q) => sum + q.consumers, 0),
    };
  });
  const queues = depths.map((q) => ({ role: q.role, queue: q.queue, tierSeconds: q.tierSeconds ?? null, ready: q.ready, unacknowledged: q.unacknowledged, consumers: q.consumers }));
  return { at: at.toISOString(), roles, queues };
}

/** A tenant's own backlog: retries still to come, and dead letters not yet replayed (those parked by the quota apart). */
export function tenantBacklogView(pendingRetries: number, deadLetters: Partial<Record<DeadLetterReason, number>>): Record<string, unknown> {
  const total = Object.values(deadLetters).reduce((sum, n) => sum + (n ?? 0), 0);
  return {
    waitingForRetry: pendingRetries,
    pausedByQuota: deadLetters.quota_exceeded ?? 0,
    deadLetters: { total, byReason: deadLetters },
  };
}
