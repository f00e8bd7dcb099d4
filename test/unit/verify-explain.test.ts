import { generateEd25519KeyPair, generateSecret, signPayload as signHeaders } from '../../src/transport/signing';
import { explainWebhook, verifyWebhook } from '../../src/verify';
import { parseCapturedRequest } from '../../src/cli/verify';

const body = '{"id":"evt_1","type":"business.created","data":{"name":"Blue Door"}}';
const NOW = 1_800_000_000;
const signPayload = (id: string, at: number, text: string, secrets: string[]): Record<string, string> => ({ ...signHeaders(id, at, text, secrets) });

describe('explainWebhook', () => {
  it('agrees with verifyWebhook and names the check that failed', () => {
    const secret = generateSecret();
    const headers = signPayload('msg_1', NOW, body, [secret]);
    const ok = explainWebhook(body, headers, secret, { now: NOW });
    expect(verifyWebhook(body, headers, secret, { now: NOW })).toMatchObject({ webhookId: 'msg_1' });
    expect(ok).toMatchObject({ valid: true, failure: null, webhookId: 'msg_1', timestamp: NOW, ageSeconds: 0, expectedSignature: headers['webhook-signature'], hints: [] });

    const future = explainWebhook(body, headers, secret, { now: NOW - 600 });
    expect(future).toMatchObject({ valid: false, failure: { check: 'timestamp', code: 'timestamp_too_new' }, ageSeconds: -600 });
    const badKey = explainWebhook(body, headers, 'not-a-key', { now: NOW });
    expect(badKey.failure).toMatchObject({ check: 'key', code: 'invalid_key' });
    expect(badKey.checks.map((c) => c.status)).toEqual(['passed', 'failed', 'not_run', 'not_run', 'not_run']);
    const parsed = explainWebhook(JSON.parse(body) as string, headers, secret, { now: NOW });
    expect(parsed.failure).toMatchObject({ check: 'body', code: 'invalid_body' });
  });

  it('has no expected signature for an Ed25519 public key, and says which key type the header needs', () => {
    const pair = generateEd25519KeyPair();
    const headers = signPayload('msg_1', NOW, body, [pair.secretKey]);
    expect(explainWebhook(body, headers, pair.publicKey, { now: NOW })).toMatchObject({ valid: true, expectedSignature: null });
    const wrong = explainWebhook(body, headers, generateSecret(), { now: NOW });
    expect(wrong).toMatchObject({ valid: false, failure: { check: 'signature', code: 'wrong_key_type' } });
  });

  it('hints at a clock off by hours', () => {
    const secret = generateSecret();
    const headers = signPayload('msg_1', NOW - 7200, body, [secret]);
    expect(explainWebhook(body, headers, secret, { now: NOW }).hints).toEqual([expect.stringContaining('off by more than 50 minutes')]);
  });
});

describe('parseCapturedRequest', () => {
  it('reads a raw request with CRLF or LF line ends, joins repeated headers and cuts the body to its Content-Length', () => {
    const crlf = parseCapturedRequest(Buffer.from(`POST /hooks HTTP/1.1\r\nWebhook-Id: msg_1\r\nX-A: 1\r\nx-a: 2\r\nContent-Length: ${body.length}\r\n\r\n${body}\n\n`));
    expect(crlf.headers).toMatchObject({ 'webhook-id': 'msg_1', 'x-a': '1, 2' });
    expect(crlf.body.toString()).toBe(body);
    const lf = parseCapturedRequest(Buffer.from(`POST /hooks HTTP/1.1\nwebhook-id: msg_1\n\n${body}`));
    expect(lf.body.toString()).toBe(body);
  });

  it('reads JSON {headers, body}, with header names in any case', () => {
    const captured = parseCapturedRequest(Buffer.from(JSON.stringify({ headers: { 'Webhook-Id': 'msg_1' }, body })));
    expect(captured).toEqual({ headers: { 'webhook-id': 'msg_1' }, body: Buffer.from(body) });
    expect(() => parseCapturedRequest(Buffer.from('{"headers": {}, "body": {"parsed": true}}'))).toThrow('the JSON input must be');
  });
});
