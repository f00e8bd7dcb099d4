import mongoose from 'mongoose';
import { apiKeyIdFor } from '../../src/access/model';
import { newId } from '../../src/core/ids';
import { adapters, connectedStore } from './store-adapters';

/** ApiKeys (access/ports.ts), on every adapter: ids, scopes, revocation, use. */
describe.each(adapters)('ApiKeys contract: %s', (_name, create) => {
  const { store, url } = connectedStore(create);

  it('keeps API keys by hash', async () => {
    await store.upsertApiKey({ hash: 'h1', tenantId: 'acme', name: 'ci', createdAt: new Date() });
    expect(await store.findApiKey('h1')).toMatchObject({ hash: 'h1', tenantId: 'acme', name: 'ci' });
    expect(await store.findApiKey('h2')).toBeNull();
  });

  it('gives keys stored without id or scopes a stable derived id and the admin scope', async () => {
    const hash = `h_${newId('x')}`;
    await store.upsertApiKey({ hash, tenantId: 'acme', name: 'bootstrap', createdAt: new Date('2026-01-01T00:00:00Z') });
    expect(await store.findApiKey(hash)).toEqual({
      id: apiKeyIdFor(hash), hash, tenantId: 'acme', name: 'bootstrap', scopes: ['admin'],
      createdAt: new Date('2026-01-01T00:00:00Z'), lastUsedAt: null, revokedAt: null,
    });
  });

  it('keeps scopes, lists a tenant\'s keys newest first, and revokes by id within the tenant only', async () => {
    const tenant = `t_${newId('x')}`;
    const first = { id: newId('key'), hash: `h_${newId('x')}`, tenantId: tenant, name: 'ci', scopes: ['subscriptions:read'], createdAt: new Date() };
    const second = { ...first, id: newId('key'), hash: `h_${newId('x')}`, name: 'deploy', scopes: ['events:publish', 'deliveries:read'] };
    await store.upsertApiKey(first);
    await store.upsertApiKey(second);
    await store.upsertApiKey({ ...first, id: newId('key'), hash: `h_${newId('x')}`, tenantId: 'someone-else' });
    const listed = await store.listApiKeys(tenant, { limit: 50 });
    expect(listed.data.map((k) => [k.id, k.scopes])).toEqual([[second.id, second.scopes], [first.id, first.scopes]]);
    expect(JSON.stringify(listed)).not.toContain('someone-else');
    const paged = await store.listApiKeys(tenant, { limit: 1 });
    expect(paged.data.map((k) => k.id)).toEqual([second.id]);
    expect((await store.listApiKeys(tenant, { limit: 1, cursor: paged.nextCursor! })).data.map((k) => k.id)).toEqual([first.id]);

    expect(await store.revokeApiKey('someone-else', first.id, new Date())).toBeNull();
    expect((await store.findApiKey(first.hash))?.revokedAt).toBeNull();
    const at = new Date('2026-02-01T00:00:00Z');
    expect(await store.revokeApiKey(tenant, first.id, at)).toMatchObject({ id: first.id, revokedAt: at });
    // Revoking again keeps the first time; an upsert of the same hash (a restart's bootstrap key) does not un-revoke.
    expect((await store.revokeApiKey(tenant, first.id, new Date()))?.revokedAt).toEqual(at);
    await store.upsertApiKey({ hash: first.hash, tenantId: tenant, name: 'ci', createdAt: new Date() });
    expect(await store.findApiKey(first.hash)).toMatchObject({ id: first.id, revokedAt: at, scopes: first.scopes });
    expect(await store.revokeApiKey(tenant, 'key_nope', new Date())).toBeNull();
  });

  it('records the last use', async () => {
    const hash = `h_${newId('x')}`;
    await store.upsertApiKey({ hash, tenantId: 'acme', name: 'x', createdAt: new Date() });
    const at = new Date('2026-03-01T12:00:00Z');
    await store.touchApiKey(hash, at);
    expect((await store.findApiKey(hash))?.lastUsedAt).toEqual(at);
  });

  it('revokes a key stored before keys had ids, by its derived id', async () => {
    if (url === null) return; // only a database can hold documents written by an older version
    const hash = `h_${newId('x')}`;
    const connection = await mongoose.createConnection(url).asPromise();
    try {
      await connection.db!.collection('api_keys').insertOne({ _id: hash as never, tenantId: 'legacy', name: 'old', createdAt: new Date() });
    } finally {
      await connection.close();
    }
    const listed = await store.listApiKeys('legacy', { limit: 10 });
    expect(listed.data).toEqual([expect.objectContaining({ id: apiKeyIdFor(hash), scopes: ['admin'], revokedAt: null })]);
    expect(await store.revokeApiKey('legacy', apiKeyIdFor(hash), new Date())).not.toBeNull();
    expect((await store.findApiKey(hash))?.revokedAt).toEqual(expect.any(Date));
  });
});
