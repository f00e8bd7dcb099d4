import type { InvalidEventRecord, StoredEvent } from '../../src/pipeline/model';
import { newId } from '../../src/core/ids';
import { uniqueName } from '../support/services';
import { adapters, connectedStore } from './store-adapters';

/** EventLog (pipeline/ports.ts), on every adapter. */
describe.each(adapters)('EventLog contract: %s', (_name, create) => {
  const subject = connectedStore(create);
  const { store } = subject;

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

  it('keeps the tenant scope of an event, and an empty batch is a no-op', async () => {
    const key = `acme/${uniqueName('evt')}`;
    const receivedAt = new Date('2026-03-03T03:03:03Z');
    const envelope = { id: key.slice('acme/'.length), type: 'review.created', version: '1.0', timestamp: '2026-03-03T03:03:03Z', data: {} };
    expect(await store.insertEvents([{ key, envelope, scopeTenantId: 'acme', receivedAt, routedAt: null }])).toEqual(['inserted']);
    expect(await store.getEvent(key)).toEqual({ key, envelope, scopeTenantId: 'acme', receivedAt, routedAt: null });
    expect(await store.insertEvents([])).toEqual([]);
    await store.markEventsRouted([], new Date());
  });

  it('reads back the newest events of a type that a tenant sees: directory events and its own, newest received first', async () => {
    const type = uniqueName('sample.type');
    const tenant = uniqueName('tenant');
    const stored = (id: string, scopeTenantId: string | null, minute: number, ofType = type): StoredEvent => ({
      key: scopeTenantId === null ? id : `${scopeTenantId}/${id}`,
      envelope: { id, type: ofType, version: '1.0', timestamp: '2026-05-05T05:05:05Z', data: { n: minute } },
      scopeTenantId,
      receivedAt: new Date(Date.UTC(2026, 4, 5, 5, minute)),
      routedAt: null,
    });
    const directory = stored(uniqueName('evt'), null, 1);
    const own = stored(uniqueName('evt'), tenant, 3);
    const newestOwn = stored(uniqueName('evt'), tenant, 4);
    await store.insertEvents([directory, own, stored(uniqueName('evt'), 'someone-else', 5), stored(uniqueName('evt'), tenant, 6, `${type}.other`), newestOwn]);
    expect(await store.recentEvents(tenant, type, 10)).toEqual([newestOwn.envelope, own.envelope, directory.envelope]);
    expect(await store.recentEvents(tenant, type, 2)).toEqual([newestOwn.envelope, own.envelope]);
    expect(await store.recentEvents('a-tenant-with-nothing', type, 10)).toEqual([directory.envelope]);
    expect(await store.recentEvents(tenant, uniqueName('never.seen'), 10)).toEqual([]);
  });

  it('parks invalid events as received, with their problems and the raw body', async () => {
    const record = (overrides: Partial<InvalidEventRecord>): InvalidEventRecord => ({
      id: newId('inv'), source: 'amqp', tenantId: null, reason: 'schema',
      problems: [{ path: '/data/a.b', message: 'must be string' }, { path: '/$weird', message: 'unknown field' }],
      raw: '{"type":"business.created","data":{"a.b":1,"$weird":true}}', receivedAt: new Date('2026-04-04T04:04:04Z'), ...overrides,
    });
    const fromBroker = record({});
    const fromApi = record({ source: 'http', tenantId: 'acme', reason: 'too_deep', problems: [] });
    await store.recordInvalidEvent(fromBroker);
    await store.recordInvalidEvent(fromApi);
    expect(await subject.invalidEvent(fromBroker.id)).toEqual(fromBroker);
    expect(await subject.invalidEvent(fromApi.id)).toEqual(fromApi);
  });
});
