import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { HubError } from './errors';

const VERSION = 'v1';

/**
 * AES-256-GCM for secrets at rest. The stored form is
 * `v1:<keyId>:<iv>:<tag>:<ciphertext>` (base64url), so a key ring can decrypt
 * data written under older keys.
 */
/** The key id a sealed value names, or null when it is not a sealed value. */
export function sealedKeyId(sealed: string): string | null {
  const [version, keyId] = sealed.split(':');
  return version === VERSION && keyId ? keyId : null;
}

export class SecretBox {
  private readonly keys: ReadonlyMap<string, Buffer>;
  private readonly currentKeyId: string;

  constructor(keys: ReadonlyArray<{ id: string; key: Buffer }>) {
    const first = keys[keys.length - 1];
    if (!first) throw new HubError('encryption_key_missing', 'SecretBox needs at least one key.');
    for (const { id, key } of keys) {
      if (key.length !== 32) throw new HubError('encryption_key_invalid', `Encryption key "${id}" must be 32 bytes.`);
    }
    this.keys = new Map(keys.map(({ id, key }) => [id, key]));
    this.currentKeyId = first.id;
  }

  /** The id of the key new data is sealed with (the newest of the ring). */
  get newestKeyId(): string {
    return this.currentKeyId;
  }

  hasKey(id: string): boolean {
    return this.keys.has(id);
  }

  seal(plaintext: string): string {
    const key = this.keys.get(this.currentKeyId) as Buffer;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const parts = [iv, cipher.getAuthTag(), ciphertext].map((b) => b.toString('base64url'));
    return [VERSION, this.currentKeyId, ...parts].join(':');
  }

  open(sealed: string): string {
    const [version, keyId, iv, tag, ciphertext] = sealed.split(':');
    if (version !== VERSION || !keyId || !iv || !tag || ciphertext === undefined) {
      throw new HubError('secret_unreadable', 'A stored secret is not in the expected encrypted form.');
    }
    const key = this.keys.get(keyId);
    if (!key) {
      throw new HubError(
        'encryption_key_missing',
        `A stored secret was encrypted with key "${keyId}", which is not configured. Add it back to the key ring in HOOKHUB_ENCRYPTION_KEYS.`,
      );
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
    } catch (cause) {
      throw new HubError('secret_unreadable', `A stored secret could not be decrypted with key "${keyId}".`, { cause });
    }
  }
}
