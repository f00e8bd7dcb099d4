import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { SandboxStats } from './sandbox/expression-sandbox';

/** The hub's Prometheus metrics, on a registry of their own (one per hub instance). */
export class HubMetrics {
  readonly registry = new Registry();
  readonly eventsReceived = new Counter({ name: 'hookhub_events_received_total', help: 'Valid events received, by type', labelNames: ['type'], registers: [this.registry] });
  readonly eventsInvalid = new Counter({ name: 'hookhub_events_invalid_total', help: 'Events parked as invalid, by source and reason', labelNames: ['source', 'reason'], registers: [this.registry] });
  readonly eventsDuplicate = new Counter({ name: 'hookhub_events_duplicate_total', help: 'Events dropped as duplicates of an already routed event', registers: [this.registry] });
  readonly deliveries = new Counter({ name: 'hookhub_delivery_attempts_total', help: 'Delivery attempts, by outcome', labelNames: ['outcome'], registers: [this.registry] });
  readonly deadLetters = new Counter({ name: 'hookhub_dead_letters_total', help: 'Deliveries dead-lettered, by reason', labelNames: ['reason'], registers: [this.registry] });
  readonly deferred = new Counter({ name: 'hookhub_deliveries_deferred_total', help: 'Deliveries moved aside because their endpoint was at its concurrency limit', registers: [this.registry] });
  readonly poisonMessages = new Counter({
    name: 'hookhub_poison_messages_total',
    help: 'Messages parked in a poison queue because handling them kept crashing, stalling or failing a consumer, by source (events, deliveries)',
    labelNames: ['source'],
    registers: [this.registry],
  });
  readonly redeliveriesSkipped = new Counter({
    name: 'hookhub_redeliveries_skipped_total',
    help: 'Redelivered delivery jobs not sent again because their success was already on record',
    registers: [this.registry],
  });
  readonly deliveryDuration = new Histogram({
    name: 'hookhub_delivery_duration_seconds',
    help: 'Duration of delivery HTTP requests',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  /*
   * Delivery analytics (GET /v1/analytics/...) as Prometheus families. Labels stay bounded: the
   * event type (the catalog's, anything else as "other") and the outcome class; never a
   * subscription or tenant. Updated per recorded attempt batch (DeliveryStatsWriter), not per request.
   */
  readonly attemptsByClass = new Counter({
    name: 'hookhub_delivery_attempts_by_class_total',
    help: 'Delivery attempts by event type and outcome class (success, 4xx, 5xx, timeout, network, refused, other, not_sent)',
    labelNames: ['type', 'class'],
    registers: [this.registry],
  });
  readonly deliveriesSettled = new Counter({
    name: 'hookhub_deliveries_settled_total',
    help: 'Deliveries that ended (succeeded, or dead-lettered after their retries), replays not counted, by event type and result',
    labelNames: ['type', 'result'],
    registers: [this.registry],
  });
  readonly attemptLatency = new Histogram({
    name: 'hookhub_delivery_latency_seconds',
    help: 'Response time of delivery attempts that went out, by event type',
    labelNames: ['type'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly firstAttemptDelay = new Histogram({
    name: 'hookhub_delivery_first_attempt_delay_seconds',
    help: 'From the hub accepting an event to the start of its first delivery attempt, by event type',
    labelNames: ['type'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly timeToSuccess = new Histogram({
    name: 'hookhub_delivery_time_to_success_seconds',
    help: 'From the hub accepting an event to its successful delivery (retries included), by event type',
    labelNames: ['type'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 21600, 86400],
    registers: [this.registry],
  });

  /** Reads the expression sandbox's counters at each scrape (the sandbox is shared by the hubs of a process). */
  watchSandbox(stats: () => SandboxStats): void {
    const seen = { evaluations: 0, timeout: 0, memory: 0, crash: 0, cpuMicros: 0 };
    const bump = (counter: Counter, key: keyof typeof seen, now: number, labels?: Record<string, string>): void => {
      if (now > seen[key] && labels) counter.inc(labels, now - seen[key]);
      else if (now > seen[key]) counter.inc(now - seen[key]);
      seen[key] = Math.max(seen[key], now);
    };
    new Counter({
      name: 'hookhub_expression_evaluations_total',
      help: 'Tenant expressions (filters, transforms, mappings) evaluated in the sandbox',
      registers: [this.registry],
      collect() {
        bump(this, 'evaluations', stats().evaluations);
      },
    });
    new Counter({
      name: 'hookhub_expression_limit_failures_total',
      help: 'Tenant expressions stopped by a sandbox limit, by limit (timeout, memory, crash)',
      labelNames: ['limit'],
      registers: [this.registry],
      collect() {
        const s = stats();
        for (const limit of ['timeout', 'memory', 'crash'] as const) bump(this, limit, s.failures[limit], { limit });
      },
    });
    new Counter({
      name: 'hookhub_expression_cpu_seconds_total',
      help: 'CPU time used by the expression sandbox processes',
      registers: [this.registry],
      collect() {
        const micros = stats().cpuMicros;
        if (micros > seen.cpuMicros) this.inc((micros - seen.cpuMicros) / 1e6);
        seen.cpuMicros = Math.max(seen.cpuMicros, micros);
      },
    });
  }

  /**
   * Reads the broker's queue depths at each scrape, labelled by queue name only (a fixed set). The
   * queues are shared: every process reports the same numbers, so aggregate them with max, not sum.
   * A failed read leaves the gauges empty for that scrape rather than showing stale numbers.
   */
  watchQueues(read: () => Promise<ReadonlyArray<{ queue: string; ready: number; consumers: number }>>): void {
    // Both gauges of one scrape share one read.
    let current: { at: number; depths: Promise<ReadonlyArray<{ queue: string; ready: number; consumers: number }> | null> } | null = null;
    const depths = () => {
      if (!current || Date.now() - current.at > 1000) current = { at: Date.now(), depths: read().catch(() => null) };
      return current.depths;
    };
    new Gauge({
      name: 'hookhub_queue_messages_ready',
      help: 'Messages waiting in each of the hub queues (RabbitMQ: ready messages), by queue',
      labelNames: ['queue'],
      registers: [this.registry],
      async collect() {
        const found = await depths();
        this.reset();
        for (const q of found ?? []) this.set({ queue: q.queue }, q.ready);
      },
    });
    new Gauge({
      name: 'hookhub_queue_consumers',
      help: 'Consumers attached to each of the hub queues, by queue',
      labelNames: ['queue'],
      registers: [this.registry],
      async collect() {
        const found = await depths();
        this.reset();
        for (const q of found ?? []) this.set({ queue: q.queue }, q.consumers);
      },
    });
  }

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }
}
