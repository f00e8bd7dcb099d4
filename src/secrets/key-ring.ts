import { HubError } from '../core/errors';
import { sealedKeyId } from '../core/secret-box';
import type { SecretBox } from '../core/secret-box';
import type { SealedValues } from './sealed-values';

/**
 * Refuses to run when stored secrets were sealed with a key the ring no longer
 * has: such a hub could neither sign nor call the linked APIs, and would only
 * find out delivery by delivery.
 */
export async function assertKeysPresent(store: SealedValues, box: SecretBox): Promise<void> {
  const missing = new Map<string, number>();
  for await (const sealed of store.scanSealed()) {
    const id = sealedKeyId(sealed.value);
    if (id !== null && !box.hasKey(id)) missing.set(id, (missing.get(id) ?? 0) + 1);
  }
  if (missing.size === 0) return;
  const list = [...missing].map(([id, n]) => `"${id}" (${n} value${n === 1 ? '' : 's'})`).join(', ');
  throw new HubError(
    'encryption_key_missing',
    `Stored secrets are encrypted with key(s) ${list} that HOOKHUB_ENCRYPTION_KEYS does not contain. ` +
      'Add them back to the ring (id:base64, newest last), start the hub, and run `hookhub secrets reencrypt` to move everything to the newest key before removing old ones.',
  );
}

export interface ReencryptReport {
  scanned: number;
  reencrypted: number;
  /** Values that changed while being re-encrypted (rotated meanwhile): they are sealed anew already. */
  skipped: number;
  byCollection: Record<string, number>;
}

/** Re-seals every stored secret that is not under the newest key of the ring. */
export async function reencryptAll(store: SealedValues, box: SecretBox): Promise<ReencryptReport> {
  const report: ReencryptReport = { scanned: 0, reencrypted: 0, skipped: 0, byCollection: {} };
  const stale = [];
  for await (const sealed of store.scanSealed()) {
    report.scanned++;
    if (sealedKeyId(sealed.value) !== box.newestKeyId) stale.push(sealed);
  }
  for (const sealed of stale) {
    const resealed = box.seal(box.open(sealed.value));
    if (await store.replaceSealed(sealed, resealed)) {
      report.reencrypted++;
      report.byCollection[sealed.collection] = (report.byCollection[sealed.collection] ?? 0) + 1;
    } else report.skipped++;
  }
  return report;
}
