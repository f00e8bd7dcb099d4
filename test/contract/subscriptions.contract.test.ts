import mongoose from 'mongoose';
import { adapters, connectedStore, integrationRecord, subscriptionRecord as subscription } from './store-adapters';

/** SubscriptionRepository (subscriptions/repository.ts), on every adapter. */
describe.each(adapters)('SubscriptionRepository contract: %s', (_name, create) => {
  const { store, url } = connectedStore(create);

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

  it('keeps a relay (hookhub listen) apart from webhooks: its shaping, secret and where its client is', async () => {
    const { endpointUrl: _url, headers: _headers, ...base } = subscription('rly');
    const relay = { ...base, id: `rly_${base.id}`, kind: 'relay' as const, relay: { holder: 'hub_1', lastSeenAt: new Date('2026-01-01T00:00:00Z'), keepSeconds: 600 } };
    await store.insertSubscription(relay);
    expect(await store.loadSubscription(relay.id)).toEqual(relay);
    const gone = await store.updateSubscription('rly', relay.id, { relay: { holder: null, lastSeenAt: new Date('2026-01-01T00:05:00Z'), keepSeconds: 600 } });
    expect(gone).toMatchObject({ kind: 'relay', relay: { holder: null, lastSeenAt: new Date('2026-01-01T00:05:00Z'), keepSeconds: 600 }, secretSealed: relay.secretSealed });
    expect((await store.listSubscriptions('rly', 'webhook', { limit: 10 })).data).toEqual([]);
    expect((await store.listSubscriptions('rly', 'relay', { limit: 10 })).data.map((s) => s.id)).toEqual([relay.id]);
    expect((await store.findSubscriptionsFor('business.created', 'rly')).map((s) => s.id)).toEqual([relay.id]);
    const seenBefore = async (at: string): Promise<string[]> => (await store.findRelaysSeenBefore(new Date(at))).map((s) => s.id).filter((id) => id === relay.id);
    expect(await seenBefore('2026-01-01T00:05:00Z')).toEqual([]);
    expect(await seenBefore('2026-01-01T00:05:01Z')).toEqual([relay.id]);
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
    const integration = integrationRecord('kinds', { connectionId: 'con_1', connector: 'slack', triggers: ['review_created'] });
    const open = integrationRecord('kinds', { connectionId: 'con_1', connector: 'slack', triggers: null });
    for (const s of [hook, integration, open]) await store.insertSubscription(s);
    expect((await store.listSubscriptions('kinds', 'webhook', { limit: 10 })).data.map((s) => s.id)).toEqual([hook.id]);
    expect((await store.listSubscriptions('kinds', 'integration', { limit: 10 })).data.map((s) => s.id)).toEqual([open.id, integration.id]);
    expect(await store.loadSubscription(integration.id)).toEqual(integration);
    expect((await store.findIntegrationsOf('kinds', 'con_1')).map((s) => s.id).sort()).toEqual([integration.id, open.id].sort());
    expect(await store.findIntegrationsOf('someone-else', 'con_1')).toEqual([]);
    const updated = await store.updateSubscription('kinds', integration.id, { integration: { connectionId: 'con_1', connector: 'slack', triggers: null } });
    expect(updated?.kind).toBe('integration');
    expect(updated?.kind === 'integration' ? updated.integration : null).toEqual({ connectionId: 'con_1', connector: 'slack', triggers: null });
  });

  it("stores both kinds in one document shape, an integration's webhook fields empty, and reads those back without them", async () => {
    if (url === null) return; // only a database holds documents, some written by an earlier version
    const hook = subscription('docs');
    const integration = integrationRecord('docs', { connectionId: 'con_d', connector: 'slack', triggers: null });
    for (const s of [hook, integration]) await store.insertSubscription(s);
    const connection = await mongoose.createConnection(url).asPromise();
    try {
      const docs = connection.db!.collection('subscriptions');
      const stored = await docs.findOne({ _id: integration.id as never });
      expect(stored).toMatchObject({ kind: 'integration', endpointUrl: '', secretSealed: '', payloadJson: null, headers: [], integration: { connectionId: 'con_d', connector: 'slack', triggers: null } });
      expect(await docs.findOne({ _id: hook.id as never })).toMatchObject({ kind: 'webhook', endpointUrl: hook.endpointUrl, integration: null });
      // The same document under another id, as an earlier version wrote it.
      await docs.insertOne({ ...stored, _id: 'int_legacy' as never });
    } finally {
      await connection.close();
    }
    expect(await store.loadSubscription('int_legacy')).toEqual({ ...integration, id: 'int_legacy' });
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
});
