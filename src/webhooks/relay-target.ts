import type { DeliveryJob } from '../broker/port';
import { systemClock } from '../core/clock';
import type { Clock } from '../core/clock';
import { HOLDER_STALE_MS } from '../subscriptions/relay-service';
import type { LoadedRelay } from '../subscriptions/subscription-cache';
import { notSentResult } from '../transport/http-sender';
import type { HttpResult } from '../transport/http-sender';
import { classify } from '../transport/outcome';
import type { PayloadBuilder } from './payload';
import { unbuildable } from './webhook-target';
import type { WebhookResult } from './webhook-target';
import { requestFor } from './webhook-request';

/** One delivery as a listening client gets it: the exact request the hub would send, signed. */
export interface RelayDelivery {
  webhookId: string;
  eventId: string;
  eventType: string;
  attempt: number;
  headers: Record<string, string>;
  body: string;
}

/** A connected `hookhub listen` client: it posts the delivery to its local URL and answers with the response. */
export interface RelayClient {
  /** Resolves with the local response, or with an error result when the client goes away or does not answer in time. */
  deliver(delivery: RelayDelivery): Promise<HttpResult>;
}

/** The listen clients connected to this process, by relay id. */
export class RelayClients {
  private readonly byRelay = new Map<string, RelayClient>();

  /** `client` takes the relay's deliveries here from now on; the client it replaces (a stale connection), if any. */
  attach(relayId: string, client: RelayClient): RelayClient | undefined {
    const previous = this.byRelay.get(relayId);
    this.byRelay.set(relayId, client);
    return previous;
  }

  /** Forgets `client` unless another has taken its relay since; true when it was the relay's client. */
  detach(relayId: string, client: RelayClient): boolean {
    if (this.byRelay.get(relayId) !== client) return false;
    this.byRelay.delete(relayId);
    return true;
  }

  get(relayId: string): RelayClient | undefined {
    return this.byRelay.get(relayId);
  }
}

/** How long a job waits before coming back when another process holds its relay's client. */
const ELSEWHERE_DEFER_MS = 1000;

export interface RelayTargetOptions {
  payloads: PayloadBuilder;
  clients: RelayClients;
  /** This process, as relays name their holder. */
  holder: string;
  clock?: Clock;
}

/**
 * Delivers a job to a relay: the webhook request (shaped, signed with the relay's secret) written to the
 * client connected here, whose answer is the attempt's response. Held by another process: the job comes
 * back later (deferred, same attempt) until that process takes it from the queue. Held by none: the attempt
 * fails unsent and is retried on the relay's ladder, as for an endpoint that is down.
 */
export class RelayTarget {
  private readonly clock: Clock;

  constructor(private readonly options: RelayTargetOptions) {
    this.clock = options.clock ?? systemClock;
  }

  /** Each client is its own slot: one developer's slow local app holds up nobody else. */
  slotKey(loaded: LoadedRelay): string {
    return `listen:${loaded.record.id}`;
  }

  async send(job: DeliveryJob, loaded: LoadedRelay): Promise<WebhookResult> {
    const relay = loaded.record;
    const client = this.options.clients.get(relay.id);
    if (!client) {
      const { holder, lastSeenAt } = relay.relay;
      if (holder !== null && holder !== this.options.holder && this.clock.now() - lastSeenAt.getTime() < HOLDER_STALE_MS) {
        return { kind: 'deferred', delayMs: ELSEWHERE_DEFER_MS };
      }
      return retryLater(notSentResult(`No hookhub listen client is connected to relay ${relay.id}; the delivery is retried until one is (or the relay is removed).`));
    }
    let request;
    try {
      request = await requestFor(this.options.payloads, loaded, job.webhookId, job.event, job.attempt, new Date(this.clock.now()));
    } catch (err) {
      return unbuildable(err);
    }
    const result = await client.deliver({ webhookId: job.webhookId, eventId: job.event.id, eventType: job.event.type, attempt: job.attempt, headers: request.headers, body: request.body });
    return { kind: 'attempted', result, outcome: classify(result) };
  }
}

function retryLater(result: HttpResult): WebhookResult {
  return { kind: 'attempted', result, outcome: { kind: 'retry', retryAfterMs: null } };
}
