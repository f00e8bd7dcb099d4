import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import { encodeTime, monotonicFactory, ulid } from 'ulid';

/**
 * Random numbers for ULIDs from a pooled crypto buffer: ulid's default draws
 * from the OS once per character, which made a fresh id cost ~90 µs, a real
 * share of a delivery's CPU.
 */
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;
function pooledRandom(): number {
  if (poolOffset + 4 > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const value = pool.readUInt32BE(poolOffset) / 0x1_0000_0000;
  poolOffset += 4;
  return value;
}

const nextUlid = monotonicFactory(pooledRandom);

/** Time-ordered, prefixed ids: lexical order is creation order, which cursors rely on. */
export function newId(prefix: string): string {
  return `${prefix}_${nextUlid()}`;
}

/** An id as newId would have made it at `at` (imports, fixtures). */
export function newIdAt(prefix: string, at: Date): string {
  return `${prefix}_${ulid(at.getTime(), pooledRandom)}`;
}

/**
 * The lowest id of `prefix` made at `at` or later: every id made before `at`
 * sorts below it (ULIDs start with their time), so a time range is an _id range.
 */
export function idTimeBound(prefix: string, at: Date): string {
  return `${prefix}_${encodeTime(at.getTime(), 10)}`;
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
