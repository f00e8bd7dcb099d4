import type { EventEnvelope } from '../../events/envelope';
import type { Broker, ConsumeOptions, Consumer, DeliveryJob, Handover, InboundEvent, ParkedEvent, PoisonedMessage, QueueDepth } from '../port';
import { ORDERED_SHARDS, orderedShardOf, orderingLaneId } from '../port';
import { MemoryQueue } from './memory-queue';
import type { MemoryConsumeOptions, MemoryQueueOptions } from './memory-queue';

/**
 * The embedded broker: the same contract as RabbitMQ, inside one process.
 * Messages are copied through JSON so no caller shares objects with a consumer.
 */
export class MemoryBroker implements Broker {
  private readonly events: MemoryQueue<InboundEvent>;
  private readonly deliveries: MemoryQueue<DeliveryJob>;
  private readonly ordered: Array<MemoryQueue<DeliveryJob>>;
  readonly parked: ParkedEvent[] = [];
  readonly deadLetters: Array<{ job: DeliveryJob; reason: string }> = [];
  /** Messages set aside as poison (what RabbitMQ keeps in the poison queues). */
  readonly poisoned: PoisonedMessage[] = [];
  private ready = false;

  constructor(options: MemoryQueueOptions & { orderedShards?: number } = {}) {
    const { orderedShards = ORDERED_SHARDS, ...queueOptions } = options;
    this.events = new MemoryQueue(queueOptions);
    this.deliveries = new MemoryQueue(queueOptions);
    this.ordered = Array.from({ length: orderedShards }, () => new MemoryQueue<DeliveryJob>({ ...queueOptions, inOrder: true }));
  }

  async start(): Promise<void> {
    this.ready = true;
  }

  async close(): Promise<void> {
    this.ready = false;
    this.events.close();
    this.deliveries.close();
    for (const shard of this.ordered) shard.close();
  }

  isReady(): boolean {
    return this.ready;
  }

  async publishEvent(envelope: EventEnvelope, scopeTenantId: string | null): Promise<void> {
    this.events.push({ body: Buffer.from(JSON.stringify(envelope)), scopeTenantId, redelivered: false });
  }

  /** Raw bytes as the directory backend would publish them (tests of invalid input). */
  async publishRawEvent(body: Buffer): Promise<void> {
    this.events.push({ body, scopeTenantId: null, redelivered: false });
  }

  async consumeEvents(handler: (event: InboundEvent) => Promise<void>, options: ConsumeOptions): Promise<Consumer> {
    const stop = this.events.consume(
      (event, redelivered) => handler(redelivered ? { ...event, redelivered } : event),
      this.consumeOptions(options, (event, deliveries) => {
        const envelope = readJson(event.body) as { id?: unknown; type?: unknown } | null;
        return {
          source: 'events',
          deliveries,
          parkedIn: 'memory',
          eventId: typeof envelope?.id === 'string' ? envelope.id : null,
          eventType: typeof envelope?.type === 'string' ? envelope.type : null,
          scopeTenantId: event.scopeTenantId,
          jobs: [],
        };
      }),
    );
    return { cancel: async () => stop() };
  }

  async parkInvalidEvent(event: ParkedEvent): Promise<void> {
    this.parked.push(event);
  }

  async publishDeliveries(jobs: readonly DeliveryJob[]): Promise<void> {
    for (const job of jobs) this.queueOf(job).push(copy(job));
  }

  async scheduleDelivery(job: DeliveryJob, delayMs: number): Promise<void> {
    this.queueOf(job).pushLater(copy(job), Math.max(0, delayMs));
  }

  async consumeOrderedDeliveries(handler: (job: DeliveryJob, handover: Handover) => Promise<void>, options: ConsumeOptions): Promise<Consumer> {
    const stops = this.ordered.map((shard) =>
      shard.consume((job, redelivered) => handler(job, { redelivered }), this.consumeOptions({ ...options, prefetch: 1 }, deliveryPoison)),
    );
    return { cancel: async () => stops.forEach((stop) => stop()) };
  }

  /** An ordered job goes to its key's shard; the others to the shared queue. */
  private queueOf(job: DeliveryJob): MemoryQueue<DeliveryJob> {
    if (!job.ordering) return this.deliveries;
    return this.ordered[orderedShardOf(orderingLaneId(job.subscriptionId, job.ordering.key), this.ordered.length)] as MemoryQueue<DeliveryJob>;
  }

  async consumeDeliveries(handler: (job: DeliveryJob, handover: Handover) => Promise<void>, options: ConsumeOptions): Promise<Consumer> {
    const stop = this.deliveries.consume(
      (job, redelivered) => handler(job, { redelivered }),
      this.consumeOptions(options, deliveryPoison),
    );
    return { cancel: async () => stop() };
  }

  async publishDeadLetter(job: DeliveryJob, reason: string): Promise<void> {
    this.deadLetters.push({ job: copy(job), reason });
    if (this.deadLetters.length > 10_000) this.deadLetters.shift();
  }

  /**
   * The in-process queues, named as RabbitMQ's roles: scheduled jobs are one retry entry (timers,
   * no tiers), and there are no suspect queues. Parked lists have no consumers.
   */
  async queueDepths(): Promise<QueueDepth[]> {
    const events = this.events.stats();
    const deliveries = this.deliveries.stats();
    const parked = (role: QueueDepth['role'], ready: number): QueueDepth => ({ role, queue: `memory.${role}`, ready, unacknowledged: 0, consumers: 0 });
    return [
      { role: 'router', queue: 'memory.router', ready: events.ready, unacknowledged: events.unacknowledged, consumers: events.consumers },
      { role: 'deliveries', queue: 'memory.deliveries', ready: deliveries.ready, unacknowledged: deliveries.unacknowledged, consumers: deliveries.consumers },
      { role: 'retry', queue: 'memory.retry', ready: deliveries.delayed, unacknowledged: 0, consumers: 0 },
      parked('invalid', this.parked.length),
      parked('events_poison', this.poisoned.filter((p) => p.source === 'events').length),
      parked('deliveries_poison', this.poisoned.filter((p) => p.source === 'deliveries').length),
      parked('dead_letters', this.deadLetters.length),
    ];
  }

  private consumeOptions<T>(options: ConsumeOptions, describe: (item: T, deliveries: number) => PoisonedMessage): MemoryConsumeOptions<T> {
    return {
      prefetch: options.prefetch,
      ...(options.dependenciesAnswer ? { dependenciesAnswer: options.dependenciesAnswer } : {}),
      onPoisoned: (item, deliveries) => {
        const poisoned = describe(item, deliveries);
        this.poisoned.push(poisoned);
        if (this.poisoned.length > 10_000) this.poisoned.shift();
        // As with RabbitMQ, reporting is the consumer's business and must not undo the parking.
        void options.onPoisoned?.(poisoned).catch(() => undefined);
      },
    };
  }
}

function deliveryPoison(job: DeliveryJob, deliveries: number): PoisonedMessage {
  return { source: 'deliveries', deliveries, parkedIn: 'memory', eventId: job.event.id, eventType: job.event.type, scopeTenantId: null, jobs: [job] };
}

function copy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function readJson(content: Buffer): unknown {
  try {
    return JSON.parse(content.toString('utf8'));
  } catch {
    return null;
  }
}
