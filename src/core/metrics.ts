import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The hub's Prometheus metrics, on a registry of their own (one per hub instance). */
export class HubMetrics {
  readonly registry = new Registry();
  readonly eventsReceived = new Counter({ name: 'hookhub_events_received_total', help: 'Valid events received, by type', labelNames: ['type'], registers: [this.registry] });
  readonly eventsInvalid = new Counter({ name: 'hookhub_events_invalid_total', help: 'Events parked as invalid, by source and reason', labelNames: ['source', 'reason'], registers: [this.registry] });
  readonly eventsDuplicate = new Counter({ name: 'hookhub_events_duplicate_total', help: 'Events dropped as duplicates of an already routed event', registers: [this.registry] });
  readonly deliveries = new Counter({ name: 'hookhub_delivery_attempts_total', help: 'Delivery attempts, by outcome', labelNames: ['outcome'], registers: [this.registry] });
  readonly deadLetters = new Counter({ name: 'hookhub_dead_letters_total', help: 'Deliveries dead-lettered, by reason', labelNames: ['reason'], registers: [this.registry] });
  readonly deferred = new Counter({ name: 'hookhub_deliveries_deferred_total', help: 'Deliveries moved aside because their endpoint was at its concurrency limit', registers: [this.registry] });
  readonly deliveryDuration = new Histogram({
    name: 'hookhub_delivery_duration_seconds',
    help: 'Duration of delivery HTTP requests',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }
}
