import { randomBytes } from 'node:crypto';
import { compactDecrypt, decodeProtectedHeader, exportJWK, generateKeyPair } from 'jose';
import type { KeyLike } from 'jose';
import { verifyWebhook } from '../../src/verify';
import type { Receiver, ReceivedRequest } from '../support/receiver';
import { waitUntil } from '../support/receiver';
import { businessCreated, hubPerFile, waitForAttempts } from '../support/test-hub';
import type { TenantApi } from '../support/test-hub';

/**
 * Batch delivery through the whole pipeline (RabbitMQ, FerretDB, a local receiver): events of a
 * subscription with `batch` gather and go as one signed request; the batch is retried, dead-lettered
 * and replayed as a whole under one webhook-id, and an event of a dead batch can be replayed alone.
 */
const shared = hubPerFile();
const { receiver, tenant } = shared;
const hub = (): typeof shared.th.hub => shared.th.hub;

type Json = Record<string, unknown>;
interface BatchBody {
  type: string;
  data: Array<{ id: string; type: string; created: string; data: Json }>;
  webhook: { subscription_id: string; delivery_attempt: number; batch_id: string };
}

const bodyOf = (req: ReceivedRequest): BatchBody => req.json as unknown as BatchBody;
const idsOf = (req: ReceivedRequest): string[] => bodyOf(req).data.map((e) => e.id);
const FAST_RETRY = { initialDelaySeconds: 0.2, backoffMultiplier: 1 };

async function subscribe(api: TenantApi, r: Receiver, extra: Json): Promise<Json> {
  const created = await api('POST', '/v1/subscriptions', { endpointUrl: `${r.url}/hook`, events: ['business.created'], ...extra });
  expect(created.status).toBe(201);
  return created.body;
}

async function publish(api: TenantApi, count: number, data: (i: number) => Json = () => ({})): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = `evt_${randomBytes(6).toString('hex')}`;
    const published = await api('POST', '/v1/events', businessCreated({ id }, data(i)));
    expect(published.status).toBe(202);
    ids.push(id);
  }
  return ids;
}

const eventsIn = (r: Receiver): string[] => r.requests.flatMap(idsOf);

describe('batch settings', () => {
  it('are validated: maxEvents 1–1000, maxWaitMs 100–60000, no unknown fields; maxBytes defaults', async () => {
    const api = await tenant();
    const bad = await api('POST', '/v1/subscriptions', { endpointUrl: 'http://127.0.0.1:9/hook', events: ['business.created'], batch: { maxEvents: 1001, maxWaitMs: 50, size: 1 } });
    expect(bad.status).toBe(400);
    const paths = (bad.body['error'] as { details: Array<{ path: string }> }).details.map((d) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['/batch/maxEvents', '/batch/maxWaitMs']));
    const ok = await api('POST', '/v1/subscriptions', { endpointUrl: 'http://127.0.0.1:9/hook', events: ['business.created'], batch: { maxEvents: 10, maxWaitMs: 100 } });
    expect(ok.body['batch']).toEqual({ maxEvents: 10, maxWaitMs: 100, maxBytes: 1_048_576 });
    const off = await api('PATCH', `/v1/subscriptions/${String(ok.body['id'])}`, { batch: null });
    expect(off.body['batch']).toBeNull();
  });
});

