import { connect } from 'amqp-connection-manager';
import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { Logger } from '../../core/logger';
import type { EventEnvelope } from '../../events/envelope';
import type { Broker, ConsumeOptions, Consumer, DeliveryJob, InboundEvent, ParkedEvent } from '../port';
import { declareTopology, tierFor, topologyNames } from './topology';
import type { TopologyNames } from './topology';

const SCOPE_HEADER = 'x-hookhub-scope-tenant';
const DUE_HEADER = 'x-hookhub-due';
/** A job due within this margin is handled now rather than sent round the ladder again. */
const DUE_MARGIN_MS = 200;
/** Handler failures (store outage, etc.) are retried in place with backoff from 1 s up to 30 s, this many times. */
const REQUEUE_PAUSE_MS = 1000;
const RETRY_PAUSE_MAX_MS = 30_000;
const HANDLER_TRIES = 8;
/** Most targets one delivery message carries. */
const FANOUT_LIMIT = 50;

export interface AmqpBrokerOptions {
  url: string;
  prefix: string;
  logger: Logger;
  /** How long a publish may wait for the broker (e.g. during a reconnect) before it fails. */
  publishTimeoutMs?: number;
}

/**
 * RabbitMQ adapter. amqp-connection-manager reconnects, re-runs the topology
 * setup and re-subscribes consumers after a broker restart; publishes made while
 * disconnected wait (up to publishTimeoutMs) and resolve only on confirm.
 */
export class AmqpBroker implements Broker {
  readonly kind = 'amqp' as const;
  readonly names: TopologyNames;
  private connection: AmqpConnectionManager | null = null;
  private publisher: ChannelWrapper | null = null;
  private readonly consumers = new Set<ChannelWrapper>();
  private topologyReady = false;

  constructor(private readonly options: AmqpBrokerOptions) {
    this.names = topologyNames(options.prefix);
  }

  async start(): Promise<void> {
    const log = this.options.logger;
    const connection = connect([this.options.url], { heartbeatIntervalInSeconds: 5, reconnectTimeInSeconds: 1 });
    this.connection = connection;
    connection.on('connect', () => log.info('connected to RabbitMQ'));
    connection.on('disconnect', ({ err }) => {
      this.topologyReady = false;
      log.warn({ err: err?.message }, 'lost RabbitMQ connection; reconnecting (publishes wait, unacked messages return to their queues)');
    });
    connection.on('connectFailed', ({ err }) => log.warn({ err: err?.message }, 'cannot reach RabbitMQ; retrying'));
    this.publisher = connection.createChannel({
      name: 'publisher',
      confirm: true,
      publishTimeout: this.options.publishTimeoutMs ?? 30_000,
      setup: async (channel: ConfirmChannel) => {
        await declareTopology(channel, this.names);
        this.topologyReady = true;
      },
    });
    await this.publisher.waitForConnect();
  }

  async close(): Promise<void> {
    for (const consumer of this.consumers) await consumer.close().catch(() => undefined);
    this.consumers.clear();
    await this.publisher?.close().catch(() => undefined);
    await this.connection?.close().catch(() => undefined);
    this.connection = null;
    this.topologyReady = false;
  }

  isReady(): boolean {
    return this.topologyReady && (this.connection?.isConnected() ?? false);
  }

  async publishEvent(envelope: EventEnvelope, scopeTenantId: string | null): Promise<void> {
    const headers: Record<string, string> = {};
    if (scopeTenantId !== null) headers[SCOPE_HEADER] = scopeTenantId;
    await this.channel().publish(this.names.eventsExchange, envelope.type, Buffer.from(JSON.stringify(envelope)), {
      persistent: true,
      contentType: 'application/json',
      messageId: envelope.id,
      headers,
    });
  }

  async consumeEvents(handler: (event: InboundEvent) => Promise<void>, options: ConsumeOptions): Promise<Consumer> {
    return this.consume(this.names.routerQueue, options, async (msg) => {
      const scope = msg.properties.headers?.[SCOPE_HEADER];
      await handler({
        body: msg.content,
        scopeTenantId: typeof scope === 'string' ? scope : null,
        redelivered: msg.fields.redelivered,
      });
    });
  }

  async parkInvalidEvent(event: ParkedEvent): Promise<void> {
    await this.channel().sendToQueue(this.names.invalidQueue, event.body, {
      persistent: true,
      headers: { 'x-hookhub-reason': event.reason, 'x-hookhub-problems': JSON.stringify(event.problems).slice(0, 8000) },
    });
  }

  /**
   * Jobs of one event travel together: one message carries the event once and
   * up to FANOUT_LIMIT targets, which cuts broker work per delivery several
   * times over. The consumer still hands the domain one job per target.
   */
  async publishDeliveries(jobs: readonly DeliveryJob[]): Promise<void> {
    const channel = this.channel();
    const byEvent = new Map<string, DeliveryJob[]>();
    for (const job of jobs) byEvent.set(job.event.id, [...(byEvent.get(job.event.id) ?? []), job]);
    const sends: Array<Promise<unknown>> = [];
    for (const group of byEvent.values()) {
      for (let i = 0; i < group.length; i += FANOUT_LIMIT) {
        const chunk = group.slice(i, i + FANOUT_LIMIT);
        const content = chunk.length === 1 ? encode(chunk[0] as DeliveryJob) : encodeFanout(chunk);
        sends.push(channel.sendToQueue(this.names.deliveriesQueue, content, { persistent: true }));
      }
    }
    await Promise.all(sends);
  }

