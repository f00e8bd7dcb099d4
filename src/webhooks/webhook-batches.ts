import type { DeliveryJob } from '../broker/port';
import { BatchQueue } from '../core/batch-queue';
import type { BatchTimers } from '../core/batch-queue';
import { systemClock } from '../core/clock';
import type { Clock } from '../core/clock';
import { newId } from '../core/ids';
import type { EventEnvelope } from '../events/envelope';
import type { LoadedWebhook } from '../subscriptions/subscription-cache';
import type { BatchOptions } from '../subscriptions/model';
import type { HttpSender, SendOptions } from '../transport/http-sender';
import { classify } from '../transport/outcome';
import { maskSecretHeaders } from '../subscriptions/secret-headers';
import { sentRequest } from '../transport/sent-request';
import type { PayloadBuilder } from './payload';
import { signedRequest } from './webhook-request';
import type { Admission, WebhookResult } from './webhook-request';

export interface WebhookBatchesOptions {
  sender: HttpSender;
  /** Waits until the subscription's rate allows one more request: a batch is one request, however many events it holds. */
  admit(subscription: LoadedWebhook['record']): Promise<Admission>;
  /** The endpoint answered 429: the subscription's rate slows down for a while. */
  throttled(subscription: LoadedWebhook['record']): void;
  payloads: PayloadBuilder;
  /** How much of each request body the attempt record keeps (bytes). */
  requestBodyBytes: number;
  sendOptions(loaded: LoadedWebhook): SendOptions | undefined;
  /** Unbuildable events (a transform hit a sandbox limit): the attempt of that event alone. */
  unbuildable(err: unknown): WebhookResult;
  clock?: Clock;
  timers?: BatchTimers;
}

/** One job waiting in its subscription's open batch, with its event as the batch will carry it. */
interface Member {
  job: DeliveryJob;
  entry: string;
}

/**
 * Batch delivery for webhook subscriptions with `batch` settings. A job's event is shaped on its own
 * (field selection, transform, encryption) and joins its subscription's open batch in this process;
 * the batch goes as one signed request when it holds maxEvents events, when the next event would
 * take it past maxBytes, or when its first event has waited maxWaitMs. One batch of a subscription
 * is in flight per process at a time; events that come meanwhile form the next one, and an event
 * that finds that one full comes back later (deferred, same attempt).
 *
 * The jobs' messages stay unacknowledged while they wait and while the request is in flight: every
 * job resolves with the batch's one attempt and `settles`, the batch job, which the worker settles
 * once (one attempt record; a retry or dead letter of the whole batch) before any of them is acked.
 * A worker that dies first leaves its messages to be handed over again: nothing is lost. The batch
 * job carries its events, so its retries and replays send the same events under the same webhook-id.
 */
export class WebhookBatches {
  private readonly queue: BatchQueue<Member, WebhookResult>;
  private readonly clock: Clock;

  constructor(private readonly options: WebhookBatchesOptions) {
    this.clock = options.clock ?? systemClock;
    this.queue = new BatchQueue(this.clock, options.timers);
  }

  async send(job: DeliveryJob, loaded: LoadedWebhook, batch: BatchOptions): Promise<WebhookResult> {
    // A batch job (a retry or a replay of a batch) goes as it is, under the subscription's rate.
    if (job.batch) {
      const admitted = await this.options.admit(loaded.record);
      if (admitted.kind === 'deferred') return admitted;
      return this.sendBatch(job, loaded, await this.entries(job.batch.events, loaded), admitted.at);
    }
    let entry: string;
    try {
      entry = await this.options.payloads.batchEntry(job.event, loaded.record);
    } catch (err) {
      // This event cannot be shaped: it fails alone, the batch goes on without it.
      return this.options.unbuildable(err);
    }
    const limits = { maxItems: batch.maxEvents, maxWaitMs: batch.maxWaitMs, maxBytes: batch.maxBytes };
    const outcome = await this.queue.add(loaded.record.id, limits, { job, entry }, (members) => this.flush(members, loaded), Buffer.byteLength(entry));
    return outcome.kind === 'sent' ? outcome.value : { kind: 'deferred', delayMs: outcome.delayMs };
  }

  /** Jobs waiting in this subscription's open batch here. */
  waiting(subscriptionId: string): number {
    return this.queue.waiting(subscriptionId);
  }

  private async flush(members: Member[], loaded: LoadedWebhook): Promise<{ kind: 'sent'; value: WebhookResult }> {
    // Under the subscription's rate: without a slot soon, every event of the batch comes back later (same attempt).
    const admitted = await this.options.admit(loaded.record);
    if (admitted.kind === 'deferred') return { kind: 'sent', value: admitted };
    const first = members[0] as Member;
    const accepted = members.map((m) => m.job.acceptedAt).filter((at): at is number => at !== undefined);
    const job: DeliveryJob = {
      webhookId: newId('msg'),
      tenantId: first.job.tenantId,
      subscriptionId: first.job.subscriptionId,
      event: first.job.event,
      attempt: 1,
      ...(accepted.length > 0 ? { acceptedAt: Math.min(...accepted) } : {}),
      batch: { id: newId('bat'), events: members.map((m) => m.job.event) },
    };
    return { kind: 'sent', value: await this.sendBatch(job, loaded, members.map((m) => m.entry), admitted.at) };
  }

  private async entries(events: EventEnvelope[], loaded: LoadedWebhook): Promise<string[]> {
    return Promise.all(events.map((event) => this.options.payloads.batchEntry(event, loaded.record)));
  }

  /** The batch's one request: its events' entries, signed under the batch's webhook-id with the time it was let go. */
  private async sendBatch(job: DeliveryJob, loaded: LoadedWebhook, entries: string[], at: number): Promise<WebhookResult> {
    const subscription = loaded.record;
    const batch = job.batch as NonNullable<DeliveryJob['batch']>;
    const body =
      `{"type":"batch","data":[${entries.join(',')}],"webhook":{"subscription_id":${JSON.stringify(subscription.id)},` +
      `"delivery_attempt":${job.attempt},"batch_id":${JSON.stringify(batch.id)}}}`;
    const request = signedRequest(subscription, loaded.secrets, job.webhookId, body, new Date(at));
    const result = await this.options.sender.send(request.url, request.headers, request.body, 'POST', this.options.sendOptions(loaded));
    if (result.status === 429) this.options.throttled(subscription);
    const headers = subscription.secretHeaders?.length ? maskSecretHeaders(request.headers, subscription) : request.headers;
    const shown = sentRequest('POST', request.url, headers, request.body, this.options.requestBodyBytes);
    return {
      kind: 'attempted',
      result,
      outcome: classify(result),
      extras: { request: shown, batch: { id: batch.id, eventIds: batch.events.map((e) => e.id) } },
      settles: job,
    };
  }
}
