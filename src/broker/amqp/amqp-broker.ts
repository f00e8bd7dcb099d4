// Over 300 lines: one adapter for one broker; the consumer's retry, stall, suspect and poison rules act on the same channel state.
import { connect } from 'amqp-connection-manager';
import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { Logger } from '../../core/logger';
import { retry } from '../../core/retry';
import type { EventEnvelope } from '../../events/envelope';
import type { Broker, ConsumeOptions, Consumer, DeliveryJob, Handover, InboundEvent, ParkedEvent, PoisonedMessage, QueueDepth } from '../port';
import { ORDERED_SHARDS, POISON_AFTER_DELIVERIES, orderedShardOf, orderingLaneId } from '../port';
import { redactAmqpUrl } from '../../config/amqp-urls';
import { connectionOrder } from './connection-order';
import { declareTopology, queueRoles, tierFor, topologyNames } from './topology';
import type { TopologyNames } from './topology';

const SCOPE_HEADER = 'x-hookhub-scope-tenant';
const DUE_HEADER = 'x-hookhub-due';
/** On an ordered job going round the retry ladder: its shard, where it goes back when due. */
const SHARD_HEADER = 'x-hookhub-ordered-shard';
/** A job due within this margin waits here for its time rather than going round the ladder again. */
const DUE_MARGIN_MS = 200;
/** Handler failures (store outage, etc.) are retried in place with backoff from 1 s up to 30 s, this many times. */
const REQUEUE_PAUSE_MS = 1000;
/** How long a read of the queue depths may take before it fails (an unanswered broker must not hold a request). */
const DEPTHS_TIMEOUT_MS = 5000;
const RETRY_PAUSE_MAX_MS = 30_000;
const HANDLER_TRIES = 8;
/** Most targets one delivery message carries. */
const FANOUT_LIMIT = 50;
/**
 * Poison messages. Quorum queues count in `x-delivery-count` how often a message
 * came back unsettled: a nack, or its consumer's channel closing (crash, stalled
 * event loop, lost connection, broker restart). Whatever was in flight alongside a
 * message that kills the process comes back with it and is counted too, so the
 * count alone cannot tell the culprit: a message back SUSPECT_AFTER times moves
 * to a suspect queue, consumed one message at a time, where a crash counts
 * against that message only. There it is parked in the poison queue after
 * POISON_AFTER_DELIVERIES deliveries in all.
 */
const DELIVERY_COUNT_HEADER = 'x-delivery-count';
const SUSPECT_AFTER = 2;
/** Unsettled deliveries a message had before it moved to a suspect queue. */
const EARLIER_DELIVERIES_HEADER = 'x-hookhub-deliveries';
/** Set on moved copies: their work may be done already, like any redelivered message's. */
const REDELIVERED_HEADER = 'x-hookhub-redelivered';
const REASON_HEADER = 'x-hookhub-reason';
const FROM_HEADER = 'x-hookhub-from-queue';
/** A handler not settled after this long (while the store answers) gives its message back, which counts toward the poison limit. */
const STALL_TIMEOUT_MS = 5 * 60_000;

export interface AmqpBrokerOptions {
  /**
   * One URL (a single broker or a load balancer), or the URLs of a cluster's nodes:
   * the process starts at a random one and, when its connection is lost, goes on to the next.
   */
  url: string | readonly string[];
  prefix: string;
  logger: Logger;
  /** How long a publish may wait for the broker (e.g. during a reconnect) before it fails. */
  publishTimeoutMs?: number;
  /** Tries of a failing handler before its message goes back to the queue, and the first pause between them (tests shorten these). */
  handlerTries?: number;
  retryPauseMs?: number;
  /** How long a handler may run before its message is given back as stalled. */
  stallTimeoutMs?: number;
  /** How many ordered shards (per-key ordering); every process of the hub must use the same number. */
  orderedShards?: number;
}

/** One work queue with its suspect and poison queues. */
interface Lane {
  source: PoisonedMessage['source'];
  queue: string;
  suspects: string;
  poison: string;
  /** Bodies for the suspect queue: one per target, so that one target's poison is not the others'. */
  split(content: Buffer): Buffer[];
  describe(msg: ConsumeMessage): Pick<PoisonedMessage, 'eventId' | 'eventType' | 'scopeTenantId' | 'jobs'>;
}