  async scheduleDelivery(job: DeliveryJob, delayMs: number): Promise<void> {
    await this.sendAlongLadder(encode(job), Date.now() + Math.max(0, delayMs));
  }

  async consumeDeliveries(handler: (job: DeliveryJob) => Promise<void>, options: ConsumeOptions): Promise<Consumer> {
    // Targets of a fan-out message already handled, so an in-place retry redoes only the failed ones.
    const done = new WeakMap<ConsumeMessage, Set<number>>();
    return this.consume(this.names.deliveriesQueue, options, async (msg) => {
      const due = Number(msg.properties.headers?.[DUE_HEADER] ?? 0);
      if (due - Date.now() > DUE_MARGIN_MS) {
        await this.sendAlongLadder(msg.content, due);
        return;
      }
      const jobs = decodeJobs(msg.content);
      const finished = done.get(msg) ?? new Set<number>();
      done.set(msg, finished);
      const results = await Promise.allSettled(
        jobs.map(async (job, index) => {
          if (finished.has(index)) return;
          await handler(job);
          finished.add(index);
        }),
      );
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    });
  }

  async publishDeadLetter(job: DeliveryJob, reason: string): Promise<void> {
    await this.channel().sendToQueue(this.names.deadLetterQueue, encode(job), {
      persistent: true,
      headers: { 'x-hookhub-reason': reason },
    });
  }

  private async sendAlongLadder(content: Buffer, due: number): Promise<void> {
    const remaining = due - Date.now();
    if (remaining <= DUE_MARGIN_MS) {
      await this.channel().sendToQueue(this.names.deliveriesQueue, content, { persistent: true, headers: { [DUE_HEADER]: due } });
      return;
    }
    const queue = this.names.retryQueue(tierFor(remaining));
    await this.channel().sendToQueue(queue, content, { persistent: true, headers: { [DUE_HEADER]: due } });
  }

  private channel(): ChannelWrapper {
    if (!this.publisher) throw new Error('AmqpBroker used before start()');
    return this.publisher;
  }

  /**
   * One channel per consumer so prefetch applies per queue. A message is acked
   * when its handler resolves. When the handler throws (the store is down, say)
   * the message is held and the handler retried with backoff, so a short outage
   * pauses consumption within the prefetch bound instead of spinning messages
   * through redeliveries; after HANDLER_TRIES it goes back to the queue. Acks
   * are only sent on the channel the message came from: after a reconnect
   * RabbitMQ redelivers those messages anyway.
   */
  private async consume(queue: string, options: ConsumeOptions, handle: (msg: ConsumeMessage) => Promise<void>): Promise<Consumer> {
    if (!this.connection) throw new Error('AmqpBroker used before start()');
    let generation = 0;
    const wrapper = this.connection.createChannel({
      name: `consumer:${queue}`,
      confirm: false,
      setup: async (channel: ConfirmChannel) => {
        generation += 1;
        await declareTopology(channel, this.names);
      },
    });
    this.consumers.add(wrapper);
    await wrapper.waitForConnect();
    const run = async (msg: ConsumeMessage, born: number): Promise<void> => {
      for (let attempt = 1; ; attempt += 1) {
        try {
          await handle(msg);
          if (born === generation) wrapper.ack(msg);
          return;
        } catch (err) {
          const giveUp = attempt >= HANDLER_TRIES || born !== generation;
          this.options.logger.warn(
            { err: (err as Error)?.message, queue, attempt },
            giveUp ? 'message handling failed; it goes back to the queue' : 'message handling failed; retrying it shortly',
          );
          if (giveUp) {
            if (born === generation) wrapper.nack(msg, false, true);
            return;
          }
          await new Promise((r) => setTimeout(r, Math.min(RETRY_PAUSE_MAX_MS, REQUEUE_PAUSE_MS * 2 ** (attempt - 1))));
        }
      }
    };
    await wrapper.consume(queue, (msg) => void run(msg, generation), { prefetch: options.prefetch });
    return {
      cancel: async () => {
        await wrapper.cancelAll().catch(() => undefined);
      },
    };
  }
}

function encode(job: DeliveryJob): Buffer {
  return Buffer.from(JSON.stringify(job));
}

type FanoutTarget = Omit<DeliveryJob, 'event'>;

function encodeFanout(jobs: readonly DeliveryJob[]): Buffer {
  const event = (jobs[0] as DeliveryJob).event;
  const targets: FanoutTarget[] = jobs.map(({ event: _event, ...target }) => target);
  return Buffer.from(JSON.stringify({ event, targets }));
}

function decodeJobs(content: Buffer): DeliveryJob[] {
  const body = JSON.parse(content.toString('utf8')) as DeliveryJob | { event: DeliveryJob['event']; targets: FanoutTarget[] };
  if ('targets' in body) return body.targets.map((target) => ({ ...target, event: body.event }));
  return [body];
}
