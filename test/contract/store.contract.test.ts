import type { Collection } from 'mongodb';
import type { AttemptRecord, ConnectionRecord, DeadLetterRecord, Store, StoredEvent, SubscriptionRecord } from '../../src/store/port';
import { MemoryStore } from '../../src/store/memory/memory-store';
import { MongoStore } from '../../src/store/mongo/mongo-store';
import { newId, newIdAt } from '../../src/core/ids';
import { mongoUrlFor, uniqueName } from '../support/services';

/** One suite, every adapter: the embedded store must not promise what MongoDB does not keep. */
const adapters: Array<[string, () => Store]> = [
  ['memory', () => new MemoryStore()],
  ['mongo', () => new MongoStore({ url: mongoUrlFor(uniqueName('hhcontract')) })],
];

describe.each(adapters)('Store contract: %s', (_name, create) => {
  let store: Store;
  beforeAll(async () => {
    store = create();
    await store.connect();
  });
  afterAll(async () => {
    if (store instanceof MongoStore) await store.dropDatabase();
    await store.close();
  });

  const subscription = (tenantId: string, overrides: Partial<SubscriptionRecord> = {}): SubscriptionRecord => ({
    id: newId('sub'), tenantId, kind: 'webhook', integration: null, endpointUrl: 'https://example.com/hook', events: ['business.created'],
    filters: [{ field: 'data.category', operator: 'equals', value: { $weird: 'key', 'dotted.key': 1 } }], filter: null,
    payload: { fields: ['data.name'] }, headers: { 'X-Api.Version': '2' },
    retryConfig: { maxRetries: 8, initialDelaySeconds: 5, backoffMultiplier: 5, maxBackoffSeconds: 36000 },
    active: true, description: null, secretSealed: 'v1:k1:a:b:c', disabledReason: null,
    createdAt: new Date('2026-01-01T00:00:00Z'), updatedAt: new Date('2026-01-01T00:00:00Z'), ...overrides,
  });

  it('keeps API keys by hash', async () => {
    await store.upsertApiKey({ hash: 'h1', tenantId: 'acme', name: 'ci', createdAt: new Date() });
    expect(await store.findApiKey('h1')).toMatchObject({ hash: 'h1', tenantId: 'acme', name: 'ci' });
    expect(await store.findApiKey('h2')).toBeNull();
  });

  it('stores subscriptions per tenant, keeping awkward keys intact', async () => {
    const sub = subscription('t1');
    await store.insertSubscription(sub);
    expect(await store.getSubscription('t1', sub.id)).toEqual(sub);
    expect(await store.getSubscription('t2', sub.id)).toBeNull();
    expect(await store.loadSubscription(sub.id)).toEqual(sub);
    await expect(store.insertSubscription(sub)).rejects.toMatchObject({ code: 11000 });
  });

  it('keeps network rules, signing and encryption settings of a subscription', async () => {
    const sub = subscription('net', {
      allowedIps: ['203.0.113.0/24'], rateLimit: { requestsPerSecond: 2.5 }, tlsSealed: 'v1:k1:t:l:s',
      signing: { algorithm: 'ed25519' }, publicKey: 'whpk_abc', previousSecretSealed: null, previousSecretExpiresAt: null,
      encryption: { jwk: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }, fields: ['data.contact.email'] },
    });
    await store.insertSubscription(sub);
    expect(await store.loadSubscription(sub.id)).toEqual(sub);
    const updated = await store.updateSubscription('net', sub.id, { allowedIps: [], rateLimit: null, tlsSealed: null });
    expect(updated).toMatchObject({ allowedIps: [], rateLimit: null, tlsSealed: null });
  });

  it('keeps secret headers apart: their names, and their values sealed where re-encryption finds them', async () => {
    const sub = subscription('hdr', { headers: { 'X-Env': 'prod' }, secretHeaders: ['Authorization'], headersSealed: 'v1:k1:h:d:r' });
    await store.insertSubscription(sub);
    expect(await store.loadSubscription(sub.id)).toEqual(sub);
    const found = [];
    for await (const sealed of store.scanSealed()) if (sealed.id === sub.id) found.push(sealed.field);
    expect(found.sort()).toEqual(['headersSealed', 'secretSealed']);
    const cleared = await store.updateSubscription('hdr', sub.id, { headers: { Authorization: 'Bearer public' }, secretHeaders: [], headersSealed: null });
    expect(cleared).toMatchObject({ headers: { Authorization: 'Bearer public' }, secretHeaders: [], headersSealed: null });
  });

  it('updates and deletes only within the tenant', async () => {
    const sub = subscription('t3');
    await store.insertSubscription(sub);
    expect(await store.updateSubscription('other', sub.id, { active: false })).toBeNull();
    const updated = await store.updateSubscription('t3', sub.id, { active: false, disabledReason: 'gone', headers: { A: '1' } });
    expect(updated).toMatchObject({ active: false, disabledReason: 'gone', headers: { A: '1' }, endpointUrl: sub.endpointUrl });
    expect(updated!.updatedAt.getTime()).toBeGreaterThan(sub.updatedAt.getTime());
    expect(await store.deleteSubscription('other', sub.id)).toBe(false);
    expect(await store.deleteSubscription('t3', sub.id)).toBe(true);
    expect(await store.loadSubscription(sub.id)).toBeNull();
  });

  it('lists newest first with a cursor', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const sub = subscription('pager');
      ids.push(sub.id);
      await store.insertSubscription(sub);
    }
    const first = await store.listSubscriptions('pager', 'webhook', { limit: 2 });
    expect(first.data.map((s) => s.id)).toEqual([ids[4], ids[3]]);
    const second = await store.listSubscriptions('pager', 'webhook', { limit: 2, cursor: first.nextCursor! });
    expect(second.data.map((s) => s.id)).toEqual([ids[2], ids[1]]);
    const third = await store.listSubscriptions('pager', 'webhook', { limit: 2, cursor: second.nextCursor! });
    expect(third).toEqual({ data: [expect.objectContaining({ id: ids[0] })], nextCursor: null });
  });

  it('keeps integrations apart from webhooks in lists, and finds them by connection', async () => {
    const hook = subscription('kinds');
    const integration = subscription('kinds', {
      id: newId('int'), kind: 'integration', endpointUrl: '', secretSealed: '',
      integration: { connectionId: 'con_1', connector: 'slack', triggers: ['review_created'] },
    });
    const open = subscription('kinds', { id: newId('int'), kind: 'integration', endpointUrl: '', secretSealed: '', integration: { connectionId: 'con_1', connector: 'slack', triggers: null } });
    for (const s of [hook, integration, open]) await store.insertSubscription(s);
    expect((await store.listSubscriptions('kinds', 'webhook', { limit: 10 })).data.map((s) => s.id)).toEqual([hook.id]);
    expect((await store.listSubscriptions('kinds', 'integration', { limit: 10 })).data.map((s) => s.id)).toEqual([open.id, integration.id]);
    expect(await store.loadSubscription(integration.id)).toEqual(integration);
    expect((await store.findIntegrationsOf('kinds', 'con_1')).map((s) => s.id).sort()).toEqual([integration.id, open.id].sort());
    expect(await store.findIntegrationsOf('someone-else', 'con_1')).toEqual([]);
    const updated = await store.updateSubscription('kinds', integration.id, { integration: { connectionId: 'con_1', connector: 'slack', triggers: null } });
    expect(updated?.integration).toEqual({ connectionId: 'con_1', connector: 'slack', triggers: null });
  });

  it('stores connections per tenant with their sealed secrets, settings and status', async () => {
    const connection: ConnectionRecord = {
      id: newId('con'), tenantId: 'c1', connector: 'webhook-custom', connectorVersion: '1.2.0',
      config: { url: 'https://crm.example/x', headers: { 'X-A.b': '1', $odd: 'k' } }, secretsSealed: 'v1:k1:a:b:c',
      metadata: { instance_url: 'https://eu1.example' }, status: 'active', tokenExpiresAt: new Date('2026-01-01T01:00:00Z'), description: null,
      lastCheckAt: null, lastCheckOk: null, lastError: null,
      createdAt: new Date('2026-01-01T00:00:00Z'), updatedAt: new Date('2026-01-01T00:00:00Z'),
    };
    await store.insertConnection(connection);
    expect(await store.getConnection('c1', connection.id)).toEqual(connection);
    expect(await store.getConnection('c2', connection.id)).toBeNull();
    expect(await store.loadConnection(connection.id)).toEqual(connection);
    await expect(store.insertConnection(connection)).rejects.toMatchObject({ code: 11000 });
    expect(await store.updateConnection('c2', connection.id, { status: 'error' })).toBeNull();
    const checkedAt = new Date('2026-03-03T00:00:00Z');
    const updated = await store.updateConnection('c1', connection.id, { lastCheckAt: checkedAt, lastCheckOk: false, lastError: 'nope', config: { url: 'https://crm.example/y' } });
    expect(updated).toMatchObject({ lastCheckAt: checkedAt, lastCheckOk: false, lastError: 'nope', config: { url: 'https://crm.example/y' }, secretsSealed: 'v1:k1:a:b:c' });
    expect((await store.listConnections('c1', { limit: 5 })).data.map((c) => c.id)).toEqual([connection.id]);
    expect(await store.deleteConnection('c2', connection.id)).toBe(false);
    expect(await store.deleteConnection('c1', connection.id)).toBe(true);
    expect(await store.loadConnection(connection.id)).toBeNull();
  });

  it('gives a lease to one owner at a time, and lets an expired one be taken over', async () => {
    const name = uniqueName('lease');
    expect(await store.acquireLease(name, 'a', 60_000)).toBe(true);
    expect(await store.acquireLease(name, 'b', 60_000)).toBe(false);
    expect(await store.acquireLease(name, 'a', 60_000)).toBe(true);
    await store.releaseLease(name, 'b');
    expect(await store.acquireLease(name, 'b', 60_000)).toBe(false);
    await store.releaseLease(name, 'a');
    expect(await store.acquireLease(name, 'b', 1)).toBe(true);
    await new Promise((r) => setTimeout(r, 20));
    const racers = await Promise.all([store.acquireLease(name, 'c', 60_000), store.acquireLease(name, 'd', 60_000)]);
    expect(racers.filter(Boolean)).toHaveLength(1);
  });

  it('lets an OAuth state be consumed once', async () => {
    const state = {
      id: uniqueName('st'), tenantId: 'o1', connector: 'salesforce', connectionId: null, sealed: 'v1:k1:x:y:z', browserNonceHash: '',
      authorizationUrl: 'https://login.example/authorize?x=1', redirectAfter: null, createdAt: new Date('2026-01-01T00:00:00Z'), expiresAt: new Date('2026-01-01T00:10:00Z'),
    };
    await store.insertOAuthState(state);
    expect(await store.getOAuthState(state.id)).toEqual(state);
    const claims = await Promise.all([store.claimOAuthState(state.id, 'b1'), store.claimOAuthState(state.id, 'b2')]);
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect((await store.getOAuthState(state.id))?.browserNonceHash).toBe(claims[0] ? 'b1' : 'b2');
    const consumed = await Promise.all([store.consumeOAuthState(state.id), store.consumeOAuthState(state.id)]);
    expect(consumed.sort()).toEqual([false, true]);
    expect(await store.getOAuthState(state.id)).toBeNull();
  });

  it('remembers external ids per connection, type and key', async () => {
    await store.putExternalRef('con_r', 'organization', 'biz.1', '42');
    await store.putExternalRef('con_r', 'organization', 'biz.1', '43');
    expect(await store.getExternalRef('con_r', 'organization', 'biz.1')).toBe('43');
    expect(await store.getExternalRef('con_other', 'organization', 'biz.1')).toBeNull();
  });

  it('sums sync counts over processes, per object type and hour', async () => {
    const hour = new Date('2026-05-05T10:00:00Z');
    const row = { tenantId: 's1', connectionId: 'con_s', objectType: 'Lead', hour, created: 2, updated: 1, failed: 0 };
    await store.saveSyncCounts('p1', [row]);
    await store.saveSyncCounts('p1', [{ ...row, created: 3 }]);
    await store.saveSyncCounts('p2', [{ ...row, created: 1, failed: 4 }, { ...row, objectType: 'Case', created: 5, updated: 0 }]);
    expect(await store.listSyncCounts('s1', 'con_s', new Date('2026-05-05T00:00:00Z'))).toEqual([
      { tenantId: 's1', connectionId: 'con_s', objectType: 'Case', hour, created: 5, updated: 0, failed: 0 },
      { tenantId: 's1', connectionId: 'con_s', objectType: 'Lead', hour, created: 4, updated: 2, failed: 4 },
    ]);
    expect(await store.listSyncCounts('s2', 'con_s', new Date(0))).toEqual([]);
  });

  it('finds active subscriptions for a type, by name or "*", within a scope', async () => {
    const named = subscription('finder', { events: ['review.moderated'] });
    const wildcard = subscription('finder', { events: ['*'] });
    const paused = subscription('finder', { events: ['review.moderated'], active: false });
    const otherTenant = subscription('someone-else', { events: ['review.moderated'] });
    for (const s of [named, wildcard, paused, otherTenant]) await store.insertSubscription(s);
    const all = (await store.findSubscriptionsFor('review.moderated', null)).map((s) => s.id);
    expect(all).toEqual(expect.arrayContaining([named.id, wildcard.id, otherTenant.id]));
    expect(all).not.toContain(paused.id);
    const scoped = (await store.findSubscriptionsFor('review.moderated', 'finder')).map((s) => s.id).sort();
    expect(scoped).toEqual([named.id, wildcard.id].sort());
  });

  it('reports duplicate events, across batches and within one', async () => {
    const event = (key: string): StoredEvent => ({
      key,
      envelope: { id: key, type: 'business.updated', version: '1.0', timestamp: '2026-01-01T00:00:00Z', data: { changes: { 'address.city': { old_value: 'A', new_value: 'B' }, $set: 1 } } },
      scopeTenantId: null,
      receivedAt: new Date(),
      routedAt: null,
    });
    const a = uniqueName('evt');
    const b = uniqueName('evt');
    expect(await store.insertEvents([event(a)])).toEqual(['inserted']);
    expect(await store.insertEvents([event(b), event(a), event(b)])).toEqual(['inserted', 'duplicate', 'duplicate']);
    const stored = await store.getEvent(a);
    expect(stored?.envelope).toEqual(event(a).envelope);
    expect(stored?.routedAt).toBeNull();
    await store.markEventsRouted([a, b], new Date('2026-02-02T00:00:00Z'));
    await store.markEventsRouted([a], new Date());
    expect((await store.getEvent(a))?.routedAt).toEqual(new Date('2026-02-02T00:00:00Z'));
    expect(await store.getEvent('nope')).toBeNull();
  });

  // Attempt ids carry their createdAt, as the worker makes them (newId at that moment).
  const attempt = (overrides: Partial<AttemptRecord>): AttemptRecord => ({
    id: newIdAt('att', overrides.createdAt ?? new Date('2026-01-01T00:00:00Z')), tenantId: 'att-tenant', subscriptionId: 'sub_a', eventId: 'evt_a', eventType: 'business.created', webhookId: 'msg_a',
    attempt: 1, status: 'failed', next: 'retry', nextAttemptAt: new Date('2026-01-01T00:00:05Z'), url: 'https://x', httpStatus: 500,
    durationMs: 12, responseHeaders: { 'x.y': '1', 'content-type': 'text/plain' }, responseBody: 'oops', error: null, replay: false,
    createdAt: new Date('2026-01-01T00:00:00Z'), ...overrides,
  });

  it('records attempts in batches, tolerates a replayed batch, and filters lists', async () => {
    const first = attempt({});
    const second = attempt({ attempt: 2, status: 'succeeded', next: 'none', nextAttemptAt: null, httpStatus: 200, subscriptionId: 'sub_b', createdAt: new Date('2026-01-01T00:00:07Z') });
    const old = attempt({ eventId: 'evt_b', createdAt: new Date('2020-01-01T00:00:00Z') });
    await store.recordAttempts([first, second]);
    await store.recordAttempts([first, old]);
    const all = await store.listAttempts('att-tenant', { limit: 10 });
    // Newest first, each exactly as recorded (createdAt included).
    expect(all.data).toEqual([second, first, old]);
    expect((await store.listAttempts('att-tenant', { limit: 10, status: 'succeeded' })).data).toEqual([second]);
    expect((await store.listAttempts('att-tenant', { limit: 10, subscriptionId: 'sub_b' })).data).toEqual([second]);
    expect((await store.listAttempts('att-tenant', { limit: 10, eventId: 'evt_b' })).data).toHaveLength(1);
    expect((await store.listAttempts('another', { limit: 10 })).data).toEqual([]);
    expect(await store.purgeAttemptsBefore(new Date('2025-01-01T00:00:00Z'))).toBe(1);
    expect((await store.listAttempts('att-tenant', { limit: 10 })).data).toHaveLength(2);
  });

  it('tells which deliveries have a success on record, per tenant, subscription and event', async () => {
    const evt = uniqueName('evt');
    const other = uniqueName('evt');
    await store.recordAttempts([
      attempt({ tenantId: 'dup-t', eventId: evt, subscriptionId: 'sub_failed', status: 'failed' }),
      attempt({ tenantId: 'dup-t', eventId: evt, subscriptionId: 'sub_ok', status: 'succeeded', next: 'none', nextAttemptAt: null, httpStatus: 200 }),
      attempt({ tenantId: 'dup-t', eventId: other, subscriptionId: 'sub_failed', status: 'succeeded', next: 'none', nextAttemptAt: null, httpStatus: 200 }),
    ]);
    const ask = (tenantId: string, subscriptionId: string, eventId: string) => ({ tenantId, subscriptionId, eventId });
    expect(
      await store.haveSucceeded([
        ask('dup-t', 'sub_failed', evt), // only a failure of this one
        ask('dup-t', 'sub_ok', evt),
        ask('dup-u', 'sub_ok', evt), // another tenant's
        ask('dup-t', 'sub_failed', other), // the same subscription, another event
        ask('dup-t', 'sub_new', other),
      ]),
    ).toEqual([false, true, false, true, false]);
    expect(await store.haveSucceeded([])).toEqual([]);
    // A retry that succeeds later is seen too.
    await store.recordAttempts([attempt({ tenantId: 'dup-t', eventId: evt, subscriptionId: 'sub_failed', attempt: 2, status: 'succeeded', next: 'none', nextAttemptAt: null, httpStatus: 200, createdAt: new Date('2026-01-01T00:01:00Z') })]);
    expect(await store.haveSucceeded([ask('dup-t', 'sub_failed', evt)])).toEqual([true]);
  });

  it('keeps dead letters, finds them by window, and marks replays', async () => {
    const dead = (createdAt: string): DeadLetterRecord => ({
      id: newId('dl'), tenantId: 'dl-tenant', subscriptionId: 'sub_dl', eventId: 'evt', eventType: 'business.created', webhookId: 'msg',
      event: { id: 'evt', type: 'business.created', version: '1.0', timestamp: '2026-01-01T00:00:00Z', data: { 'a.b': 1 } },
      reason: 'retries_exhausted', attempts: 9, lastStatus: 500, lastError: null, createdAt: new Date(createdAt), replayedAt: null, replayCount: 0,
    });
    const early = dead('2026-01-01T00:00:00Z');
    const late = dead('2026-01-02T00:00:00Z');
    await store.insertDeadLetter(early);
    await store.insertDeadLetter(late);
    expect(await store.getDeadLetter('dl-tenant', early.id)).toEqual(early);
    expect(await store.getDeadLetter('other', early.id)).toBeNull();
    expect((await store.listDeadLetters('dl-tenant', { limit: 10, subscriptionId: 'sub_dl' })).data.map((d) => d.id)).toEqual([late.id, early.id]);
    const window = await store.findDeadLettersBetween('dl-tenant', 'sub_dl', new Date('2026-01-01T12:00:00Z'), new Date('2026-01-03T00:00:00Z'));
    expect(window.map((d) => d.id)).toEqual([late.id]);
    await store.markDeadLetterReplayed('dl-tenant', late.id, new Date('2026-01-05T00:00:00Z'));
    expect(await store.getDeadLetter('dl-tenant', late.id)).toMatchObject({ replayCount: 1, replayedAt: new Date('2026-01-05T00:00:00Z') });
    expect(await store.findDeadLettersBetween('dl-tenant', 'sub_dl', new Date('2026-01-01T12:00:00Z'), new Date('2026-01-03T00:00:00Z'))).toEqual([]);
  });
});

