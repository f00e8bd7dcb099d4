import { createHmac, createPrivateKey, createSecretKey, generateKeyPairSync, sign as signBytes } from 'node:crypto';
import { randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { Memo } from '../core/memo';
import { PUBLIC_KEY_PREFIX, SECRET_PREFIX } from '../verify';

// Receivers verify with src/verify (published as `hookhub/verify`); the hub only signs.

/** HMAC-SHA256 with a `whsec_` secret, or Ed25519 with a `whsk_` key. */
export type SigningAlgorithm = 'hmac-sha256' | 'ed25519';

/** Ed25519 signing keys: `whsk_` + base64 of the 32-byte seed, as the Standard Webhooks libraries read them. */
export const SIGNING_KEY_PREFIX = 'whsk_';
// DER PKCS#8 header of an Ed25519 private key (RFC 8410); the 32-byte seed follows.
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export function generateSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString('base64')}`;
}

/** A new Ed25519 key pair: `whsk_<base64 seed>` (stays in the hub) and `whpk_<base64 32-byte public key>`. */
export function generateEd25519KeyPair(): { secretKey: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  return {
    secretKey: `${SIGNING_KEY_PREFIX}${Buffer.from(String(jwk.d), 'base64url').toString('base64')}`,
    publicKey: `${PUBLIC_KEY_PREFIX}${Buffer.from(String(publicKey.export({ format: 'jwk' }).x), 'base64url').toString('base64')}`,
  };
}

/** A new signing secret for a subscription: a `whsec_` secret, or an Ed25519 pair whose public half is shown to the tenant. */
export function generateSigningKey(algorithm: SigningAlgorithm): { secret: string; publicKey: string | null } {
  if (algorithm === 'ed25519') {
    const pair = generateEd25519KeyPair();
    return { secret: pair.secretKey, publicKey: pair.publicKey };
  }
  return { secret: generateSecret(), publicKey: null };
}

export function secretKey(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  return Buffer.from(encoded, 'base64');
}

/** Decoded HMAC keys by secret: every delivery signs twice, so decoding once per secret pays. */
const hmacKeys = new Memo<string, KeyObject>(5000);

function hmacKey(secret: string): KeyObject {
  return hmacKeys.get(secret, (s) => createSecretKey(secretKey(s)));
}

export interface SignatureHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
  /** HMAC subscriptions only: the older scheme has no asymmetric form. */
  'x-webhook-signature'?: string;
  'x-webhook-timestamp'?: string;
}

const signingKeys = new Memo<string, KeyObject>(5000);

function ed25519Key(secret: string): KeyObject {
  return signingKeys.get(secret, (s) => {
    // 32-byte seed as the spec's libraries write it; a 64-byte seed+public form is accepted too.
    const seed = Buffer.from(s.slice(SIGNING_KEY_PREFIX.length), 'base64').subarray(0, 32);
    if (seed.length !== 32) throw new Error('A whsk_ signing key must hold a 32-byte Ed25519 seed');
    return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  });
}

/**
 * Standard Webhooks over `{id}.{timestamp}.{body}`: `v1,<base64 HMAC-SHA256>` for a
 * `whsec_` secret, `v1a,<base64 Ed25519>` for a `whsk_` key; one signature per
 * secret during a rotation, newest first. For HMAC subscriptions, also the older
 * `X-Webhook-Signature: sha256=<hex of HMAC(body)>` for receivers built on it.
 */
export function signPayload(webhookId: string, timestampSeconds: number, body: string, secrets: readonly string[]): SignatureHeaders {
  const signed = `${webhookId}.${timestampSeconds}.${body}`;
  const signatures = secrets.map((s) =>
    s.startsWith(SIGNING_KEY_PREFIX)
      ? `v1a,${signBytes(null, Buffer.from(signed, 'utf8'), ed25519Key(s)).toString('base64')}`
      : `v1,${createHmac('sha256', hmacKey(s)).update(signed).digest('base64')}`,
  );
  const primary = secrets[0];
  if (primary === undefined) throw new Error('signPayload needs at least one secret');
  const headers: SignatureHeaders = {
    'webhook-id': webhookId,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': signatures.join(' '),
  };
  if (!primary.startsWith(SIGNING_KEY_PREFIX)) {
    headers['x-webhook-signature'] = `sha256=${createHmac('sha256', hmacKey(primary)).update(body).digest('hex')}`;
    headers['x-webhook-timestamp'] = String(timestampSeconds);
  }
  return headers;
}