describe('a batch', () => {
  it('closes at maxEvents: one signed request per batch, its events in order, one webhook-id each, one attempt record', async () => {
    const api = await tenant();
    const r = await receiver();
    const sub = await subscribe(api, r, { batch: { maxEvents: 4, maxWaitMs: 60_000 } });
    const ids = await publish(api, 8);
    await waitUntil(() => eventsIn(r).length >= 8, 20_000, () => `got ${eventsIn(r).length} of 8 events`);
    expect(r.requests).toHaveLength(2);
    expect(eventsIn(r).sort()).toEqual([...ids].sort());
    for (const req of r.requests) {
      const body = bodyOf(req);
      expect(body.type).toBe('batch');
      expect(body.data).toHaveLength(4);
      expect(body.webhook).toEqual({ subscription_id: sub['id'], delivery_attempt: 1, batch_id: expect.stringMatching(/^bat_/) });
      expect(body.data[0]).toEqual({ id: expect.any(String), type: 'business.created', created: expect.any(String), data: expect.objectContaining({ name: 'Blue Door Bistro' }) });
      // The signature covers the whole batch body, verified as any delivery is.
      expect(verifyWebhook(req.body, req.headers as Record<string, string>, String(sub['secret'])).webhookId).toBe(req.headers['webhook-id']);
    }
    expect(r.requests[0]!.headers['webhook-id']).not.toBe(r.requests[1]!.headers['webhook-id']);
    const attempts = await waitForAttempts(api, String(sub['id']), 2);
    expect(attempts).toHaveLength(2);
    const byBatch = new Map(r.requests.map((req) => [bodyOf(req).webhook.batch_id, idsOf(req)]));
    for (const attempt of attempts) {
      const batch = attempt['batch'] as { id: string; eventIds: string[] };
      expect(attempt).toMatchObject({ status: 'succeeded', attempt: 1 });
      expect(batch.eventIds).toEqual(byBatch.get(batch.id));
      expect(attempt['eventId']).toBe(batch.eventIds[0]);
    }
  });

  it('closes at maxWaitMs with the events it has', async () => {
    const api = await tenant();
    const r = await receiver();
    await subscribe(api, r, { batch: { maxEvents: 1000, maxWaitMs: 5000 } });
    const ids = await publish(api, 3);
    await waitUntil(() => eventsIn(r).length >= 3, 20_000);
    expect(r.requests).toHaveLength(1);
    expect(idsOf(r.requests[0]!).sort()).toEqual([...ids].sort());
  });

  it('closes before the next event would take it past maxBytes', async () => {
    const api = await tenant();
    const r = await receiver();
    await subscribe(api, r, { batch: { maxEvents: 1000, maxWaitMs: 60_000, maxBytes: 2048 } });
    // Each event is about 700 bytes as the batch carries it: two fit in 2048, a third does not.
    const ids = await publish(api, 6, (i) => ({ description: `${i}`.padEnd(300, 'x') }));
    await waitUntil(() => eventsIn(r).length >= 4, 20_000);
    for (const req of r.requests) {
      const entries = bodyOf(req).data.map((e) => Buffer.byteLength(JSON.stringify(e)));
      expect(entries.length).toBeGreaterThan(0);
      expect(entries.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(2048);
    }
    expect(r.requests.length).toBeGreaterThanOrEqual(2);
    expect(ids).toEqual(expect.arrayContaining(eventsIn(r)));
  });

  it('shapes each event on its own: transform, filter and field selection apply per event', async () => {
    const api = await tenant();
    const r = await receiver();
    await subscribe(api, r, {
      batch: { maxEvents: 3, maxWaitMs: 60_000 },
      filter: "data.category != 'bar'",
      payload: { transform: '{ "name": data.name, "city": data.address.city }' },
    });
    const ids = await publish(api, 5, (i) => ({ name: `Place ${i}`, category: i % 2 === 1 ? 'bar' : 'restaurant' }));
    await waitUntil(() => eventsIn(r).length >= 3, 20_000);
    const body = bodyOf(r.requests[0]!);
    expect(body.data.map((e) => e.id)).toEqual([ids[0], ids[2], ids[4]]);
    expect(body.data.map((e) => e.data)).toEqual([0, 2, 4].map((i) => ({ name: `Place ${i}`, city: 'Austin' })));
  });

  it('is retried whole when the receiver fails: same webhook-id, same events, the attempt counted up', async () => {
    const api = await tenant();
    const r = await receiver((_req, nth) => ({ status: nth <= 2 ? 503 : 200 }));
    const sub = await subscribe(api, r, { batch: { maxEvents: 3, maxWaitMs: 60_000 }, retryConfig: FAST_RETRY });
    await publish(api, 3);
    const requests = await r.waitFor(3, 30_000);
    expect(new Set(requests.map((req) => req.headers['webhook-id'])).size).toBe(1);
    expect(new Set(requests.map((req) => bodyOf(req).webhook.batch_id)).size).toBe(1);
    expect(requests.map((req) => idsOf(req))).toEqual([idsOf(requests[0]!), idsOf(requests[0]!), idsOf(requests[0]!)]);
    expect(requests.map((req) => bodyOf(req).webhook.delivery_attempt)).toEqual([1, 2, 3]);
    for (const req of requests) expect(() => verifyWebhook(req.body, req.headers as Record<string, string>, String(sub['secret']))).not.toThrow();
  });

  it('that dies leaves a dead letter per event; one event replays alone, the whole batch under its webhook-id', async () => {
    const api = await tenant();
    let failing = true;
    const r = await receiver(() => ({ status: failing ? 500 : 200 }));
    const sub = await subscribe(api, r, { batch: { maxEvents: 3, maxWaitMs: 60_000 }, retryConfig: { ...FAST_RETRY, maxRetries: 1 } });
    const ids = await publish(api, 3);
    const dead = async (): Promise<Json[]> => (await api('GET', `/v1/dead-letters?subscriptionId=${String(sub['id'])}`)).body['data'] as Json[];
    await waitUntil(async () => (await dead()).length >= 3, 30_000);
    const sent = r.requests.slice();
    expect(sent).toHaveLength(2);
    const letters = await dead();
    const batchId = bodyOf(sent[0]!).webhook.batch_id;
    expect(letters.map((d) => d['eventId']).sort()).toEqual([...ids].sort());
    for (const d of letters) {
      expect(d).toMatchObject({ reason: 'retries_exhausted', attempts: 2, webhookId: sent[0]!.headers['webhook-id'], batch: { id: batchId, size: 3 } });
    }
    const ordered = [...letters].sort((a, b) => (a['batch'] as { index: number }).index - (b['batch'] as { index: number }).index);
    expect(ordered.map((d) => d['eventId'])).toEqual(idsOf(sent[0]!));

    failing = false;
    // A replayed event joins a new batch: this one waits for no more company.
    expect((await api('PATCH', `/v1/subscriptions/${String(sub['id'])}`, { batch: { maxEvents: 3, maxWaitMs: 100 } })).status).toBe(200);
    const alone = ordered[1]!;
    const one = await api('POST', `/v1/dead-letters/${String(alone['id'])}/replay`);
    expect(one.status).toBe(202);
    await r.waitFor(3, 20_000);
    const replayedAlone = r.requests[2]!;
    expect(idsOf(replayedAlone)).toEqual([alone['eventId']]);
    expect(replayedAlone.headers['webhook-id']).not.toBe(sent[0]!.headers['webhook-id']);

    const whole = await api('POST', `/v1/dead-letters/${String(ordered[0]!['id'])}/replay?wholeBatch=true`);
    expect(whole.status).toBe(202);
    expect(whole.body).toMatchObject({ webhookId: sent[0]!.headers['webhook-id'], batchId, deadLetters: ordered.map((d) => d['id']) });
    await r.waitFor(4, 20_000);
    const replayedWhole = r.requests[3]!;
    expect(replayedWhole.headers['webhook-id']).toBe(sent[0]!.headers['webhook-id']);
    expect(bodyOf(replayedWhole).webhook).toMatchObject({ batch_id: batchId, delivery_attempt: 1 });
    expect(idsOf(replayedWhole)).toEqual(idsOf(sent[0]!));
    expect(() => verifyWebhook(replayedWhole.body, replayedWhole.headers as Record<string, string>, String(sub['secret']))).not.toThrow();
    expect((await dead()).every((d) => d['replayCount'] !== 0)).toBe(true);
  });
});

describe('a batch subscription', () => {
  it('counts each batch as one request of its rate limit, and delivers every event while held to it', async () => {
    const api = await tenant();
    const r = await receiver();
    // One request a second: batches of up to 3 events, closed after 100 ms.
    const sub = await subscribe(api, r, { batch: { maxEvents: 3, maxWaitMs: 100 }, rateLimit: { requestsPerSecond: 1 } });
    const ids = await publish(api, 9);
    await waitUntil(() => new Set(eventsIn(r)).size >= 9, 40_000, () => `got ${new Set(eventsIn(r)).size} of 9 events`);
    expect([...new Set(eventsIn(r))].sort()).toEqual([...ids].sort());
    // Each request took one slot of the subscription's rate, shared by every worker: one per second
    // at this rate. The slots it took cannot be taken again; every other second's slot is free.
    const seconds = r.requests.map((req) => Math.floor(req.at / 1000));
    const first = Math.min(...seconds) - 3;
    const last = Math.max(...seconds) + 1;
    let taken = 0;
    for (let bucket = first; bucket <= last; bucket++) {
      if (!(await hub().store.claimRateSlot(`${String(sub['id'])}:1000`, bucket, 0))) taken++;
    }
    expect(taken).toBe(r.requests.length);
    // Batches, not events, were counted: fewer requests than events.
    expect(r.requests.length).toBeLessThan(9);
  }, 60_000);

  it('encrypts each event of a batch on its own: the receiver decrypts every one, and the signature covers the batch as sent', async () => {
    const api = await tenant();
    const fieldsReceiver = await receiver();
    const wholeReceiver = await receiver();
    const { publicKey, privateKey } = await generateKeyPair('RSA-OAEP-256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'batch-key' };
    const fields = await subscribe(api, fieldsReceiver, { batch: { maxEvents: 3, maxWaitMs: 60_000 }, encryption: { jwk, fields: ['data.contact.email'] } });
    const whole = await subscribe(api, wholeReceiver, { batch: { maxEvents: 3, maxWaitMs: 60_000 }, encryption: { jwk } });
    const emails = ['a@one.example', 'b@two.example', 'c@three.example'];
    const ids = await publish(api, 3, (i) => ({ contact: { phone: `+1-512-555-010${i}`, email: emails[i] } }));
    const decrypt = async (jwe: unknown, key: KeyLike): Promise<unknown> => JSON.parse(Buffer.from((await compactDecrypt(String(jwe), key)).plaintext).toString('utf8'));

    const [batch] = await fieldsReceiver.waitFor(1, 20_000);
    expect(verifyWebhook(batch!.body, batch!.headers as Record<string, string>, String(fields['secret'])).webhookId).toBe(batch!.headers['webhook-id']);
    const entries = bodyOf(batch!).data;
    expect(entries.map((e) => e.id).sort()).toEqual([...ids].sort());
    for (const entry of entries) {
      const i = ids.indexOf(entry.id);
      const contact = entry.data['contact'] as Json;
      expect(decodeProtectedHeader(String(contact['email']))).toMatchObject({ alg: 'RSA-OAEP-256', kid: 'batch-key' });
      expect(await decrypt(contact['email'], privateKey)).toBe(emails[i]);
      expect(contact['phone']).toBe(`+1-512-555-010${i}`);
    }
    for (const email of emails) expect(batch!.body).not.toContain(email);

    const [wholeBatch] = await wholeReceiver.waitFor(1, 20_000);
    expect(verifyWebhook(wholeBatch!.body, wholeBatch!.headers as Record<string, string>, String(whole['secret'])).webhookId).toBe(wholeBatch!.headers['webhook-id']);
    const wholeEntries = bodyOf(wholeBatch!).data;
    expect(wholeEntries.map((e) => e.id).sort()).toEqual([...ids].sort());
    for (const entry of wholeEntries) {
      expect(typeof entry.data).toBe('string');
      const decrypted = (await decrypt(entry.data, privateKey)) as Json;
      expect([decrypted['name'], (decrypted['contact'] as Json)['email']]).toEqual(['Blue Door Bistro', emails[ids.indexOf(entry.id)]]);
    }
  });
});
