/*
 * Verifying Hookhub webhooks (Standard Webhooks) in a receiver.
 *
 * Self-contained on purpose: it imports node:crypto only, so it ships to receivers as the
 * package @hookhub/verify (packages/verify builds it from this file) without the hub's
 * dependencies, and can be copied as one file.
 *
 *   v1  (HMAC-SHA256) verifies with the subscription's `whsec_...` secret;
 *   v1a (Ed25519)     verifies with the subscription's `whpk_...` public key.
 */
import { createHmac, createPublicKey, timingSafeEqual, verify as verifySignature } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

export type WebhookVerificationErrorCode =
  /** A webhook-id, webhook-timestamp or webhook-signature header is absent or empty. */
  | 'missing_header'
  /** webhook-timestamp is not whole Unix seconds. */
  | 'invalid_timestamp'
  /** webhook-timestamp is further in the past than the tolerance (a replay, or a very late retry). */
  | 'timestamp_too_old'
  /** webhook-timestamp is further in the future than the tolerance (a clock problem on either side). */
  | 'timestamp_too_new'
  /** The key is neither `whsec_...` nor `whpk_...`, or does not decode to a usable key. */
  | 'invalid_key'
  /** The header carries only signatures of the other scheme than the key verifies (v1 vs v1a). */
  | 'wrong_key_type'
  /** No signature of the key's scheme matches: forged, tampered with, or another key. */
  | 'invalid_signature'
  /** The body is not a string or Buffer (for example it was parsed as JSON first). */
  | 'invalid_body';

export class WebhookVerificationError extends Error {
  readonly code: WebhookVerificationErrorCode;
  constructor(code: WebhookVerificationErrorCode, message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
    this.code = code;
  }
}

export interface VerifyWebhookOptions {
  /** How far webhook-timestamp may be from now, either way. Default 300 (5 minutes). */
  toleranceSeconds?: number;
  /** "Now" in Unix seconds, for tests. Default: the current time. */
  now?: number;
}

export interface VerifiedWebhook {
  /** webhook-id: the same on every retry and replay of one event to one endpoint; dedupe on it. */
  webhookId: string;
  /** webhook-timestamp, Unix seconds. */
  timestamp: number;
  /** The scheme of the signature that matched. */
  signatureVersion: 'v1' | 'v1a';
}

export type WebhookHeaders = Record<string, string | string[] | undefined> | Headers;

export const SECRET_PREFIX = 'whsec_';
export const PUBLIC_KEY_PREFIX = 'whpk_';
const SIGNING_KEY_PREFIX = 'whsk_';
const DEFAULT_TOLERANCE_SECONDS = 5 * 60;
// DER SubjectPublicKeyInfo header of an Ed25519 key (RFC 8410); the 32 raw key bytes follow.
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/**
 * Checks a delivery's Standard Webhooks signature and timestamp; throws a
 * WebhookVerificationError (see its `code`) when it must be refused.
 * Pass the raw body exactly as received: parsing and re-serialising JSON changes it.
 */
