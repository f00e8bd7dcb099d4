import { createHmac, timingSafeEqual } from 'node:crypto';
import { randomBytes } from 'node:crypto';

export const SECRET_PREFIX = 'whsec_';

export function generateSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString('base64')}`;
}

export function secretKey(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  return Buffer.from(encoded, 'base64');
}

export interface SignatureHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
  'x-webhook-signature': string;
  'x-webhook-timestamp': string;
}

/**
 * Standard Webhooks v1 (HMAC-SHA256 over `{id}.{timestamp}.{body}`, base64),
 * one signature per secret during a rotation, plus the older
 * `X-Webhook-Signature: sha256=<hex of HMAC(body)>` for receivers built on it.
 */
export function signPayload(webhookId: string, timestampSeconds: number, body: string, secrets: readonly string[]): SignatureHeaders {
  const signed = `${webhookId}.${timestampSeconds}.${body}`;
  const signatures = secrets.map((s) => `v1,${createHmac('sha256', secretKey(s)).update(signed).digest('base64')}`);
  const primary = secrets[0];
  if (primary === undefined) throw new Error('signPayload needs at least one secret');
  return {
    'webhook-id': webhookId,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': signatures.join(' '),
    'x-webhook-signature': `sha256=${createHmac('sha256', secretKey(primary)).update(body).digest('hex')}`,
    'x-webhook-timestamp': String(timestampSeconds),
  };
}

export class WebhookVerificationError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
    this.code = code;
  }
}

const TOLERANCE_SECONDS = 5 * 60;

/** Verifies a Standard Webhooks v1 signature, for receivers written in Node. */
export function verifyWebhook(
  rawBody: string,
  headers: Record<string, string | string[] | undefined>,
  secret: string,
  nowSeconds: number = Math.floor(Date.now() / 1000),
): void {
  const header = (name: string): string => {
    const value = headers[name] ?? headers[name.toLowerCase()];
    const single = Array.isArray(value) ? value[0] : value;
    if (!single) throw new WebhookVerificationError('missing_header', `Missing ${name} header`);
    return single;
  };
  const id = header('webhook-id');
  const timestamp = Number(header('webhook-timestamp'));
  if (!Number.isInteger(timestamp)) throw new WebhookVerificationError('invalid_timestamp', 'webhook-timestamp is not a number');
  if (Math.abs(nowSeconds - timestamp) > TOLERANCE_SECONDS) {
    throw new WebhookVerificationError('timestamp_out_of_tolerance', 'webhook-timestamp is more than 5 minutes away from now');
  }
  const expected = createHmac('sha256', secretKey(secret)).update(`${id}.${timestamp}.${rawBody}`).digest();
  const ok = header('webhook-signature')
    .split(' ')
    .some((entry) => {
      const [version, signature] = entry.split(',', 2);
      if (version !== 'v1' || !signature) return false;
      const given = Buffer.from(signature, 'base64');
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
  if (!ok) throw new WebhookVerificationError('invalid_signature', 'No webhook-signature matches the payload');
}