/**
 * RabbitMQ adapter. amqp-connection-manager reconnects, re-runs the topology
 * setup and re-subscribes consumers after a broker restart; publishes made while
 * disconnected wait (up to publishTimeoutMs) and resolve only on confirm.
 */
export class AmqpBroker implements Broker {
  readonly names: TopologyNames;
  private connection: AmqpConnectionManager | null = null;
  private publisher: ChannelWrapper | null = null;
  private readonly consumers = new Set<ChannelWrapper>();
  private topologyReady = false;
  /** The channel queue depths are read on, opened on first use. */
  private inspector: ChannelWrapper | null = null;

  private readonly shards: number;

  constructor(private readonly options: AmqpBrokerOptions) {
    this.names = topologyNames(options.prefix);
    this.shards = options.orderedShards ?? ORDERED_SHARDS;
  }

  async start(): Promise<void> {
    const log = this.options.logger;
    const urls = typeof this.options.url === 'string' ? [this.options.url] : [...this.options.url];
    if (urls.length === 0) throw new Error('AmqpBroker needs at least one URL');
    // Each attempt, after a failure or a lost connection, takes the next URL of this list, round and round.
    const connection = connect(connectionOrder(urls), { heartbeatIntervalInSeconds: 5, reconnectTimeInSeconds: 1 });
    this.connection = connection;
    const node = (url: unknown): string | undefined => (typeof url === 'string' ? redactAmqpUrl(url) : undefined);
    connection.on('connect', ({ url }) => log.info({ url: node(url) }, 'connected to RabbitMQ'));
    connection.on('disconnect', ({ err }) => {
      this.topologyReady = false;
      log.warn(
        { err: err?.message },
        urls.length > 1
          ? 'lost RabbitMQ connection; reconnecting to the next node (publishes wait, unacked messages return to their queues)'
          : 'lost RabbitMQ connection; reconnecting (publishes wait, unacked messages return to their queues)',
      );
    });
    connection.on('connectFailed', ({ err, url }) => log.warn({ err: err?.message, url: node(url) }, 'cannot reach RabbitMQ; trying again'));
    this.publisher = connection.createChannel({
      name: 'publisher',
      confirm: true,
      publishTimeout: this.options.publishTimeoutMs ?? 30_000,
      setup: async (channel: ConfirmChannel) => {
        await declareTopology(channel, this.names, this.shards);
        this.topologyReady = true;
      },
    });
    await this.publisher.waitForConnect();
  }

