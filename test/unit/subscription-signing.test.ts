import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import { subscriptionView } from '../../src/api/serializers';
import { ManualClock } from '../../src/core/clock';
import { SecretBox } from '../../src/core/secret-box';
import { createMemoryStore } from '../../src/store/memory/memory-store';
import type { Store } from '../../src/store/store';
import { SubscriptionCache } from '../../src/subscriptions/subscription-cache';
import type { LoadedWebhook } from '../../src/subscriptions/subscription-cache';
import { SubscriptionService } from '../../src/subscriptions/subscription-service';

function setup(): { svc: SubscriptionService; cache: SubscriptionCache; store: Store; box: SecretBox; clock: ManualClock } {
  const store = createMemoryStore();
  const box = new SecretBox([{ id: 'k1', key: randomBytes(32) }]);
  const clock = new ManualClock();
  const cache = new SubscriptionCache(store, box, 2000, clock);
  return { svc: new SubscriptionService({ store, secretBox: box, cache, allowPrivateNetworks: true, requireHttps: false }), cache, store, box, clock };
}

/** The cached webhook subscription with its unsealed secrets. */
async function loadedWebhook(cache: SubscriptionCache, id: string): Promise<LoadedWebhook> {
  const loaded = await cache.get(id);
  if (!loaded || loaded.record.kind !== 'webhook' || !('secrets' in loaded)) throw new Error(`no webhook subscription ${id} in the cache`);
  return loaded as LoadedWebhook;
}

const base = { endpointUrl: 'http://127.0.0.1/hook', events: ['business.created'] };

async function details(promise: Promise<unknown>): Promise<Array<{ path: string; message: string }>> {
  try {
    await promise;
  } catch (err) {
    expect((err as { status: number }).status).toBe(400);
    return (err as { details: Array<{ path: string; message: string }> }).details;
  }
  throw new Error('expected a 400');
}

describe('signing algorithm', () => {
  it('defaults to HMAC: a whsec_ secret, no public key', async () => {
    const { svc } = setup();
    const { record, secret } = await svc.create('t', base);
    expect(secret).toMatch(/^whsec_/);
    expect(subscriptionView(record)).toMatchObject({ signing: { algorithm: 'hmac-sha256' }, publicKey: null, previousSecretExpiresAt: null, encryption: null });
    expect(await svc.secret('t', record.id)).toEqual({ secret });
  });

  it('ed25519: no secret is returned, the view and /secret carry the whpk_ public key, the whsk_ key stays sealed', async () => {
    const { svc, cache, box } = setup();
    const { record, secret } = await svc.create('t', { ...base, signing: { algorithm: 'ed25519' } });
    expect(secret).toBeNull();
    const view = subscriptionView(record);
    expect(view).toMatchObject({ signing: { algorithm: 'ed25519' }, publicKey: expect.stringMatching(/^whpk_/) });
    expect(JSON.stringify(view)).not.toMatch(/whsk_/);
    const revealed = await svc.secret('t', record.id);
    expect(revealed).toEqual({ algorithm: 'ed25519', publicKey: record.publicKey, note: expect.stringMatching(/only Hookhub holds the private key/) });
    expect(box.open(record.secretSealed)).toMatch(/^whsk_/);
    expect((await loadedWebhook(cache, record.id)).secrets).toEqual([box.open(record.secretSealed)]);
  });

  it('cannot be changed by PATCH, and says what to do instead', async () => {
    const { svc } = setup();
    const { record } = await svc.create('t', base);
    expect(await details(svc.update('t', record.id, { signing: { algorithm: 'ed25519' } }))).toEqual([
      { path: '/signing', message: expect.stringMatching(/at creation only.*rotate-secret/) },
    ]);
  });

  it('refuses unknown algorithms', async () => {
    const { svc } = setup();
    expect((await details(svc.create('t', { ...base, signing: { algorithm: 'rsa' } })))[0]?.path).toBe('/signing/algorithm');
  });
});

