import type { EventEnvelope } from '../../events/envelope';
import type { Broker, ConsumeOptions, Consumer, DeliveryJob, InboundEvent, ParkedEvent } from '../port';
import { MemoryQueue } from './memory-queue';

/**
 * The embedded broker: the same contract as RabbitMQ, inside one process.
 * Messages are copied through JSON so no caller shares objects with a consumer.
 */
export class MemoryBroker implements Broker {
  readonly kind = 'memory' as const;
  private readonly events = new MemoryQueue<InboundEvent>();
  private readonly deliveries = new MemoryQueue<DeliveryJob>();
  readonly parked: ParkedEvent[] = [];
  readonly deadLetters: Array<{ job: DeliveryJob; reason: string }> = [];
  private ready = false;

  async start(): Promise<void> {
    this.ready = true;
  }

  async close(): Promise<void> {
    this.ready = false;
    this.events.close();
    this.deliveries.close();
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
    const stop = this.events.consume(handler, options.prefetch);
    return { cancel: async () => stop() };
  }

  async parkInvalidEvent(event: ParkedEvent): Promise<void> {
    this.parked.push(event);
  }

  async publishDeliveries(jobs: readonly DeliveryJob[]): Promise<void> {
    for (const job of jobs) this.deliveries.push(copy(job));
  }

  async scheduleDelivery(job: DeliveryJob, delayMs: number): Promise<void> {
    this.deliveries.pushLater(copy(job), Math.max(0, delayMs));
  }

  async consumeDeliveries(handler: (job: DeliveryJob) => Promise<void>, options: ConsumeOptions): Promise<Consumer> {
    const stop = this.deliveries.consume(handler, options.prefetch);
    return { cancel: async () => stop() };
  }

  async publishDeadLetter(job: DeliveryJob, reason: string): Promise<void> {
    this.deadLetters.push({ job: copy(job), reason });
    if (this.deadLetters.length > 10_000) this.deadLetters.shift();
  }
}

function copy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
