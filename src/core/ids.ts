import { createHash, randomBytes } from 'node:crypto';
import { monotonicFactory } from 'ulid';

const nextUlid = monotonicFactory();

/** Time-ordered, prefixed ids: lexical order is creation order, which cursors rely on. */
export function newId(prefix: string): string {
  return `${prefix}_${nextUlid()}`;
}

/**
 * The webhook-id of one event to one subscription: derived, not random, so every
 * attempt, every replay and even a re-routed duplicate carry the same id and
 * receivers can dedupe on it.
 */
export function webhookIdFor(eventId: string, subscriptionId: string): string {
  const digest = createHash('sha256').update(`${eventId}\n${subscriptionId}`).digest('base64url');
  return `msg_${digest.slice(0, 27)}`;
}

export function randomToken(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}
