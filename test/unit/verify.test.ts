import { createHmac, createPrivateKey, createPublicKey, sign, verify as cryptoVerify } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { generateEd25519KeyPair, generateSecret, signPayload } from '../../src/transport/signing';
import { verifyWebhook, WebhookVerificationError } from '../../src/verify';
import type { WebhookVerificationErrorCode } from '../../src/verify';

const body = JSON.stringify({ id: 'evt_1', type: 'business.created', data: { name: 'Blue Door', city: 'Austin' } });
const now = 1_700_000_000;
const id = 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W';

function fails(code: WebhookVerificationErrorCode, fn: () => unknown): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(WebhookVerificationError);
  expect((thrown as WebhookVerificationError).code).toBe(code);
  expect((thrown as Error).message.length).toBeGreaterThan(10);
}

const schemes = [
  {
    name: 'v1 (HMAC, whsec_)',
    make() {
      const secret = generateSecret();
      return { signingKey: secret, verifyKey: secret, other: generateSecret(), wrongType: generateEd25519KeyPair().publicKey };
    },
  },
  {
    name: 'v1a (Ed25519, whpk_)',
    make() {
      const pair = generateEd25519KeyPair();
      return { signingKey: pair.secretKey, verifyKey: pair.publicKey, other: generateEd25519KeyPair().publicKey, wrongType: generateSecret() };
    },
  },
];

describe.each(schemes)('verifyWebhook, $name', (scheme) => {
  const keys = scheme.make();
  const headers = { ...signPayload(id, now, body, [keys.signingKey]) } as Record<string, string>;
  const version = keys.verifyKey.startsWith('whsec_') ? 'v1' : 'v1a';

  it('accepts a genuine delivery (string or Buffer body, plain headers or fetch Headers, any header case)', () => {
    expect(verifyWebhook(body, headers, keys.verifyKey, { now })).toEqual({ webhookId: id, timestamp: now, signatureVersion: version });
    expect(verifyWebhook(Buffer.from(body), new Headers(headers), keys.verifyKey, { now }).signatureVersion).toBe(version);
    const shouting = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toUpperCase(), v]));
    expect(verifyWebhook(body, shouting, keys.verifyKey, { now }).webhookId).toBe(id);
  });

  it('accepts the matching signature among several (rotation, unknown versions)', () => {
    const mixed = { ...headers, 'webhook-signature': `v2,abc v1,${Buffer.alloc(32).toString('base64')} ${headers['webhook-signature']}` };
    expect(verifyWebhook(body, mixed, keys.verifyKey, { now }).signatureVersion).toBe(version);
  });

  it.each(['webhook-id', 'webhook-timestamp', 'webhook-signature'])('missing header: %s', (name) => {
    const without = { ...headers };
    delete without[name];
    fails('missing_header', () => verifyWebhook(body, without, keys.verifyKey, { now }));
  });

  it('bad timestamp', () => {
    fails('invalid_timestamp', () => verifyWebhook(body, { ...headers, 'webhook-timestamp': 'soon' }, keys.verifyKey, { now }));
    fails('invalid_timestamp', () => verifyWebhook(body, { ...headers, 'webhook-timestamp': `${now}.5` }, keys.verifyKey, { now }));
  });

  it('too old: more than 5 minutes in the past (or the given tolerance)', () => {
    fails('timestamp_too_old', () => verifyWebhook(body, headers, keys.verifyKey, { now: now + 301 }));
    expect(() => verifyWebhook(body, headers, keys.verifyKey, { now: now + 300 })).not.toThrow();
    fails('timestamp_too_old', () => verifyWebhook(body, headers, keys.verifyKey, { now: now + 31, toleranceSeconds: 30 }));
  });

  it('too new: more than 5 minutes in the future', () => {
    fails('timestamp_too_new', () => verifyWebhook(body, headers, keys.verifyKey, { now: now - 301 }));
    expect(() => verifyWebhook(body, headers, keys.verifyKey, { now: now - 300 })).not.toThrow();
  });

  it('wrong signature: another key, a changed id or timestamp, a truncated signature', () => {
    fails('invalid_signature', () => verifyWebhook(body, headers, keys.other, { now }));
    fails('invalid_signature', () => verifyWebhook(body, { ...headers, 'webhook-id': 'msg_other' }, keys.verifyKey, { now }));
    fails('invalid_signature', () => verifyWebhook(body, { ...headers, 'webhook-timestamp': String(now + 1) }, keys.verifyKey, { now }));
    fails('invalid_signature', () => verifyWebhook(body, { ...headers, 'webhook-signature': String(headers['webhook-signature']).slice(0, 20) }, keys.verifyKey, { now }));
  });

  it('wrong key type: a key of the other scheme', () => {
    fails('wrong_key_type', () => verifyWebhook(body, headers, keys.wrongType, { now }));
  });

  it('tampered body', () => {
    fails('invalid_signature', () => verifyWebhook(body.replace('Austin', 'Dallas'), headers, keys.verifyKey, { now }));
    fails('invalid_signature', () => verifyWebhook(`${body} `, headers, keys.verifyKey, { now }));
  });
});