describe('secret rotation', () => {
  it('keeps the previous secret signing, second, until the overlap ends', async () => {
    const { svc, cache, box } = setup();
    const { record, secret } = await svc.create('t', base);
    const before = Date.now();
    const rotated = await svc.rotateSecret('t', record.id, {});
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(secret);
    const expiresAt = rotated.record.previousSecretExpiresAt!.getTime();
    expect(expiresAt).toBeGreaterThanOrEqual(before + 86_400_000);
    expect(expiresAt).toBeLessThan(Date.now() + 86_400_000 + 1000);
    expect(subscriptionView(rotated.record)['previousSecretExpiresAt']).toBe(new Date(expiresAt).toISOString());
    expect((await loadedWebhook(cache, record.id)).secrets).toEqual([rotated.secret, secret]);
    expect(await svc.secret('t', record.id)).toEqual({ secret: rotated.secret });
    expect(box.open(rotated.record.previousSecretSealed!)).toBe(secret);
  });

  it('with overlapSeconds 0 the old secret stops at once', async () => {
    const { svc, cache } = setup();
    const { record } = await svc.create('t', base);
    const rotated = await svc.rotateSecret('t', record.id, { overlapSeconds: 0 });
    expect(rotated.record.previousSecretExpiresAt).toBeNull();
    expect((await loadedWebhook(cache, record.id)).secrets).toEqual([rotated.secret]);
  });

  it('drops the previous secret from the signing set when it expires, without waiting for the cache', async () => {
    const { svc, cache, clock } = setup();
    const { record, secret } = await svc.create('t', base);
    const rotated = await svc.rotateSecret('t', record.id, { overlapSeconds: 1 });
    const expiresAt = rotated.record.previousSecretExpiresAt!.getTime();
    clock.set(expiresAt - 1);
    const loaded = await loadedWebhook(cache, record.id);
    expect(loaded.secrets).toEqual([rotated.secret, secret]);
    // The overlap ends at its instant, with the entry still in the cache.
    clock.set(expiresAt);
    expect(loaded.secrets).toEqual([rotated.secret]);
    expect((await loadedWebhook(cache, record.id)).secrets).toEqual([rotated.secret]);
  });

  it("stamps creation and the end of the overlap by the service's clock", async () => {
    const { store, box, cache, clock } = setup();
    const svc = new SubscriptionService({ store, secretBox: box, cache, allowPrivateNetworks: true, requireHttps: false, clock });
    clock.set(Date.parse('2030-01-01T00:00:00Z'));
    const { record } = await svc.create('t', base);
    expect(record.createdAt).toEqual(new Date('2030-01-01T00:00:00Z'));
    clock.advance(5000);
    const rotated = await svc.rotateSecret('t', record.id, { overlapSeconds: 60 });
    expect(rotated.record.previousSecretExpiresAt).toEqual(new Date('2030-01-01T00:01:05Z'));
  });

  it('rotates Ed25519 key pairs: a new public key, no secret', async () => {
    const { svc, cache } = setup();
    const { record } = await svc.create('t', { ...base, signing: { algorithm: 'ed25519' } });
    const rotated = await svc.rotateSecret('t', record.id, { overlapSeconds: 60 });
    expect(rotated.secret).toBeNull();
    expect(rotated.record.publicKey).toMatch(/^whpk_/);
    expect(rotated.record.publicKey).not.toBe(record.publicKey);
    const secrets = (await loadedWebhook(cache, record.id)).secrets;
    expect(secrets).toHaveLength(2);
    expect(secrets.every((s) => s.startsWith('whsk_'))).toBe(true);
  });

  it.each([[-1], [604_801], [1.5], ['60'], [null]])('refuses overlapSeconds %p', async (overlapSeconds) => {
    const { svc } = setup();
    const { record } = await svc.create('t', base);
    expect(await details(svc.rotateSecret('t', record.id, { overlapSeconds }))).toEqual([{ path: '/overlapSeconds', message: expect.stringMatching(/0 to 604800/) }]);
  });

  it('accepts the 7-day maximum and refuses unknown options', async () => {
    const { svc } = setup();
    const { record } = await svc.create('t', base);
    await expect(svc.rotateSecret('t', record.id, { overlapSeconds: 604_800 })).resolves.toBeDefined();
    expect(await details(svc.rotateSecret('t', record.id, { overlap: 5 }))).toEqual([{ path: '/overlap', message: expect.any(String) }]);
  });

  it("answers 404 for another tenant's subscription", async () => {
    const { svc } = setup();
    const { record } = await svc.create('t', base);
    await expect(svc.rotateSecret('other', record.id, {})).rejects.toMatchObject({ status: 404 });
  });
});

describe('encryption at registration', () => {
  it('stores a public JWK and shows it unchanged; PATCH can change or remove it', async () => {
    const { svc } = setup();
    const jwk = { ...(await exportJWK((await generateKeyPair('ECDH-ES', { crv: 'P-256' })).publicKey)), kid: 'k1' };
    const { record } = await svc.create('t', { ...base, encryption: { jwk, fields: ['data.contact.email'] } });
    expect(subscriptionView(record)['encryption']).toEqual({ jwk, fields: ['data.contact.email'] });
    const updated = await svc.update('t', record.id, { encryption: null });
    expect(subscriptionView(updated)['encryption']).toBeNull();
  });

  it('answers 400 naming /encryption/jwk for a private key', async () => {
    const { svc } = setup();
    const privateJwk = await exportJWK((await generateKeyPair('ECDH-ES', { crv: 'P-256', extractable: true })).privateKey);
    expect(await details(svc.create('t', { ...base, encryption: { jwk: privateJwk } }))).toEqual([{ path: '/encryption/jwk', message: expect.stringMatching(/private key/) }]);
  });
});
