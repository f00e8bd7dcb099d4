import type { SecretBox } from '../core/secret-box';
import type { WebhookSubscription } from './model';

/** A subscription's signing secrets, unsealed, with the end of the previous one's overlap. */
export interface SigningSecrets {
  current: string;
  previous: string | null;
  previousExpiresAt: number;
}

/**
 * The unsealed secrets a delivery is signed with, newest first: the current one,
 * and the previous one while its rotation overlap lasts.
 */
export function signingSecrets(record: WebhookSubscription, secretBox: SecretBox): SigningSecrets {
  const previous = record.previousSecretSealed && record.previousSecretExpiresAt ? record.previousSecretSealed : null;
  return {
    current: secretBox.open(record.secretSealed),
    previous: previous === null ? null : secretBox.open(previous),
    previousExpiresAt: record.previousSecretExpiresAt?.getTime() ?? 0,
  };
}

/** The secrets to sign with at `nowMs`, newest first. */
export function activeSecrets(secrets: SigningSecrets, nowMs: number = Date.now()): string[] {
  const out: string[] = [secrets.current];
  if (secrets.previous !== null && nowMs < secrets.previousExpiresAt) out.push(secrets.previous);
  return out;
}
