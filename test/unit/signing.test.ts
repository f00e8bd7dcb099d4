import { createHmac, createPublicKey, randomBytes, verify } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { SecretBox } from '../../src/core/secret-box';
import { generateEd25519KeyPair, generateSecret, signPayload } from '../../src/transport/signing';
import { verifyWebhook } from '../../src/verify';
import { activeSecrets, signingSecrets } from '../../src/subscriptions/secrets';
import type { WebhookSubscription } from '../../src/subscriptions/model';

const body = JSON.stringify({ id: 'evt_1', type: 'business.created', data: { name: 'Blue Door' } });
const now = Math.floor(Date.now() / 1000);

describe('Standard Webhooks signing', () => {
  const secret = generateSecret();

  it('makes whsec_ secrets of 32 random bytes', () => {
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    expect(generateSecret()).not.toBe(secret);
  });

  it('produces signatures the standardwebhooks library verifies', () => {
    const headers = signPayload('msg_abc', now, body, [secret]);
    expect(new Webhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body));
  });

  it('signs with every secret during a rotation, space-separated, and each verifies', () => {
    const next = generateSecret();
    const headers = signPayload('msg_abc', now, body, [next, secret]);
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(() => new Webhook(next).verify(body, { ...headers })).not.toThrow();
    expect(() => new Webhook(secret).verify(body, { ...headers })).not.toThrow();
  });

  it('sends the older X-Webhook-Signature: sha256=<hex HMAC of the body>', () => {
    const headers = signPayload('msg_abc', now, body, [secret]);
    const key = Buffer.from(secret.slice(6), 'base64');
    expect(headers['x-webhook-signature']).toBe(`sha256=${createHmac('sha256', key).update(body).digest('hex')}`);
    expect(headers['x-webhook-timestamp']).toBe(String(now));
  });
});

describe('Ed25519 (v1a) signing', () => {
  const { secretKey, publicKey } = generateEd25519KeyPair();
  const publicKeyObject = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(publicKey.slice(5), 'base64')]), format: 'der', type: 'spki' });

  it('makes whsk_ keys holding the 32-byte seed and whpk_ keys holding the 32-byte public key', () => {
    expect(secretKey).toMatch(/^whsk_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(secretKey.slice(5), 'base64')).toHaveLength(32);
    expect(publicKey).toMatch(/^whpk_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(publicKey.slice(5), 'base64')).toHaveLength(32);
  });

  it('signs "{id}.{timestamp}.{body}" as v1a,<base64 Ed25519>, and sends no X-Webhook-Signature', () => {
    const headers = signPayload('msg_abc', now, body, [secretKey]);
    const [version, signature] = headers['webhook-signature'].split(',') as [string, string];
    expect(version).toBe('v1a');
    expect(verify(null, Buffer.from(`msg_abc.${now}.${body}`), publicKeyObject, Buffer.from(signature, 'base64'))).toBe(true);
    expect(headers['x-webhook-signature']).toBeUndefined();
    expect(headers['x-webhook-timestamp']).toBeUndefined();
  });

  it('matches the Standard Webhooks Go library for its published test key (seed form)', () => {
    // libraries/go/webhook_asymmetric_test.go, TestAsymmetricWebhookSign
    const headers = signPayload('msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}', ['whsk_VEVTVFNJR05JTkdLRVlET05PVFVTRVRISVNGT1JBTlk=']);
    expect(headers['webhook-signature']).toBe('v1a,tQ9V2XOqn7jL/DQenEFpqIugdBVtiMmER5mhSkXBNwM0mkATuDe6KYYUuxqtaiHeYGb7KaaBRdM5WqyeFiL8Ag==');
  });

  it('signs with both key pairs during a rotation, newest first', () => {
    const next = generateEd25519KeyPair();
    const headers = signPayload('msg_abc', now, body, [next.secretKey, secretKey]);
    expect(headers['webhook-signature'].split(' ').map((s) => s.split(',')[0])).toEqual(['v1a', 'v1a']);
    expect(verifyWebhook(body, { ...headers }, next.publicKey, { now }).signatureVersion).toBe('v1a');
    expect(verifyWebhook(body, { ...headers }, publicKey, { now }).signatureVersion).toBe('v1a');
  });
});

describe('signing secrets of a subscription', () => {
  const box = new SecretBox([{ id: 'k1', key: randomBytes(32) }]);
  const record = (extra: Partial<WebhookSubscription>): WebhookSubscription =>
    ({ secretSealed: box.seal('whsec_bmV3'), previousSecretSealed: box.seal('whsec_b2xk'), ...extra }) as WebhookSubscription;

  it('adds the previous secret, after the current one, only until it expires', () => {
    const unsealed = signingSecrets(record({ previousSecretExpiresAt: new Date(Date.now() + 1000) }), box);
    expect(activeSecrets(unsealed)).toEqual(['whsec_bmV3', 'whsec_b2xk']);
    expect(activeSecrets(unsealed, Date.now() + 1000)).toEqual(['whsec_bmV3']);
    expect(activeSecrets(signingSecrets(record({ previousSecretExpiresAt: null }), box))).toEqual(['whsec_bmV3']);
  });

  it('loads records stored before rotation existed', () => {
    expect(activeSecrets(signingSecrets({ secretSealed: box.seal('whsec_bmV3') } as WebhookSubscription, box))).toEqual(['whsec_bmV3']);
  });
});