export function verifyWebhook(rawBody: string | Buffer, headers: WebhookHeaders, secretOrPublicKey: string, options: VerifyWebhookOptions = {}): VerifiedWebhook {
  if (typeof rawBody !== 'string' && !Buffer.isBuffer(rawBody)) {
    throw new WebhookVerificationError('invalid_body', 'Pass the raw request body as a string or Buffer, exactly as received (not parsed JSON).');
  }
  const key = parseKey(secretOrPublicKey);
  const webhookId = header(headers, 'webhook-id');
  const timestampText = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!/^\d{1,12}$/.test(timestampText)) {
    throw new WebhookVerificationError('invalid_timestamp', `webhook-timestamp "${timestampText.slice(0, 40)}" is not Unix seconds.`);
  }
  const timestamp = Number(timestampText);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (now - timestamp > tolerance) {
    throw new WebhookVerificationError('timestamp_too_old', `webhook-timestamp is ${now - timestamp} s in the past, more than the ${tolerance} s allowed: refused as a possible replay.`);
  }
  if (timestamp - now > tolerance) {
    throw new WebhookVerificationError('timestamp_too_new', `webhook-timestamp is ${timestamp - now} s in the future, more than the ${tolerance} s allowed: check the clocks.`);
  }
  const signed = Buffer.concat([Buffer.from(`${webhookId}.${timestampText}.`, 'utf8'), Buffer.isBuffer(rawBody) ? rawBody : Buffer.from(rawBody, 'utf8')]);
  const entries = signatures.split(' ').filter((e) => e !== '').map((entry) => {
    const comma = entry.indexOf(',');
    return comma < 0 ? { version: entry, signature: '' } : { version: entry.slice(0, comma), signature: entry.slice(comma + 1) };
  });
  const ours = entries.filter((e) => e.version === key.version);
  if (ours.length === 0) {
    const other = key.version === 'v1' ? 'v1a' : 'v1';
    if (entries.some((e) => e.version === other)) {
      throw new WebhookVerificationError(
        'wrong_key_type',
        key.version === 'v1'
          ? 'webhook-signature carries only v1a (Ed25519) signatures: verify them with the subscription\'s whpk_ public key, not a whsec_ secret.'
          : 'webhook-signature carries only v1 (HMAC) signatures: verify them with the subscription\'s whsec_ secret, not a whpk_ public key.',
      );
    }
    throw new WebhookVerificationError('invalid_signature', `webhook-signature has no ${key.version} signature.`);
  }
  const expected = key.version === 'v1' ? createHmac('sha256', key.secret).update(signed).digest() : null;
  const matched = ours.some(({ signature }) => {
    const given = Buffer.from(signature, 'base64');
    if (expected) return given.length === expected.length && timingSafeEqual(given, expected);
    return key.version === 'v1a' && given.length === 64 && verifySignature(null, signed, key.publicKey, given);
  });
  if (!matched) throw new WebhookVerificationError('invalid_signature', `No ${key.version} signature in webhook-signature matches this body with this key.`);
  return { webhookId, timestamp, signatureVersion: key.version };
}

type ParsedKey = { version: 'v1'; secret: Buffer } | { version: 'v1a'; publicKey: KeyObject };

function parseKey(key: string): ParsedKey {
  if (typeof key !== 'string') throw new WebhookVerificationError('invalid_key', 'The key must be a string: the whsec_ secret or the whpk_ public key.');
  if (key.startsWith(SECRET_PREFIX)) {
    const secret = Buffer.from(key.slice(SECRET_PREFIX.length), 'base64');
    if (secret.length === 0) throw new WebhookVerificationError('invalid_key', 'The whsec_ secret is empty or not base64.');
    return { version: 'v1', secret };
  }
  if (key.startsWith(PUBLIC_KEY_PREFIX)) {
    const raw = Buffer.from(key.slice(PUBLIC_KEY_PREFIX.length), 'base64');
    if (raw.length !== 32) throw new WebhookVerificationError('invalid_key', `The whpk_ public key must be 32 bytes in base64; it decodes to ${raw.length}.`);
    return { version: 'v1a', publicKey: createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' }) };
  }
  if (key.startsWith(SIGNING_KEY_PREFIX)) {
    throw new WebhookVerificationError('invalid_key', 'whsk_ is a private signing key, which receivers never need: verify with the subscription\'s whpk_ public key.');
  }
  throw new WebhookVerificationError('invalid_key', 'The key must start with whsec_ (HMAC secret, v1 signatures) or whpk_ (Ed25519 public key, v1a signatures).');
}

function header(headers: WebhookHeaders, name: string): string {
  let value: string | string[] | null | undefined;
  if (typeof (headers as Headers).get === 'function' && typeof (headers as Headers).has === 'function') {
    value = (headers as Headers).get(name);
  } else {
    const record = headers as Record<string, string | string[] | undefined>;
    value = record[name];
    if (value === undefined) {
      const found = Object.keys(record).find((k) => k.toLowerCase() === name);
      if (found !== undefined) value = record[found];
    }
  }
  const single = Array.isArray(value) ? value.join(' ') : value;
  if (single === undefined || single === null || single.trim() === '') throw new WebhookVerificationError('missing_header', `The ${name} header is missing.`);
  return single.trim();
}
