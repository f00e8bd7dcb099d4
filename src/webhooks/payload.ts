import { UnrecoverableError } from '../core/errors';
import { compileJsonata } from '../core/jsonata';
import type { CompiledExpression } from '../core/jsonata';
import { getPath, setPath } from '../core/json-path';
import { Memo } from '../core/memo';
import type { EventEnvelope } from '../events/envelope';
import type { EncryptionOptions } from '../transport/payload-encryption';
import type { PayloadOptions, WebhookSubscription } from '../subscriptions/model';
import { PayloadEncryptor } from '../transport/payload-encryption';

export interface WebhookBody {
  id: string;
  type: string;
  created: string;
  data: unknown;
  webhook: { subscription_id: string; delivery_attempt: number };
}

/** `data.contact.email` and `contact.email` both name a field of the event data. */
function dataPath(path: string): string {
  return path.startsWith('data.') ? path.slice('data.'.length) : path;
}

export function selectFields(data: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of fields) {
    const path = dataPath(field);
    const value = getPath(data, path);
    if (value !== undefined) setPath(out, path, value);
  }
  return out;
}

/** Builds the body of one delivery. A transform sees the whole envelope and its result becomes `data`. */
export class PayloadBuilder {
  private readonly transforms = new Memo<string, CompiledExpression>(5000);
  private readonly encryptor = new PayloadEncryptor();

  /** Encrypts the listed fields (or all of `data`) to the subscription's public JWK: after shaping, before signing. */
  async encrypt(body: WebhookBody, options: EncryptionOptions): Promise<WebhookBody> {
    try {
      return await this.encryptor.encrypt(body, options);
    } catch (err) {
      throw new UnrecoverableError('payload_encryption_failed', `Could not encrypt the payload: ${(err as Error).message}`, { cause: err });
    }
  }

  async build(envelope: EventEnvelope, options: PayloadOptions | null, subscriptionId: string, attempt: number): Promise<WebhookBody> {
    return {
      id: envelope.id,
      type: envelope.type,
      created: envelope.timestamp,
      data: await this.data(envelope, options),
      webhook: { subscription_id: subscriptionId, delivery_attempt: attempt },
    };
  }

  /**
   * The body of one delivery as sent: JSON.stringify of build() (encrypted when the subscription asks
   * for it), byte for byte. Unencrypted bodies are assembled around the JSON of `data`, which for an
   * unshaped subscription is serialized once per event rather than once per subscription.
   */
  async serialize(envelope: EventEnvelope, subscription: Pick<WebhookSubscription, 'id' | 'payload' | 'encryption'>, attempt: number): Promise<string> {
    if (subscription.encryption) {
      return JSON.stringify(await this.encrypt(await this.build(envelope, subscription.payload, subscription.id, attempt), subscription.encryption));
    }
    const options = subscription.payload;
    const data = isShaping(options) ? JSON.stringify(await this.data(envelope, options)) : rawDataJson(envelope);
    return (
      `{"id":${JSON.stringify(envelope.id)},"type":${JSON.stringify(envelope.type)},"created":${JSON.stringify(envelope.timestamp)},"data":${data},` +
      `"webhook":{"subscription_id":${JSON.stringify(subscription.id)},"delivery_attempt":${JSON.stringify(attempt)}}}`
    );
  }

  /**
   * One event as a batch carries it: {id, type, created, data}, shaped (then encrypted) as a delivery
   * of it alone would be, as JSON. The batch's `webhook` object is the batch's own.
   */
  async batchEntry(envelope: EventEnvelope, subscription: Pick<WebhookSubscription, 'id' | 'payload' | 'encryption'>): Promise<string> {
    let body = await this.build(envelope, subscription.payload, subscription.id, 0);
    if (subscription.encryption) body = await this.encrypt(body, subscription.encryption);
    const { webhook: _webhook, ...entry } = body;
    return JSON.stringify(entry);
  }

  /** `data` of the body: the transform's result, the selected fields, or the event data as it is. */
  private async data(envelope: EventEnvelope, options: PayloadOptions | null): Promise<unknown> {
    let data: unknown = envelope.data;
    if (options?.transform) data = await this.transform(options.transform).evaluate(envelope);
    else if (options?.fields && options.fields.length > 0) data = selectFields(envelope.data, options.fields);
    return data ?? null;
  }

  private transform(source: string): CompiledExpression {
    return this.transforms.get(source, compileJsonata);
  }
}

function isShaping(options: PayloadOptions | null): boolean {
  return Boolean(options?.transform) || (options?.fields?.length ?? 0) > 0;
}

/** The event data as JSON, once per event (the jobs of one event share its envelope object). */
const dataJson = new WeakMap<EventEnvelope, string>();

function rawDataJson(envelope: EventEnvelope): string {
  let json = dataJson.get(envelope);
  if (json === undefined) {
    json = JSON.stringify(envelope.data ?? null);
    dataJson.set(envelope, json);
  }
  return json;
}
