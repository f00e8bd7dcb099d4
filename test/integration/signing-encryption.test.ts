import { randomBytes } from 'node:crypto';
import { compactDecrypt, decodeProtectedHeader, exportJWK, generateKeyPair } from 'jose';
import type { KeyLike } from 'jose';
import mongoose from 'mongoose';
import { Webhook } from 'standardwebhooks';
import { verifyWebhook } from '../../src/verify';
import type { Receiver, ReceivedRequest } from '../support/receiver';
import { mongoUrlFor } from '../support/services';
import { businessCreated, hubPerFile } from '../support/test-hub';
import type { ApiResponse } from '../support/test-hub';

type Json = Record<string, unknown>;
type Api = (method: string, path: string, body?: unknown) => Promise<ApiResponse<Json>>;

/** One hub for the file; each test is its own tenant: events it publishes over HTTP reach only its own subscriptions. */
const shared = hubPerFile();
const { receiver, tenant } = shared;

async function publish(api: Api, data: Json = {}): Promise<Json> {
  const event = businessCreated({ id: `evt_${randomBytes(6).toString('hex')}` }, data);
  const published = await api('POST', '/v1/events', event);
  expect(published.status).toBe(202);
  return event;
}

async function subscribe(api: Api, r: Receiver, extra: Json = {}): Promise<Json> {
  const created = await api('POST', '/v1/subscriptions', { endpointUrl: `${r.url}/hook`, events: ['business.created'], ...extra });
  expect(created.status).toBe(201);
  return created.body;
}

const headersOf = (req: ReceivedRequest): Record<string, string> => req.headers as Record<string, string>;
const signaturesOf = (req: ReceivedRequest): string[] => String(req.headers['webhook-signature']).split(' ');
const withSignature = (req: ReceivedRequest, signature: string): Record<string, string> => ({ ...headersOf(req), 'webhook-signature': signature });

async function decrypt(jwe: unknown, privateKey: KeyLike): Promise<unknown> {
  expect(typeof jwe).toBe('string');
  const { plaintext } = await compactDecrypt(jwe as string, privateKey);
  return JSON.parse(Buffer.from(plaintext).toString('utf8'));
}

