import { setTimeout as sleep } from 'node:timers/promises';
import type { DeliveryJob } from '../broker/port';
import { systemClock } from '../core/clock';
import type { Clock } from '../core/clock';
import { errorMessage, UnrecoverableError } from '../core/errors';
import { Memo } from '../core/memo';
import { ExpressionLimitError } from '../core/sandbox/expression-sandbox';
import type { RateSlots } from './rate-slots';
import type { LoadedWebhook } from '../subscriptions/subscription-cache';
import { notSentResult } from '../transport/http-sender';
import { sentRequest } from '../transport/sent-request';
import { maskSecretHeaders } from '../subscriptions/secret-headers';
import type { HttpSender, SendOptions } from '../transport/http-sender';
import { classify } from '../transport/outcome';
import type { PayloadBuilder } from './payload';
import { SubscriptionRateLimiter } from './subscription-rate-limiter';
import { requestFor } from './webhook-request';
import type { Admission, WebhookResult } from './webhook-request';
import { WebhookBatches } from './webhook-batches';
import type { BatchTimers } from '../core/batch-queue';

/** What an attempt record keeps of a request body unless told otherwise (HOOKHUB_ATTEMPT_REQUEST_BODY_BYTES). */
const DEFAULT_REQUEST_BODY_BYTES = 16_384;
/** How long a job waits when its subscription's rate limit has no room. */
const DEFER_MS = 1000;
/** The longest a job holds its place waiting for its subscription's rate limit before going back to the queue. */
const RATE_WAIT_MS = 2000;

export interface WebhookTargetOptions {
  sender: HttpSender;
  payloads: PayloadBuilder;
  /** Where the subscriptions' rate slots are claimed, shared by every worker process. */
  store: RateSlots;
  /** How much of each request body the attempt record keeps (bytes; 0: none). */
  requestBodyBytes?: number;
  /** The most deliveries a second the tenant's plan allows each subscription (null: no cap); absent: none. */
  planRate?: (tenantId: string) => Promise<number | null>;
  clock?: Clock;
  /** The timers of batch delivery's waits (tests drive them). */
  batchTimers?: BatchTimers;
}

/** Batch settings for the retry of a batch whose subscription stopped batching (only batch jobs use them). */
const ONE_BY_ONE = { maxEvents: 1, maxWaitMs: 100, maxBytes: 1024 };

export type { WebhookResult } from './webhook-request';

/** Delivers a job to a webhook subscription: its rate limit, then the shaped, signed POST to its endpoint. */
export class WebhookTarget {
  private readonly rates: SubscriptionRateLimiter;
  private readonly clock: Clock;
  private readonly batches: WebhookBatches;

  constructor(private readonly options: WebhookTargetOptions) {
    this.clock = options.clock ?? systemClock;
    this.rates = new SubscriptionRateLimiter(options.store, this.clock);
    this.batches = new WebhookBatches({
      sender: options.sender,
      admit: (subscription) => this.admit(subscription),
      throttled: (subscription) => this.rates.slowDown(subscription.id, this.clock.now()),
      payloads: options.payloads,
      requestBodyBytes: options.requestBodyBytes ?? DEFAULT_REQUEST_BODY_BYTES,
      sendOptions,
      unbuildable,
      clock: this.clock,
      ...(options.batchTimers ? { timers: options.batchTimers } : {}),
    });
  }

  /**
   * Deliveries to one origin share its concurrency, whichever subscriptions they come from. A batched
   * subscription's jobs hold none (a slot per job would cap a batch at the endpoint's few slots): its
   * batches go one at a time per process.
   */
  slotKey(subscription: LoadedWebhook): string | null {
    return subscription.record.batch ? null : endpointKey(subscription.record.endpointUrl);
  }

