import type { ConfirmChannel } from 'amqplib';
import type { QueueRole } from '../port';
import { ORDERED_SHARDS } from '../port';

/** Retry tiers, in seconds: powers of two from 1 s to about 18 h. A delay is walked down the ladder. */
export const RETRY_TIERS_S: readonly number[] = Array.from({ length: 17 }, (_, i) => 2 ** i);

export interface TopologyNames {
  eventsExchange: string;
  routerQueue: string;
  /** Router messages that came back unsettled twice, handled one at a time to find the one that kills the consumer. */
  routerSuspectQueue: string;
  invalidQueue: string;
  eventsPoisonQueue: string;
  deliveriesQueue: string;
  /** The same for delivery messages, split into one message per target. */
  deliveriesSuspectQueue: string;
  deliveriesPoisonQueue: string;
  deadLetterQueue: string;
  retryQueue(tierSeconds: number): string;
  /** The ordered shards: one consumer among all processes each (single active consumer), one job at a time. */
  orderedQueue(shard: number): string;
}

export function topologyNames(prefix: string): TopologyNames {
  return {
    eventsExchange: `${prefix}.events`,
    routerQueue: `${prefix}.router`,
    routerSuspectQueue: `${prefix}.router.suspect`,
    invalidQueue: `${prefix}.events.invalid`,
    eventsPoisonQueue: `${prefix}.events.poison`,
    deliveriesQueue: `${prefix}.deliveries`,
    deliveriesSuspectQueue: `${prefix}.deliveries.suspect`,
    deliveriesPoisonQueue: `${prefix}.deliveries.poison`,
    deadLetterQueue: `${prefix}.dead-letters`,
    retryQueue: (tier) => `${prefix}.retry.${tier}s`,
    orderedQueue: (shard) => `${prefix}.ordered.${shard}`,
  };
}

/**
 * RabbitMQ's own backstop against crash loops. The consumers park a poison message
 * long before this (see amqp-broker.ts); it stays 50 on the work queues because
 * changing a queue argument makes RabbitMQ refuse the declaration of an existing
 * queue (PRECONDITION_FAILED) on every installation that upgrades.
 */
const DELIVERY_LIMIT = 50;
/** The suspect queues are newer: their backstop could be set low from the start. */
const SUSPECT_DELIVERY_LIMIT = 10;

const quorum = { 'x-queue-type': 'quorum' };

function deadLetteringTo(queue: string): Record<string, unknown> {
  return {
    'x-dead-letter-exchange': '',
    'x-dead-letter-routing-key': queue,
    'x-dead-letter-strategy': 'at-least-once',
    'x-overflow': 'reject-publish',
  };
}

/** Declares everything; idempotent, and re-run on every reconnect. */
export async function declareTopology(channel: ConfirmChannel, names: TopologyNames, orderedShards: number = ORDERED_SHARDS): Promise<void> {
  await channel.assertExchange(names.eventsExchange, 'topic', { durable: true });
  for (const parked of [names.invalidQueue, names.eventsPoisonQueue, names.deliveriesPoisonQueue]) {
    await channel.assertQueue(parked, { durable: true, arguments: quorum });
  }
  // A tap for operators' tooling; the stored dead-letter record is the one that is replayed.
  await channel.assertQueue(names.deadLetterQueue, {
    durable: true,
    arguments: { ...quorum, 'x-max-length': 100_000 },
  });
  await channel.assertQueue(names.routerQueue, {
    durable: true,
    arguments: { ...quorum, 'x-delivery-limit': DELIVERY_LIMIT, ...deadLetteringTo(names.eventsPoisonQueue) },
  });
  await channel.bindQueue(names.routerQueue, names.eventsExchange, '#');
  await channel.assertQueue(names.routerSuspectQueue, {
    durable: true,
    arguments: { ...quorum, 'x-delivery-limit': SUSPECT_DELIVERY_LIMIT, ...deadLetteringTo(names.eventsPoisonQueue) },
  });
  await channel.assertQueue(names.deliveriesQueue, {
    durable: true,
    arguments: { ...quorum, 'x-delivery-limit': DELIVERY_LIMIT, ...deadLetteringTo(names.deliveriesPoisonQueue) },
  });
  await channel.assertQueue(names.deliveriesSuspectQueue, {
    durable: true,
    arguments: { ...quorum, 'x-delivery-limit': SUSPECT_DELIVERY_LIMIT, ...deadLetteringTo(names.deliveriesPoisonQueue) },
  });
  for (let shard = 0; shard < orderedShards; shard++) {
    await channel.assertQueue(names.orderedQueue(shard), {
      durable: true,
      arguments: { ...quorum, 'x-single-active-consumer': true, 'x-delivery-limit': DELIVERY_LIMIT, ...deadLetteringTo(names.deliveriesPoisonQueue) },
    });
  }
  for (const tier of RETRY_TIERS_S) {
    await channel.assertQueue(names.retryQueue(tier), {
      durable: true,
      arguments: { ...quorum, 'x-message-ttl': tier * 1000, ...deadLetteringTo(names.deliveriesQueue) },
    });
  }
}

/** Every queue, for tests and teardown. */
export function allQueues(names: TopologyNames, orderedShards: number = ORDERED_SHARDS): string[] {
  return [
    names.routerQueue,
    names.routerSuspectQueue,
    names.invalidQueue,
    names.eventsPoisonQueue,
    names.deliveriesQueue,
    names.deliveriesSuspectQueue,
    names.deliveriesPoisonQueue,
    names.deadLetterQueue,
    ...RETRY_TIERS_S.map((t) => names.retryQueue(t)),
    ...Array.from({ length: orderedShards }, (_, shard) => names.orderedQueue(shard)),
  ];
}

/** Every queue with what it is for (a retry tier with its delay), in the order operators read them. */
export function queueRoles(names: TopologyNames): Array<{ role: QueueRole; queue: string; tierSeconds?: number }> {
  return [
    { role: 'router', queue: names.routerQueue },
    { role: 'router_suspect', queue: names.routerSuspectQueue },
    { role: 'deliveries', queue: names.deliveriesQueue },
    { role: 'deliveries_suspect', queue: names.deliveriesSuspectQueue },
    ...RETRY_TIERS_S.map((t) => ({ role: 'retry' as const, queue: names.retryQueue(t), tierSeconds: t })),
    { role: 'invalid', queue: names.invalidQueue },
    { role: 'events_poison', queue: names.eventsPoisonQueue },
    { role: 'deliveries_poison', queue: names.deliveriesPoisonQueue },
    { role: 'dead_letters', queue: names.deadLetterQueue },
  ];
}

/**
 * The tier for the next hop of a delay: the largest tier not above it, so each hop
 * brings the message closer to its due time and it is never early. A remainder
 * under one second takes the 1 s tier (at most 1 s late).
 */
export function tierFor(remainingMs: number): number {
  let chosen = RETRY_TIERS_S[0] as number;
  for (const tier of RETRY_TIERS_S) if (tier * 1000 <= remainingMs) chosen = tier;
  return chosen;
}