describe('payload encryption', () => {
  it('replaces the listed fields with JWEs the receiver decrypts to the original values; the signature covers the encrypted body', async () => {
    const api = await tenant();
    const r = await receiver();
    const { publicKey, privateKey } = await generateKeyPair('RSA-OAEP-256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'receiver-key-1' };
    const sub = await subscribe(api, r, { encryption: { jwk, fields: ['data.contact.email', 'data.address'] } });
    expect(sub['encryption']).toEqual({ jwk, fields: ['data.contact.email', 'data.address'] });
    const event = await publish(api);

    const [req] = (await r.waitFor(1)) as [ReceivedRequest];
    expect(new Webhook(String(sub['secret'])).verify(req.body, headersOf(req))).toEqual(req.json);
    const data = req.json['data'] as { contact: Json; address: unknown; name: string };
    const original = event['data'] as { contact: Json; address: Json; name: string };
    expect(decodeProtectedHeader(data.contact['email'] as string)).toEqual({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: 'receiver-key-1' });
    expect(await decrypt(data.contact['email'], privateKey)).toBe(original.contact['email']);
    expect(await decrypt(data.address, privateKey)).toEqual(original.address);
    expect(data.contact['phone']).toBe(original.contact['phone']);
    expect(data.name).toBe(original.name);
    expect(req.body).not.toContain(String(original.contact['email']));
  });

  it('encrypts the whole data as one JWE (ECDH-ES) when no fields are listed, also for test sends', async () => {
    const api = await tenant();
    const r = await receiver();
    const { publicKey, privateKey } = await generateKeyPair('ECDH-ES', { crv: 'X25519' });
    const sub = await subscribe(api, r, { encryption: { jwk: await exportJWK(publicKey) } });
    const event = await publish(api);
    const [req] = (await r.waitFor(1)) as [ReceivedRequest];
    expect(decodeProtectedHeader(req.json['data'] as string)).toMatchObject({ alg: 'ECDH-ES', enc: 'A256GCM' });
    expect(await decrypt(req.json['data'], privateKey)).toEqual(event['data']);
    expect(verifyWebhook(req.body, headersOf(req), String(sub['secret'])).signatureVersion).toBe('v1');

    const tested = await api('POST', `/v1/subscriptions/${String(sub['id'])}/test`, { type: 'business.created' });
    expect(tested.body['success']).toBe(true);
    const [, testReq] = (await r.waitFor(2)) as [ReceivedRequest, ReceivedRequest];
    expect(await decrypt(testReq.json['data'], privateKey)).toEqual((tested.body['event'] as Json)['data']);
  });

  it('refuses a private JWK with a 400 naming /encryption/jwk', async () => {
    const api = await tenant();
    const { privateKey } = await generateKeyPair('ECDH-ES', { crv: 'P-256', extractable: true });
    const refused = await api('POST', '/v1/subscriptions', { endpointUrl: 'http://127.0.0.1:9/hook', events: ['business.created'], encryption: { jwk: await exportJWK(privateKey) } });
    expect(refused.status).toBe(400);
    expect((refused.body['error'] as { details: Array<{ path: string }> }).details.map((d) => d.path)).toEqual(['/encryption/jwk']);
  });
});

describe('secret rotation (HMAC)', () => {
  it('signs with new and old secrets during the overlap, newest first, and with the new one only after it', async () => {
    const api = await tenant();
    const r = await receiver();
    const sub = await subscribe(api, r);
    const id = String(sub['id']);
    const first = String(sub['secret']);

    const rotated = await api('POST', `/v1/subscriptions/${id}/rotate-secret`, {});
    expect(rotated.status).toBe(200);
    const second = String(rotated.body['secret']);
    expect(second).toMatch(/^whsec_/);
    expect(second).not.toBe(first);
    const expiresAt = Date.parse(String(rotated.body['previousSecretExpiresAt']));
    expect(expiresAt - Date.now()).toBeGreaterThan(86_400_000 - 60_000);
    expect((await api('GET', `/v1/subscriptions/${id}/secret`)).body).toEqual({ secret: second });

    await publish(api);
    const [during] = (await r.waitFor(1)) as [ReceivedRequest];
    const [newest, previous] = signaturesOf(during) as [string, string];
    expect(signaturesOf(during)).toHaveLength(2);
    expect(() => new Webhook(second).verify(during.body, withSignature(during, newest))).not.toThrow();
    expect(() => new Webhook(first).verify(during.body, withSignature(during, previous))).not.toThrow();
    expect(() => new Webhook(first).verify(during.body, withSignature(during, newest))).toThrow();
    expect(() => new Webhook(first).verify(during.body, headersOf(during))).not.toThrow();

    // Rotate again with a one-second overlap: once it has passed (and every cache has expired), only the newest signs.
    const again = await api('POST', `/v1/subscriptions/${id}/rotate-secret`, { overlapSeconds: 1 });
    const third = String(again.body['secret']);
    await new Promise((resolve) => setTimeout(resolve, 3500));
    await publish(api);
    const [, after] = (await r.waitFor(2)) as [ReceivedRequest, ReceivedRequest];
    expect(signaturesOf(after)).toHaveLength(1);
    expect(() => new Webhook(third).verify(after.body, headersOf(after))).not.toThrow();
    expect(() => new Webhook(second).verify(after.body, headersOf(after))).toThrow();
  });

  it('answers 400 for an overlap over 7 days', async () => {
    const api = await tenant();
    const r = await receiver();
    const sub = await subscribe(api, r);
    const refused = await api('POST', `/v1/subscriptions/${String(sub['id'])}/rotate-secret`, { overlapSeconds: 604_801 });
    expect(refused.status).toBe(400);
    expect((refused.body['error'] as { details: Array<{ path: string }> }).details.map((d) => d.path)).toEqual(['/overlapSeconds']);
  });
});

describe('Ed25519 signing', () => {
  it('signs v1a with a key only the hub holds; receivers verify with the publicKey; rotation sends both v1a signatures', async () => {
    const api = await tenant();
    const r = await receiver();
    const sub = await subscribe(api, r, { signing: { algorithm: 'ed25519' } });
    const id = String(sub['id']);
    expect(sub['secret']).toBeUndefined();
    expect(sub['signing']).toEqual({ algorithm: 'ed25519' });
    const publicKey = String(sub['publicKey']);
    expect(Buffer.from(publicKey.slice('whpk_'.length), 'base64')).toHaveLength(32);
    expect((await api('GET', `/v1/subscriptions/${id}`)).body['publicKey']).toBe(publicKey);
    const revealed = await api('GET', `/v1/subscriptions/${id}/secret`);
    expect(revealed.body).toEqual({ algorithm: 'ed25519', publicKey, note: expect.any(String) });
    expect(JSON.stringify(revealed.body)).not.toContain('whsk_');
    const patched = await api('PATCH', `/v1/subscriptions/${id}`, { signing: { algorithm: 'hmac-sha256' } });
    expect(patched.status).toBe(400);

    await publish(api);
    const [req] = (await r.waitFor(1)) as [ReceivedRequest];
    expect(signaturesOf(req)).toEqual([expect.stringMatching(/^v1a,/)]);
    expect(verifyWebhook(req.body, headersOf(req), publicKey)).toMatchObject({ webhookId: req.headers['webhook-id'], signatureVersion: 'v1a' });
    expect(req.headers['x-webhook-signature']).toBeUndefined();

    const rotated = await api('POST', `/v1/subscriptions/${id}/rotate-secret`, { overlapSeconds: 600 });
    expect(rotated.body['secret']).toBeUndefined();
    const newPublicKey = String(rotated.body['publicKey']);
    expect(newPublicKey).not.toBe(publicKey);
    const tested = await api('POST', `/v1/subscriptions/${id}/test`, { type: 'business.created' });
    expect(tested.body['success']).toBe(true);
    const [, during] = (await r.waitFor(2)) as [ReceivedRequest, ReceivedRequest];
    const [newest, previous] = signaturesOf(during) as [string, string];
    expect(verifyWebhook(during.body, withSignature(during, newest), newPublicKey).signatureVersion).toBe('v1a');
    expect(verifyWebhook(during.body, withSignature(during, previous), publicKey).signatureVersion).toBe('v1a');
    expect(() => verifyWebhook(during.body, withSignature(during, newest), publicKey)).toThrow();
  });
});

describe('subscriptions stored before signing options existed', () => {
  it('load as HMAC without rotation or encryption, and are delivered with a v1 signature', async () => {
    const api = await tenant();
    const r = await receiver();
    const sub = await subscribe(api, r);
    const id = String(sub['id']);
    const connection = await mongoose.createConnection(mongoUrlFor(shared.th.database)).asPromise();
    try {
      await connection.db!.collection('subscriptions').updateOne(
        { _id: id as never },
        { $unset: { signingAlgorithm: '', publicKey: '', previousSecretSealed: '', previousSecretExpiresAt: '', encryptionJson: '' } },
      );
    } finally {
      await connection.close();
    }
    const fetched = await api('GET', `/v1/subscriptions/${id}`);
    expect(fetched.body).toMatchObject({ signing: { algorithm: 'hmac-sha256' }, publicKey: null, previousSecretExpiresAt: null, encryption: null });
    await publish(api);
    const [req] = (await r.waitFor(1)) as [ReceivedRequest];
    expect(verifyWebhook(req.body, headersOf(req), String(sub['secret'])).signatureVersion).toBe('v1');
  });
});