describe('verifyWebhook keys and body', () => {
  const secret = generateSecret();
  const headers = { ...signPayload(id, now, body, [secret]) } as Record<string, string>;

  it('refuses keys that are not whsec_ or whpk_, naming what to use', () => {
    fails('invalid_key', () => verifyWebhook(body, headers, secret.slice('whsec_'.length), { now }));
    fails('invalid_key', () => verifyWebhook(body, headers, generateEd25519KeyPair().secretKey, { now }));
    fails('invalid_key', () => verifyWebhook(body, headers, 'whpk_AAAA', { now }));
    fails('invalid_key', () => verifyWebhook(body, headers, 'whsec_', { now }));
  });

  it('refuses a parsed body', () => {
    fails('invalid_body', () => verifyWebhook(JSON.parse(body) as string, headers, secret, { now }));
  });

  it('uses the current time by default', () => {
    const fresh = { ...signPayload(id, Math.floor(Date.now() / 1000), body, [secret]) };
    expect(() => verifyWebhook(body, fresh, secret)).not.toThrow();
    fails('timestamp_too_old', () => verifyWebhook(body, headers, secret));
  });
});

describe('interoperability with the standardwebhooks package (v1)', () => {
  it("verifies what its Webhook(secret).sign(...) produces", () => {
    const secret = generateSecret();
    const signature = new Webhook(secret).sign(id, new Date(now * 1000), body);
    expect(verifyWebhook(body, { 'webhook-id': id, 'webhook-timestamp': String(now), 'webhook-signature': signature }, secret, { now }).signatureVersion).toBe('v1');
  });

  it("its verify accepts the hub's signPayload output, also with two secrets during a rotation", () => {
    const [next, old] = [generateSecret(), generateSecret()];
    const headers = { ...signPayload(id, Math.floor(Date.now() / 1000), body, [next, old]) };
    expect(new Webhook(next).verify(body, headers)).toEqual(JSON.parse(body));
    expect(new Webhook(old).verify(body, headers)).toEqual(JSON.parse(body));
  });
});

describe('v1a with node:crypto directly', () => {
  const pair = generateEd25519KeyPair();
  const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(pair.publicKey.slice(5), 'base64').toString('base64url') }, format: 'jwk' });

  it("node:crypto verifies the hub's v1a signature with the whpk_ key", () => {
    const headers = signPayload(id, now, body, [pair.secretKey]);
    const signature = Buffer.from(headers['webhook-signature'].slice('v1a,'.length), 'base64');
    expect(cryptoVerify(null, Buffer.from(`${id}.${now}.${body}`), publicKey, signature)).toBe(true);
  });

  it('verifyWebhook accepts a v1a signature made by node:crypto with the same seed', () => {
    const seed = Buffer.from(pair.secretKey.slice(5), 'base64');
    const privateKey = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: seed.toString('base64url'), x: Buffer.from(pair.publicKey.slice(5), 'base64').toString('base64url') }, format: 'jwk' });
    const signature = sign(null, Buffer.from(`${id}.${now}.${body}`), privateKey).toString('base64');
    expect(verifyWebhook(body, { 'webhook-id': id, 'webhook-timestamp': String(now), 'webhook-signature': `v1a,${signature}` }, pair.publicKey, { now }).signatureVersion).toBe('v1a');
  });
});

describe('the older X-Webhook-Signature, as the README describes it', () => {
  it('is sha256=<hex HMAC-SHA256 of the raw body alone>, keyed with the bytes the whsec_ secret decodes to, newest secret only', () => {
    const [next, old] = [generateSecret(), generateSecret()];
    const headers = signPayload(id, now, body, [next, old]);
    const key = Buffer.from(next.slice('whsec_'.length), 'base64');
    expect(headers['x-webhook-signature']).toBe(`sha256=${createHmac('sha256', key).update(body).digest('hex')}`);
    expect(headers['x-webhook-timestamp']).toBe(String(now));
    // Not the whsec_ text as the key, a common guess.
    expect(headers['x-webhook-signature']).not.toBe(`sha256=${createHmac('sha256', next).update(body).digest('hex')}`);
  });

  it('is not sent for Ed25519 subscriptions', () => {
    expect(signPayload(id, now, body, [generateEd25519KeyPair().secretKey])['x-webhook-signature']).toBeUndefined();
  });
});
