import type { EventEnvelope } from '../events/envelope';
import type { SubscriptionRecord } from '../store/port';
import type { PayloadBuilder } from './payload';
import { signPayload } from './signing';

export const USER_AGENT = `Hookhub/${process.env['npm_package_version'] ?? readVersion()}`;

function readVersion(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('../../package.json') as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

export interface WebhookRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * The exact request of one attempt: shaped (then encrypted) body, custom headers, then the
 * signature headers (v1 for HMAC subscriptions, v1a for Ed25519 ones; X-Webhook-Signature for HMAC only).
 */
export async function buildWebhookRequest(
  builder: PayloadBuilder,
  subscription: SubscriptionRecord,
  secrets: readonly string[],
  webhookId: string,
  event: EventEnvelope,
  attempt: number,
  now: Date = new Date(),
): Promise<WebhookRequest> {
  let body: string;
  const options = subscription.payload;
  if (!subscription.encryption && !options?.transform && !options?.fields?.length) {
    body = plainBody(event, subscription.id, attempt);
  } else {
    const shaped = await builder.build(event, options, subscription.id, attempt);
    // Encrypted before signing, so the signatures cover exactly the bytes sent.
    const payload = subscription.encryption ? await builder.encrypt(shaped, subscription.encryption) : shaped;
    body = JSON.stringify(payload);
  }
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

/** The event data as JSON, once per event: every subscription that takes it unshaped sends the same bytes. */
const dataJson = new WeakMap<EventEnvelope, string>();

/**
 * The body of an unshaped, unencrypted delivery, byte for byte what JSON.stringify
 * gives for the WebhookBody {id, type, created, data, webhook}, with `data`
 * serialized once per event rather than once per subscription.
 */
function plainBody(event: EventEnvelope, subscriptionId: string, attempt: number): string {
  let data = dataJson.get(event);
  if (data === undefined) {
    data = JSON.stringify(event.data ?? null);
    dataJson.set(event, data);
  }
  return (
    `{"id":${JSON.stringify(event.id)},"type":${JSON.stringify(event.type)},"created":${JSON.stringify(event.timestamp)},"data":${data},` +
    `"webhook":{"subscription_id":${JSON.stringify(subscriptionId)},"delivery_attempt":${JSON.stringify(attempt)}}}`
  );
}