describe('MongoStore: attempt rows written before createdAt moved into the detail', () => {
  const store = new MongoStore({ url: mongoUrlFor(uniqueName('hhlegacy')) });
  afterAll(async () => {
    await store.dropDatabase();
    await store.close();
  });

  it('still reads them, purges them by age, and drops their createdAt index on start', async () => {
    // A database as an earlier version left it: a createdAt field and index on delivery_attempts.
    const probe = new MongoStore({ url: (store as unknown as { options: { url: string } }).options.url });
    await probe.connect();
    const attempts = (probe as unknown as { models: { attempts: { collection: Collection } } }).models.attempts.collection;
    await attempts.createIndex({ createdAt: 1 }, { name: 'createdAt_1' });
    const createdAt = new Date('2024-03-01T10:00:00Z');
    const detail = { eventType: 'business.created', webhookId: 'msg_old', attempt: 1, next: 'none', nextAttemptAt: null, url: 'https://x', httpStatus: 200, durationMs: 5, responseHeaders: {}, responseBody: 'ok', error: null, replay: false };
    await attempts.insertOne({ _id: newIdAt('att', createdAt), tenantId: 'legacy', subscriptionId: 'sub_l', eventId: 'evt_l', status: 'succeeded', createdAt, detailJson: JSON.stringify(detail) } as never);
    await probe.close();

    await store.connect();
    const reopened = (store as unknown as { models: { attempts: { collection: Collection } } }).models.attempts.collection;
    const indexes = (await reopened.indexes()).map((i) => i.name);
    expect(indexes).not.toContain('createdAt_1');
    const [row] = (await store.listAttempts('legacy', { limit: 10 })).data;
    expect(row).toMatchObject({ webhookId: 'msg_old', createdAt, httpStatus: 200 });
    expect(await store.purgeAttemptsBefore(new Date('2024-03-01T09:59:59Z'))).toBe(0);
    expect(await store.purgeAttemptsBefore(new Date('2024-03-01T10:00:01Z'))).toBe(1);
  });
});
