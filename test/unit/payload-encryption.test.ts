import { generateKeyPairSync } from 'node:crypto';
import { compactDecrypt, decodeProtectedHeader, exportJWK, generateKeyPair } from 'jose';
import type { KeyLike } from 'jose';
import { checkEncryption, keyAlgorithm, PayloadEncryptor } from '../../src/transport/payload-encryption';
import { PayloadBuilder } from '../../src/webhooks/payload';
import type { WebhookBody } from '../../src/webhooks/payload';
import type { EventEnvelope } from '../../src/events/envelope';

const envelope: EventEnvelope = {
  id: 'evt_1',
  type: 'business.created',
  version: '1.0',
  timestamp: '2026-11-28T10:00:00Z',
  data: { id: 'biz_1', name: 'Blue Door', contact: { email: 'hello@bluedoor.example', phone: '+1-512-555-0100' }, tags: ['a', 'b'] },
} as unknown as EventEnvelope;

async function keyPair(alg: string, options: Record<string, unknown> = {}): Promise<{ jwk: Record<string, unknown>; privateKey: KeyLike }> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, ...options });
  return { jwk: { ...(await exportJWK(publicKey)) } as Record<string, unknown>, privateKey };
}

async function open(jwe: unknown, privateKey: KeyLike): Promise<unknown> {
  expect(typeof jwe).toBe('string');
  const { plaintext } = await compactDecrypt(jwe as string, privateKey);
  return JSON.parse(Buffer.from(plaintext).toString('utf8'));
}

describe('payload encryption', () => {
  const builder = new PayloadBuilder();
  const shaped = (): Promise<WebhookBody> => builder.build(envelope, null, 'sub_1', 1);

  it.each([
    ['RSA-OAEP-256', 'RSA-OAEP-256', {}],
    ['ECDH-ES', 'EC P-256', { crv: 'P-256' }],
    ['ECDH-ES', 'EC P-384', { crv: 'P-384' }],
    ['ECDH-ES', 'EC P-521', { crv: 'P-521' }],
    ['ECDH-ES', 'OKP X25519', { crv: 'X25519' }],
  ])('encrypts the whole data with %s for %s keys, enc A256GCM, kid copied', async (alg, _name, options) => {
    const { jwk, privateKey } = await keyPair(alg, options);
    const body = await builder.encrypt(await shaped(), { jwk: { ...jwk, kid: 'receiver-2026' } });
    expect(decodeProtectedHeader(body.data as string)).toEqual({ alg, enc: 'A256GCM', kid: 'receiver-2026', ...(alg === 'ECDH-ES' ? { epk: expect.any(Object) } : {}) });
    expect(await open(body.data, privateKey)).toEqual(envelope.data);
    expect(body.id).toBe('evt_1');
    expect(body.webhook).toEqual({ subscription_id: 'sub_1', delivery_attempt: 1 });
  });

  it('encrypts only the listed fields, each as the JWE of its JSON, leaving the rest and the event untouched', async () => {
    const { jwk, privateKey } = await keyPair('ECDH-ES', { crv: 'P-256' });
    const body = await builder.encrypt(await shaped(), { jwk, fields: ['data.contact.email', 'data.tags', 'data.missing.field'] });
    const data = body.data as { contact: { email: unknown; phone: string }; tags: unknown; name: string; missing?: unknown };
    expect(await open(data.contact.email, privateKey)).toBe('hello@bluedoor.example');
    expect(await open(data.tags, privateKey)).toEqual(['a', 'b']);
    expect(data.contact.phone).toBe('+1-512-555-0100');
    expect(data.name).toBe('Blue Door');
    expect(data.missing).toBeUndefined();
    expect(decodeProtectedHeader(data.contact.email as string)).not.toHaveProperty('kid');
    // The shared event object is not changed.
    expect((envelope.data as { contact: { email: string } }).contact.email).toBe('hello@bluedoor.example');
  });

  it('imports each key once', async () => {
    const { jwk } = await keyPair('RSA-OAEP-256');
    const encryptor = new PayloadEncryptor();
    const keys = (encryptor as unknown as { keys: { size: number } }).keys;
    await encryptor.encrypt(await shaped(), { jwk });
    await encryptor.encrypt(await shaped(), { jwk: { ...jwk } });
    expect(keys.size).toBe(1);
  });

  it('fails a delivery permanently when the key cannot be used', async () => {
    await expect(builder.encrypt(await shaped(), { jwk: { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' } })).rejects.toMatchObject({ name: 'UnrecoverableError', code: 'payload_encryption_failed' });
  });
});

describe('encryption options at registration', () => {
  it('accepts public RSA, EC and X25519 keys and data field paths', async () => {
    for (const [alg, options] of [['RSA-OAEP-256', {}], ['ECDH-ES', { crv: 'P-384' }], ['ECDH-ES', { crv: 'X25519' }]] as const) {
      const { jwk } = await keyPair(alg, options);
      expect(await checkEncryption({ jwk, fields: ['data.contact.email', 'data.photos.0.url'] })).toEqual([]);
      expect(await checkEncryption({ jwk: { ...jwk, use: 'enc', alg } })).toEqual([]);
    }
  });

  it('refuses private keys, unsupported key types and curves, small RSA keys and mismatched alg, naming /encryption/jwk', async () => {
    const rsa = await keyPair('RSA-OAEP-256');
    const privateJwk = { ...(await exportJWK(rsa.privateKey)) } as Record<string, unknown>;
    const ed25519 = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
    const smallRsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
    const secp256k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [privateJwk, /private key/],
      [ed25519, /X25519/],
      [smallRsa, /2048/],
      [secp256k1, /P-256, P-384 or P-521/],
      [{ kty: 'oct', k: 'AAAA' }, /supported are RSA/],
      [{ ...rsa.jwk, alg: 'RSA1_5' }, /RSA-OAEP-256/],
      [{ ...rsa.jwk, use: 'sig' }, /"use": "enc"/],
      [{ kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' }, /not a usable public key/],
    ];
    for (const [jwk, message] of cases) {
      expect(await checkEncryption({ jwk })).toEqual([{ path: '/encryption/jwk', message: expect.stringMatching(message) }]);
    }
    expect(keyAlgorithm(rsa.jwk)).toEqual({ alg: 'RSA-OAEP-256' });
  });

  it('refuses field paths outside the delivered data', async () => {
    const { jwk } = await keyPair('ECDH-ES', { crv: 'P-256' });
    expect(await checkEncryption({ jwk, fields: ['data.ok', 'id', 'webhook.subscription_id', 'data..x', 'data'] })).toEqual([
      { path: '/encryption/fields/1', message: expect.stringMatching(/data.contact.email/) },
      { path: '/encryption/fields/2', message: expect.any(String) },
      { path: '/encryption/fields/3', message: expect.any(String) },
      { path: '/encryption/fields/4', message: expect.any(String) },
    ]);
  });
});
