import { CompactEncrypt, importJWK } from 'jose';
import type { JWK, KeyLike } from 'jose';
import { getPath, setPath } from '../core/json-path';
import { DOTTED_PATH } from '../core/json-path';
import { Memo } from '../core/memo';
import type { ValidationProblem } from '../events/validator';

/** Payload encryption to the tenant's public JWK: listed body fields (or the whole `data`) become JWE compact strings. */
export interface EncryptionOptions {
  /** A public JWK: RSA (RSA-OAEP-256), EC P-256/384/521 or OKP X25519 (ECDH-ES); never with `d`. */
  jwk: Record<string, unknown>;
  /** Dotted paths into the delivered body (`data.contact.email`); absent: the whole `data`. */
  fields?: string[];
}

/** Any body with a `data` member: what is encrypted is `data` or fields of it. */
export interface EncryptableBody {
  data: unknown;
}

/** Content encryption of every JWE the hub makes. */
export const JWE_ENC = 'A256GCM';

const EC_CURVES = new Set(['P-256', 'P-384', 'P-521']);
const FIELD_PATH = /^data\.[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

interface ImportedKey {
  key: KeyLike | Uint8Array;
  header: { alg: string; enc: string; kid?: string };
}

/**
 * The key management algorithm for a public JWK, or why the hub cannot encrypt to it:
 * RSA → RSA-OAEP-256; EC P-256/384/521 and OKP X25519 → ECDH-ES. Private keys are refused.
 */
export function keyAlgorithm(jwk: Record<string, unknown>): { alg: string } | { problem: string } {
  if (Object.hasOwn(jwk, 'd')) return { problem: 'is a private key (it has "d"): register the public key only, and keep the private key to decrypt' };
  if (jwk['use'] !== undefined && jwk['use'] !== 'enc') return { problem: `has "use": "${String(jwk['use'])}"; an encryption key has "use": "enc" or none` };
  let alg: string;
  if (jwk['kty'] === 'RSA') {
    if (typeof jwk['n'] !== 'string' || typeof jwk['e'] !== 'string') return { problem: 'is an RSA key without "n" and "e"' };
    alg = 'RSA-OAEP-256';
  } else if (jwk['kty'] === 'EC') {
    if (!EC_CURVES.has(String(jwk['crv']))) return { problem: `has curve "${String(jwk['crv'])}"; EC keys must be P-256, P-384 or P-521` };
    if (typeof jwk['x'] !== 'string' || typeof jwk['y'] !== 'string') return { problem: 'is an EC key without "x" and "y"' };
    alg = 'ECDH-ES';
  } else if (jwk['kty'] === 'OKP') {
    if (jwk['crv'] !== 'X25519') return { problem: `has curve "${String(jwk['crv'])}"; OKP keys must be X25519 (Ed25519 keys sign, they do not encrypt)` };
    if (typeof jwk['x'] !== 'string') return { problem: 'is an X25519 key without "x"' };
    alg = 'ECDH-ES';
  } else {
    return { problem: `has kty "${String(jwk['kty'])}"; supported are RSA, EC (P-256, P-384, P-521) and OKP (X25519) public keys` };
  }
  if (jwk['alg'] !== undefined && jwk['alg'] !== alg) return { problem: `has "alg": "${String(jwk['alg'])}"; Hookhub encrypts to this key type with ${alg} (leave alg out or set it so)` };
  return { alg };
}

/**
 * Replaces fields of delivery bodies with JWE compact strings (RFC 7516) encrypted
 * to the subscription's public JWK. Keys are imported once and kept.
 */
export class PayloadEncryptor {
  private readonly keys = new Memo<string, Promise<ImportedKey>>(5000);

  async encrypt<B extends EncryptableBody>(body: B, options: EncryptionOptions): Promise<B> {
    const imported = await this.importKey(options.jwk);
    const seal = async (value: unknown): Promise<string> =>
      new CompactEncrypt(Buffer.from(JSON.stringify(value), 'utf8')).setProtectedHeader(imported.header).encrypt(imported.key);
    if (!options.fields || options.fields.length === 0) return { ...body, data: await seal(body.data) };
    // A copy: without fields or a transform, data is the event's own object, shared by every target.
    const data = structuredClone(body.data);
    const out = { ...body, data };
    for (const field of options.fields) {
      const path = field.slice('data.'.length);
      const value = getPath(data, path);
      if (value !== undefined) setPath(data as Record<string, unknown>, path, await seal(value));
    }
    return out;
  }

  private importKey(jwk: Record<string, unknown>): Promise<ImportedKey> {
    const cacheKey = JSON.stringify(jwk);
    return this.keys.get(cacheKey, () => {
      const imported = importEncryptionKey(jwk);
      // A failed import is not kept, so a fixed key (PATCH) is picked up at once.
      imported.catch(() => this.keys.delete(cacheKey));
      return imported;
    });
  }
}

async function importEncryptionKey(jwk: Record<string, unknown>): Promise<ImportedKey> {
  const chosen = keyAlgorithm(jwk);
  if ('problem' in chosen) throw new Error(`The encryption JWK ${chosen.problem}`);
  const { alg } = chosen;
  const key = await importJWK({ ...(jwk as unknown as JWK), alg }, alg);
  return { key, header: { alg, enc: JWE_ENC, ...(typeof jwk['kid'] === 'string' ? { kid: jwk['kid'] } : {}) } };
}

/** Registration checks of `encryption`: a usable public JWK, and field paths into `data`. */
export async function checkEncryption(value: unknown): Promise<ValidationProblem[]> {
  if (value === null || value === undefined || typeof value !== 'object') return [];
  const { jwk, fields } = value as { jwk?: unknown; fields?: unknown };
  const problems: ValidationProblem[] = [];
  if (jwk !== null && typeof jwk === 'object' && !Array.isArray(jwk)) {
    const chosen = keyAlgorithm(jwk as Record<string, unknown>);
    if ('problem' in chosen) {
      problems.push({ path: '/encryption/jwk', message: chosen.problem });
    } else {
      try {
        // Encrypting once proves the key imports and works (RSA under 2048 bits, points off the curve...).
        await new PayloadEncryptor().encrypt({ data: 'check' }, { jwk: jwk as Record<string, unknown> });
      } catch (err) {
        problems.push({ path: '/encryption/jwk', message: `is not a usable public key: ${(err as Error).message}` });
      }
    }
  }
  for (const [i, field] of (Array.isArray(fields) ? (fields as unknown[]) : []).entries()) {
    if (typeof field !== 'string' || !FIELD_PATH.test(field) || !DOTTED_PATH.test(field)) {
      problems.push({ path: `/encryption/fields/${i}`, message: 'must be a dotted path into the delivered data, such as data.contact.email' });
    }
  }
  return problems;
}
