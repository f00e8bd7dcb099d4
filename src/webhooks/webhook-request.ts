import type { DeliveryJob } from '../broker/port';
import type { EventEnvelope } from '../events/envelope';
import type { DeadLetterReason } from '../subscriptions/model';
import type { HttpResult } from '../transport/http-sender';
import type { Outcome } from '../transport/outcome';
import type { SentRequest } from '../transport/sent-request';
import type { WebhookSubscription } from '../subscriptions/model';
import type { LoadedRelay, LoadedWebhook } from '../subscriptions/subscription-cache';
import type { PayloadBuilder } from './payload';
import { USER_AGENT } from '../transport/http-sender';
import { signPayload } from '../transport/signing';

export interface WebhookRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * The exact request of one attempt: shaped (then encrypted) body, custom headers, then the
 * signature headers (v1 for HMAC subscriptions, v1a for Ed25519 ones; X-Webhook-Signature for HMAC only).
 * The custom headers are `subscription.headers`: give the record as SubscriptionCache or
 * SubscriptionService.forSending return it, whose headers hold the secret ones' values too.
 */
export async function buildWebhookRequest(
  builder: PayloadBuilder,
  subscription: Pick<WebhookSubscription, 'id' | 'endpointUrl' | 'headers' | 'payload' | 'encryption'>,
  secrets: readonly string[],
  webhookId: string,
  event: EventEnvelope,
  attempt: number,
  now: Date = new Date(),
): Promise<WebhookRequest> {
  // Shaped, then encrypted when asked for, before signing: the signatures cover exactly the bytes sent.
  const body = await builder.serialize(event, subscription, attempt);
  return signedRequest(subscription, secrets, webhookId, body, now);
}

/** The request that posts `body` (built already: one event's, or a batch's) to the endpoint, signed. */
export function signedRequest(
  subscription: Pick<WebhookSubscription, 'endpointUrl' | 'headers'>,
  secrets: readonly string[],
  webhookId: string,
  body: string,
  now: Date,
): WebhookRequest {
  const signature = signPayload(webhookId, Math.floor(now.getTime() / 1000), body, secrets);
  return {
    url: subscription.endpointUrl,
    headers: {
      ...subscription.headers,
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
      ...signature,
    },
    body,
  };
}

/**
 * The request a loaded webhook or relay subscription gets for one attempt: what WebhookTarget sends,
 * what RelayTarget hands its listening client, and what a dry run (POST /v1/events/inspect) shows.
 * A relay is shaped and signed like a webhook with no custom headers and no encryption, addressed
 * to `listen:<relay id>`.
 */
export function requestFor(builder: PayloadBuilder, loaded: LoadedWebhook | LoadedRelay, webhookId: string, event: EventEnvelope, attempt: number, now: Date): Promise<WebhookRequest> {
  const record = loaded.record;
  const target = record.kind === 'relay' ? { id: record.id, endpointUrl: `listen:${record.id}`, headers: {}, payload: record.payload, encryption: null } : record;
  return buildWebhookRequest(builder, target, loaded.secrets, webhookId, event, attempt, now);
}

/** What send resolves to: the pipeline's TargetResult by shape (this floor does not import the pipeline). */
/**
 * A request of a subscription under its rate: go (at the rate applied, null: none; `at`, the clock when it was let
 * go, is the time it is signed with), or come back after delayMs.
 */
export type Admission = { kind: 'go'; rate: number | null; at: number } | { kind: 'deferred'; delayMs: number };

export type WebhookResult =
  | {
      kind: 'attempted';
      result: HttpResult;
      outcome: Outcome;
      deadReason?: DeadLetterReason;
      extras?: { request: SentRequest; batch?: { id: string; eventIds: string[] } };
      /** A batch's attempt: the batch job settled for this job (see WebhookBatches). */
      settles?: DeliveryJob;
    }
  | { kind: 'deferred'; delayMs: number };