  async close(): Promise<void> {
    for (const consumer of this.consumers) await consumer.close().catch(() => undefined);
    await this.inspector?.close().catch(() => undefined);
    this.inspector = null;
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
    const lane: Lane = {
      source: 'events',
      queue: this.names.routerQueue,
      suspects: this.names.routerSuspectQueue,
      poison: this.names.eventsPoisonQueue,
      split: (content) => [content],
      describe: (msg) => {
        const envelope = readJson(msg.content) as { id?: unknown; type?: unknown } | null;
        return {
          eventId: typeof envelope?.id === 'string' ? envelope.id : null,
          eventType: typeof envelope?.type === 'string' ? envelope.type : null,
          scopeTenantId: scopeOf(msg),
          jobs: [],
        };
      },
    };
    return this.consumeLane(lane, options, async (msg) => {
      await handler({ body: msg.content, scopeTenantId: scopeOf(msg), redelivered: isRedelivered(msg) });
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
    const sends: Array<Promise<unknown>> = [];
    for (const job of jobs) {
      // Each ordered job goes to its key's shard alone, sent now: the order of the calls is the order in the shard.
      if (job.ordering) sends.push(channel.sendToQueue(this.names.orderedQueue(this.shardOf(job)), encode(job), { persistent: true }));
      else byEvent.set(job.event.id, [...(byEvent.get(job.event.id) ?? []), job]);
    }
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
    await this.sendAlongLadder(encode(job), Date.now() + Math.max(0, delayMs), job.ordering ? this.shardOf(job) : null);
  }

  async consumeOrderedDeliveries(handler: (job: DeliveryJob, handover: Handover) => Promise<void>, options: ConsumeOptions): Promise<Consumer> {
    const consumers: Consumer[] = [];
    for (let shard = 0; shard < this.shards; shard++) {
      const queue = this.names.orderedQueue(shard);
      const lane: Lane = {
        source: 'deliveries',
        queue,
        suspects: queue,
        poison: this.names.deliveriesPoisonQueue,
        split: (content) => [content],
        describe: (msg) => {
          const jobs = readJobs(msg.content) ?? [];
          return { eventId: jobs[0]?.event.id ?? null, eventType: jobs[0]?.event.type ?? null, scopeTenantId: null, jobs };
        },
      };
      // Prefetch 1: the shard's next job is handed over only once this one is settled (or parked).
      consumers.push(
        await this.consume(queue, 1, options, async (msg) => {
          const count = deliveryCount(msg);
          if (count >= POISON_AFTER_DELIVERIES) return this.park(lane, msg, count, options);
          // A retry forwarded from the ladder up to DUE_MARGIN_MS early waits out the rest here.
          const early = Number(msg.properties.headers?.[DUE_HEADER] ?? 0) - Date.now();
          if (early > 0) await new Promise((resolve) => setTimeout(resolve, early));
          for (const job of decodeJobs(msg.content)) await handler(job, { redelivered: isRedelivered(msg) });
        }),
      );
    }
    return {
      cancel: async () => {
        await Promise.all(consumers.map((c) => c.cancel()));
      },
    };
  }

  async consumeDeliveries(handler: (job: DeliveryJob, handover: Handover) => Promise<void>, options: ConsumeOptions): Promise<Consumer> {
    // Targets of a fan-out message already handled, so an in-place retry redoes only the failed ones.
    const done = new WeakMap<ConsumeMessage, Set<number>>();
    // Jobs being handled in this process. After a reconnect RabbitMQ hands over again what was
    // in flight while the first handlers are still sending: a redelivered job waits for its
    // first run, so that the handler finds that run's outcome on record instead of sending again.
    const running = new Map<string, Promise<void>>();
    const handOver = async (job: DeliveryJob, handover: Handover): Promise<void> => {
      for (let earlier = running.get(job.webhookId); handover.redelivered && earlier; earlier = running.get(job.webhookId)) {
        await earlier.catch(() => undefined);
      }
      const work = handler(job, handover);
      running.set(job.webhookId, work);
      try {
        await work;
      } finally {
        if (running.get(job.webhookId) === work) running.delete(job.webhookId);
      }
    };
    const lane: Lane = {
      source: 'deliveries',
      queue: this.names.deliveriesQueue,
      suspects: this.names.deliveriesSuspectQueue,
      poison: this.names.deliveriesPoisonQueue,
      split: (content) => {
        const jobs = readJobs(content);
        return jobs && jobs.length > 1 ? jobs.map(encode) : [content];
      },
      describe: (msg) => {
        const jobs = readJobs(msg.content) ?? [];
        return { eventId: jobs[0]?.event.id ?? null, eventType: jobs[0]?.event.type ?? null, scopeTenantId: null, jobs };
      },
    };
    return this.consumeLane(lane, options, async (msg) => {
      const due = Number(msg.properties.headers?.[DUE_HEADER] ?? 0);
      // An ordered job back from the ladder is handled in its shard, in turn with its key's other jobs.
      const shard = this.shardToForward(msg);
      if (shard !== null) return this.sendAlongLadder(msg.content, due, shard);
      const early = due - Date.now();
      if (early > DUE_MARGIN_MS) {
        await this.sendAlongLadder(msg.content, due);
        return;
      }
      // Nearly due: wait out the rest here, so a retry never goes before the time its endpoint asked for.
      if (early > 0) await new Promise((resolve) => setTimeout(resolve, early));
      const jobs = decodeJobs(msg.content);
      const retry = done.get(msg);
      const finished = retry ?? new Set<number>();
      done.set(msg, finished);
      // A retry in place hands the failed jobs over again: as redelivered, like any repeat.
      const handover: Handover = { redelivered: retry !== undefined || isRedelivered(msg) };
      const results = await Promise.allSettled(
        jobs.map(async (job, index) => {
          if (finished.has(index)) return;
          await handOver(job, handover);
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

  private async sendAlongLadder(content: Buffer, due: number, shard: number | null = null): Promise<void> {
    const remaining = due - Date.now();
    const headers = { [DUE_HEADER]: due, ...(shard === null ? {} : { [SHARD_HEADER]: shard }) };
    if (remaining <= DUE_MARGIN_MS) {
      const queue = shard === null ? this.names.deliveriesQueue : this.names.orderedQueue(shard);
      await this.channel().sendToQueue(queue, content, { persistent: true, headers });
      return;
    }
    const queue = this.names.retryQueue(tierFor(remaining));
    await this.channel().sendToQueue(queue, content, { persistent: true, headers });
  }

  /**
   * Asks RabbitMQ for each queue's ready messages and consumers (`queue.declare` passive). Over
   * AMQP RabbitMQ does not tell unacknowledged messages: those are null. On a channel of its own,
   * so that a queue someone deleted (the broker closes the channel) cannot disturb publishing.
   */
  async queueDepths(): Promise<QueueDepth[]> {
    if (!this.connection || !this.isReady()) throw new Error('RabbitMQ is not connected; queue depths are unknown');
    if (!this.inspector) {
      this.inspector = this.connection.createChannel({ name: 'queue-depths' });
      this.inspector.on('error', (err: Error) => this.options.logger.warn({ err: err.message }, 'the channel queue depths are read on failed; it reopens'));
    }
    const inspector = this.inspector;
    const read = inspector.waitForConnect().then(() =>
      Promise.all(
        queueRoles(this.names).map(async (q): Promise<QueueDepth> => {
          const answer = await inspector.checkQueue(q.queue);
          return { ...q, ready: answer.messageCount, unacknowledged: null, consumers: answer.consumerCount };
        }),
      ),
    );
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error('RabbitMQ did not tell the queue depths within 5 s')), DEPTHS_TIMEOUT_MS);
    });
    try {
      return await Promise.race([read, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** An ordered job's shard, for a message from the ladder that says it is one; null for the others. */
  private shardToForward(msg: ConsumeMessage): number | null {
    if (msg.properties.headers?.[SHARD_HEADER] === undefined) return null;
    // From the job itself: the number of shards may have changed while it waited on the ladder.
    const job = readJobs(msg.content)?.[0];
    return job?.ordering ? this.shardOf(job) : null;
  }

  private shardOf(job: DeliveryJob): number {
    return orderedShardOf(orderingLaneId(job.subscriptionId, job.ordering?.key ?? ''), this.shards);
  }

  private channel(): ChannelWrapper {
    if (!this.publisher) throw new Error('AmqpBroker used before start()');
    return this.publisher;
  }

  /** Consumes a work queue and, one message at a time, its suspect queue. */
  private async consumeLane(lane: Lane, options: ConsumeOptions, handle: (msg: ConsumeMessage) => Promise<void>): Promise<Consumer> {
    const main = await this.consume(lane.queue, options.prefetch, options, async (msg) => {
      const count = deliveryCount(msg);
      if (count >= SUSPECT_AFTER) await this.moveToSuspects(lane, msg, count);
      else await handle(msg);
    });
    const suspects = await this.consume(lane.suspects, 1, options, async (msg) => {
      const count = deliveryCount(msg);
      if (count >= POISON_AFTER_DELIVERIES - SUSPECT_AFTER) await this.park(lane, msg, earlierDeliveries(msg) + count, options);
      else await handle(msg);
    });
    return {
      cancel: async () => {
        await Promise.all([main.cancel(), suspects.cancel()]);
      },
    };
  }

  private async moveToSuspects(lane: Lane, msg: ConsumeMessage, count: number): Promise<void> {
    const headers = { ...carriedHeaders(msg), [EARLIER_DELIVERIES_HEADER]: earlierDeliveries(msg) + count, [REDELIVERED_HEADER]: true };
    const bodies = lane.split(msg.content);
    await Promise.all(bodies.map((body) => this.channel().sendToQueue(lane.suspects, body, { ...carriedProperties(msg), headers })));
    this.options.logger.warn(
      { queue: lane.queue, suspects: lane.suspects, deliveries: count, eventId: lane.describe(msg).eventId, messages: bodies.length },
      'a message came back unsettled twice (its consumer crashed, stalled or failed on it); it moves to the suspect queue, where messages are handled one at a time',
    );
  }

  /** Sets a poison message aside, where an operator can read it and move it back once its cause is fixed. */
  private async park(lane: Lane, msg: ConsumeMessage, deliveries: number, options: ConsumeOptions): Promise<void> {
    const headers = { ...carriedHeaders(msg), [EARLIER_DELIVERIES_HEADER]: deliveries, [REASON_HEADER]: 'poison_message', [FROM_HEADER]: lane.queue };
    await this.channel().sendToQueue(lane.poison, msg.content, { ...carriedProperties(msg), headers });
    const poisoned: PoisonedMessage = { source: lane.source, deliveries, parkedIn: lane.poison, ...lane.describe(msg) };
    await options.onPoisoned?.(poisoned).catch((err: unknown) => {
      this.options.logger.error({ err: (err as Error)?.message, parkedIn: lane.poison }, 'a poison message was parked but could not be reported');
    });
  }

  /**
   * One channel per consumer so prefetch applies per queue. A message is acked
   * when its handler resolves. When the handler throws (the store is down, say)
   * the message is held and the handler retried with backoff, so a short outage
   * pauses consumption within the prefetch bound instead of spinning messages
   * through redeliveries; after HANDLER_TRIES failures while the store answers it
   * goes back to the queue. A handler that does not settle within the stall
   * timeout gives its message back too (its late result is ignored). Acks are
   * only sent on the channel the message came from: after a reconnect RabbitMQ
   * redelivers those messages anyway.
   */
  private async consume(queue: string, prefetch: number, options: ConsumeOptions, handle: (msg: ConsumeMessage) => Promise<void>): Promise<Consumer> {
    if (!this.connection) throw new Error('AmqpBroker used before start()');
    const log = this.options.logger;
    const tries = this.options.handlerTries ?? HANDLER_TRIES;
    const firstPauseMs = this.options.retryPauseMs ?? REQUEUE_PAUSE_MS;
    const answers = options.dependenciesAnswer ?? (async () => true);
    let generation = 0;
    const wrapper = this.connection.createChannel({
      name: `consumer:${queue}`,
      confirm: false,
      setup: async (channel: ConfirmChannel) => {
        generation += 1;
        await declareTopology(channel, this.names, this.shards);
      },
    });
    this.consumers.add(wrapper);
    await wrapper.waitForConnect();
    const run = async (msg: ConsumeMessage, born: number): Promise<void> => {
      let settled = false;
      const settle = (ack: boolean): void => {
        if (settled) return;
        settled = true;
        if (born !== generation) return;
        if (ack) wrapper.ack(msg);
        else wrapper.nack(msg, false, true);
      };
      const watchdog = this.watchStall(queue, answers, () => settle(false));
      let counted = 0;
      try {
        await retry(
          async () => {
            // Each call gets the whole stall timeout: the pauses of a long outage are not a stall.
            watchdog.restart();
            await handle(msg);
          },
          {
            baseMs: firstPauseMs,
            maxMs: RETRY_PAUSE_MAX_MS,
            onRetry: async (err, attempt) => {
              if (settled) return false;
              // Failures while the store is down are the outage's, not the message's.
              if (await answers()) counted += 1;
              const giveUp = counted >= tries || born !== generation;
              log.warn(
                { err: (err as Error)?.message, queue, attempt },
                giveUp ? 'message handling failed; it goes back to the queue' : 'message handling failed; retrying it shortly',
              );
              return !giveUp;
            },
          },
        );
        settle(true);
      } catch {
        settle(false);
      } finally {
        watchdog.stop();
      }
    };
    await wrapper.consume(queue, (msg) => void run(msg, generation), { prefetch });
    return {
      cancel: async () => {
        await wrapper.cancelAll().catch(() => undefined);
      },
    };
  }

  /** Calls `onStall` once a handler call has run past the stall timeout while the store answers. */
  private watchStall(queue: string, answers: () => Promise<boolean>, onStall: () => void): { restart(): void; stop(): void } {
    const timeoutMs = this.options.stallTimeoutMs ?? STALL_TIMEOUT_MS;
    let stopped = false;
    let timer: NodeJS.Timeout | null = null;
    // Which arming a check belongs to: a restart during a check's store ping voids that check.
    let armed = 0;
    const arm = (): void => {
      const mine = ++armed;
      timer = setTimeout(() => void check(mine), timeoutMs);
      timer.unref();
    };
    const check = async (mine: number): Promise<void> => {
      // Handlers wait for the store while it is down: that is not a stall.
      const up = await answers();
      if (stopped || mine !== armed) return;
      if (!up) return arm();
      this.options.logger.warn({ queue, timeoutMs }, 'a message handler did not settle in time; its message goes back to the queue and counts toward the poison limit');
      onStall();
    };
    return {
      restart: () => {
        if (timer) clearTimeout(timer);
        arm();
      },
      stop: () => {
        stopped = true;
        if (timer) clearTimeout(timer);
      },
    };
  }
}

type FanoutTarget = Omit<DeliveryJob, 'event'>;

/**
 * The body of a delivery message, tagged with its kind: one job, or one event
 * with the targets it goes to. The job's fields stay at the top level of a
 * single message, so what reads a job from a queue reads it as before.
 */
type DeliveryMessage = ({ kind: 'single' } & DeliveryJob) | { kind: 'fanout'; event: DeliveryJob['event']; targets: FanoutTarget[] };

function encode(job: DeliveryJob): Buffer {
  const message: DeliveryMessage = { kind: 'single', ...job };
  return Buffer.from(JSON.stringify(message));
}

function encodeFanout(jobs: readonly DeliveryJob[]): Buffer {
  const event = (jobs[0] as DeliveryJob).event;
  const targets: FanoutTarget[] = jobs.map(({ event: _event, ...target }) => target);
  const message: DeliveryMessage = { kind: 'fanout', event, targets };
  return Buffer.from(JSON.stringify(message));
}

/** The jobs of a delivery message, or null when its body cannot be read (a poison message may be garbage). */
function readJobs(content: Buffer): DeliveryJob[] | null {
  try {
    return decodeJobs(content);
  } catch {
    return null;
  }
}

function readJson(content: Buffer): unknown {
  try {
    return JSON.parse(content.toString('utf8'));
  } catch {
    return null;
  }
}

function scopeOf(msg: ConsumeMessage): string | null {
  const scope = msg.properties.headers?.[SCOPE_HEADER];
  return typeof scope === 'string' ? scope : null;
}

function deliveryCount(msg: ConsumeMessage): number {
  const count = Number(msg.properties.headers?.[DELIVERY_COUNT_HEADER] ?? 0);
  return Number.isFinite(count) ? count : 0;
}

function earlierDeliveries(msg: ConsumeMessage): number {
  const earlier = Number(msg.properties.headers?.[EARLIER_DELIVERIES_HEADER] ?? 0);
  return Number.isFinite(earlier) ? earlier : 0;
}



function isRedelivered(msg: ConsumeMessage): boolean {
  return msg.fields.redelivered || msg.properties.headers?.[REDELIVERED_HEADER] === true;
}

/** The headers a copy keeps; the delivery count is the queue's own and starts again in the next one. */
function carriedHeaders(msg: ConsumeMessage): Record<string, unknown> {
  const { [DELIVERY_COUNT_HEADER]: _count, ...rest } = (msg.properties.headers ?? {}) as Record<string, unknown>;
  return rest;
}

function carriedProperties(msg: ConsumeMessage): { persistent: true; messageId?: string; contentType?: string } {
  const { messageId, contentType } = msg.properties as { messageId?: unknown; contentType?: unknown };
  return {
    persistent: true,
    ...(typeof messageId === 'string' ? { messageId } : {}),
    ...(typeof contentType === 'string' ? { contentType } : {}),
  };
}

function decodeJobs(content: Buffer): DeliveryJob[] {
  const body = JSON.parse(content.toString('utf8')) as DeliveryMessage | DeliveryJob | { event: DeliveryJob['event']; targets: FanoutTarget[] };
  // Messages published by the previous version carry no kind and may still be queued during an
  // upgrade (or wait in the retry tiers for hours): those are told apart by their fields, as before.
  const kind = 'kind' in body ? body.kind : 'targets' in body ? 'fanout' : 'single';
  if (kind === 'fanout') {
    const fanout = body as { event: DeliveryJob['event']; targets: FanoutTarget[] };
    return fanout.targets.map((target) => ({ ...target, event: fanout.event }));
  }
  const { kind: _kind, ...job } = body as DeliveryJob & { kind?: string };
  return [job];
}