  /**
   * One request of the subscription (a single delivery, or a whole batch) under its rate: its own
   * `rateLimit.requestsPerSecond`, capped by its tenant's plan (also for subscriptions that ask for none).
   * Slots are shared by every worker: wait for one, or queue the work again. The request goes at its slot's
   * time and within its slot's second (`at`, the time it is signed with); a process too busy to wake up in
   * time gives the slot up and takes another.
   */
  private async admit(subscription: LoadedWebhook['record']): Promise<Admission> {
    const own = subscription.rateLimit?.requestsPerSecond ?? null;
    const cap = this.options.planRate ? await this.options.planRate(subscription.tenantId) : null;
    const rate = own === null ? cap : cap === null ? own : Math.min(own, cap);
    if (rate === null) return { kind: 'go', rate, at: this.clock.now() };
    const latest = this.clock.now() + RATE_WAIT_MS;
    for (let now = this.clock.now(); now < latest; now = this.clock.now()) {
      const slot = await this.rates.acquire(subscription.id, rate, latest - now);
      if (slot === null) break;
      // Timers can fire a little early by the clock: wait until the clock says so.
      for (let left = slot.at - this.clock.now(); left > 0; left = slot.at - this.clock.now()) await sleep(left);
      const at = this.clock.now();
      if (at < slot.until) return { kind: 'go', rate, at };
    }
    return { kind: 'deferred', delayMs: DEFER_MS };
  }

  async send(job: DeliveryJob, loaded: LoadedWebhook): Promise<WebhookResult> {
    const subscription = loaded.record;
    // A batch job whose subscription no longer batches still goes as the batch it is.
    if (subscription.batch || job.batch) return this.batches.send(job, loaded, subscription.batch ?? ONE_BY_ONE);
    const admitted = await this.admit(subscription);
    if (admitted.kind === 'deferred') return admitted;
    const rate = admitted.rate;
    try {
      const request = await requestFor(this.options.payloads, loaded, job.webhookId, job.event, job.attempt, new Date(admitted.at));
      const result = await this.options.sender.send(request.url, request.headers, request.body, 'POST', sendOptions(loaded));
      if (rate !== null && result.status === 429) this.rates.slowDown(subscription.id, this.clock.now());
      // The request as sent, from what was built anyway: the same headers object (masked only when the subscription
      // has secret headers) and the body string, cut only when it is longer than what is kept.
      const headers = subscription.secretHeaders?.length ? maskSecretHeaders(request.headers, subscription) : request.headers;
      const shown = sentRequest('POST', request.url, headers, request.body, this.options.requestBodyBytes ?? DEFAULT_REQUEST_BODY_BYTES);
      return { kind: 'attempted', result, outcome: classify(result), extras: { request: shown } };
    } catch (err) {
      return unbuildable(err);
    }
  }
}

/**
 * Building a delivery's request failed for good (a payload transform hit a sandbox limit, a secret cannot
 * be opened): the attempt, unsent, fails for good. Anything else is rethrown (the job goes back as it is).
 */
export function unbuildable(err: unknown): WebhookResult {
  if (!(err instanceof UnrecoverableError)) throw err;
  const reason = errorMessage(err);
  return {
    kind: 'attempted',
    result: notSentResult(reason),
    outcome: { kind: 'permanent', reason },
    ...(err instanceof ExpressionLimitError ? { deadReason: 'expression_failed' as const } : {}),
  };
}

/** The subscription's network rules for the sender: allowed addresses and its client certificate. */
function sendOptions(loaded: LoadedWebhook): SendOptions | undefined {
  const allowedIps = loaded.record.allowedIps ?? [];
  if (allowedIps.length === 0 && !loaded.tls) return undefined;
  return { ...(allowedIps.length ? { allowedIps } : {}), ...(loaded.tls ? { tls: loaded.tls } : {}) };
}

const origins = new Memo<string, string>(10_000);

/** The origin deliveries to `url` share a limit with (remembered per URL: asked once per delivery). */
export function endpointKey(url: string): string {
  return origins.get(url, originOf);
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}
