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

/** One check of a verification, in the order verifyWebhook makes them. */
export type WebhookCheckName = 'body' | 'key' | 'headers' | 'timestamp' | 'signature';

export interface WebhookCheck {
  name: WebhookCheckName;
  /** `not_run`: an earlier check failed. */
  status: 'passed' | 'failed' | 'not_run';
}

/** Why a delivery verifies or not, for a developer debugging a receiver (explainWebhook). */
export interface WebhookVerificationReport {
  valid: boolean;
  /** The check that failed, with verifyWebhook's code and message; null when valid. */
  failure: { check: WebhookCheckName; code: WebhookVerificationErrorCode; message: string } | null;
  checks: WebhookCheck[];
  webhookId: string | null;
  /** webhook-timestamp, Unix seconds, when it is one. */
  timestamp: number | null;
  /** How far webhook-timestamp is in the past (negative: in the future), seconds. */
  ageSeconds: number | null;
  toleranceSeconds: number;
  /** The entries of webhook-signature as received. */
  receivedSignatures: string[];
  /**
   * For a whsec_ secret: the v1 signature this id, timestamp and body carry with it, to compare with
   * what was received. Null for a whpk_ public key (only the signer can make an Ed25519 signature),
   * or when webhook-id or webhook-timestamp is missing.
   */
  expectedSignature: string | null;
  /** Likely causes spotted on the way, in plain words (a body changed by a framework, a clock off). */
  hints: string[];
}

const CHECK_OF: Record<WebhookVerificationErrorCode, WebhookCheckName> = {
  invalid_body: 'body',
  invalid_key: 'key',
  missing_header: 'headers',
  invalid_timestamp: 'timestamp',
  timestamp_too_old: 'timestamp',
  timestamp_too_new: 'timestamp',
  wrong_key_type: 'signature',
  invalid_signature: 'signature',
};
const CHECK_ORDER: readonly WebhookCheckName[] = ['body', 'key', 'headers', 'timestamp', 'signature'];

/**
 * verifyWebhook's verdict, explained: which check failed and why, never thrown. With a whsec_
 * secret it also gives the signature expected for this id, timestamp and body, and hints at the
 * usual causes (a body re-serialised or given a trailing newline, a clock off by hours).
 */
export function explainWebhook(rawBody: string | Buffer, headers: WebhookHeaders, secretOrPublicKey: string, options: VerifyWebhookOptions = {}): WebhookVerificationReport {
  let failure: WebhookVerificationReport['failure'] = null;
  try {
    verifyWebhook(rawBody, headers, secretOrPublicKey, options);
  } catch (err) {
    if (!(err instanceof WebhookVerificationError)) throw err;
    failure = { check: CHECK_OF[err.code], code: err.code, message: err.message };
  }
  const failedAt = failure === null ? CHECK_ORDER.length : CHECK_ORDER.indexOf(failure.check);
  const checks = CHECK_ORDER.map((name, i): WebhookCheck => ({ name, status: i < failedAt ? 'passed' : i === failedAt ? 'failed' : 'not_run' }));
  const webhookId = optionalHeader(headers, 'webhook-id');
  const timestampText = optionalHeader(headers, 'webhook-timestamp');
  const timestamp = timestampText !== null && /^\d{1,12}$/.test(timestampText) ? Number(timestampText) : null;
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const receivedSignatures = (optionalHeader(headers, 'webhook-signature') ?? '').split(' ').filter((e) => e !== '');
  const body = typeof rawBody === 'string' || Buffer.isBuffer(rawBody) ? Buffer.from(rawBody) : null;
  const secret = typeof secretOrPublicKey === 'string' && secretOrPublicKey.startsWith(SECRET_PREFIX) ? Buffer.from(secretOrPublicKey.slice(SECRET_PREFIX.length), 'base64') : null;
  const sign = (bytes: Buffer): string | null =>
    secret !== null && secret.length > 0 && webhookId !== null && timestampText !== null
      ? `v1,${createHmac('sha256', secret).update(Buffer.concat([Buffer.from(`${webhookId}.${timestampText}.`, 'utf8'), bytes])).digest('base64')}`
      : null;
  const expectedSignature = body === null ? null : sign(body);
  const hints: string[] = [];
  if (failure?.code === 'invalid_signature' && body !== null) {
    const trimmed = body.toString('utf8').replace(/\s+$/, '');
    const matchesTrimmed = trimmed.length !== body.length && receivedSignatures.includes(sign(Buffer.from(trimmed, 'utf8')) ?? '');
    if (matchesTrimmed) hints.push('The signature matches the body without its trailing whitespace or newline: verify the raw body exactly as received.');
    else if (secret !== null && isJsonReserialised(body)) hints.push('The body looks re-serialised JSON (it was parsed and written again): verify the raw bytes, before any JSON parsing.');
    else if (secret !== null) hints.push('Check that the secret is this subscription\'s current one (GET /v1/subscriptions/{id}/secret) and that the body is passed exactly as received.');
  }
  if ((failure?.code === 'timestamp_too_old' || failure?.code === 'timestamp_too_new') && timestamp !== null && Math.abs(now - timestamp) >= 3000) {
    hints.push('The timestamp is off by more than 50 minutes: a clock on either side may be wrong, or the delivery was captured long ago and sent again.');
  }
  return {
    valid: failure === null,
    failure,
    checks,
    webhookId,
    timestamp,
    ageSeconds: timestamp === null ? null : now - timestamp,
    toleranceSeconds: options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS,
    receivedSignatures,
    expectedSignature,
    hints,
  };
}

/** Pretty-printed JSON (the hub never sends it), or JSON with spaces after separators. */
function isJsonReserialised(body: Buffer): boolean {
  const text = body.toString('utf8');
  if (!/^\s*[[{]/.test(text)) return false;
  try {
    const parsed: unknown = JSON.parse(text);
    return JSON.stringify(parsed) !== text;
  } catch {
    return false;
  }
}

function optionalHeader(headers: WebhookHeaders, name: string): string | null {
  try {
    return header(headers, name);
  } catch {
    return null;
  }
}
