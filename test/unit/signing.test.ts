import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { generateSecret, signPayload, verifyWebhook, WebhookVerificationError } from '../../src/delivery/signing';

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

describe('verifyWebhook', () => {
  const secret = generateSecret();
  const headers = signPayload('msg_abc', now, body, [secret]);
  const fails = (code: string, fn: () => void): void => {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(WebhookVerificationError);
      expect((err as WebhookVerificationError).code).toBe(code);
      return;
    }
    throw new Error(`expected ${code}`);
  };

  it('accepts a genuine delivery', () => {
    expect(() => verifyWebhook(body, { ...headers }, secret, now)).not.toThrow();
  });
  it('rejects a changed body', () => fails('invalid_signature', () => verifyWebhook(body.replace('Blue', 'Red'), { ...headers }, secret, now)));
  it('rejects another secret', () => fails('invalid_signature', () => verifyWebhook(body, { ...headers }, generateSecret(), now)));
  it('rejects a changed webhook-id', () => fails('invalid_signature', () => verifyWebhook(body, { ...headers, 'webhook-id': 'msg_other' }, secret, now)));
  it('rejects a missing header', () => fails('missing_header', () => verifyWebhook(body, { 'webhook-id': 'msg_abc' }, secret, now)));
  it('rejects a timestamp more than 5 minutes old or ahead', () => {
    fails('timestamp_out_of_tolerance', () => verifyWebhook(body, { ...headers }, secret, now + 301));
    fails('timestamp_out_of_tolerance', () => verifyWebhook(body, { ...headers }, secret, now - 301));
    expect(() => verifyWebhook(body, { ...headers }, secret, now + 299)).not.toThrow();
  });
  it('rejects a non-numeric timestamp', () => fails('invalid_timestamp', () => verifyWebhook(body, { ...headers, 'webhook-timestamp': 'soon' }, secret, now)));
  it('rejects an unknown signature version', () =>
    fails('invalid_signature', () => verifyWebhook(body, { ...headers, 'webhook-signature': headers['webhook-signature'].replace('v1,', 'v2,') }, secret, now)));
});
