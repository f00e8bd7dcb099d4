import type { Collection } from 'mongodb';
import type { AttemptRecord } from '../../src/pipeline/model';
import { createMongoStore } from '../../src/store/mongo/mongo-store';
import { newIdAt } from '../../src/core/ids';
import { mongoUrlFor, uniqueName } from '../support/services';
import { adapters, connectedStore } from './store-adapters';

// Attempt ids carry their createdAt, as the worker makes them (newId at that moment).
const attempt = (overrides: Partial<AttemptRecord>): AttemptRecord => ({
  id: newIdAt('att', overrides.createdAt ?? new Date('2026-01-01T00:00:00Z')), tenantId: 'att-tenant', subscriptionId: 'sub_a', eventId: 'evt_a', eventType: 'business.created', webhookId: 'msg_a',
  attempt: 1, status: 'failed', next: 'retry', nextAttemptAt: new Date('2026-01-01T00:00:05Z'), url: 'https://x', httpStatus: 500,
  durationMs: 12, responseHeaders: { 'x.y': '1', 'content-type': 'text/plain' }, responseBody: 'oops', error: null, replay: false,
  createdAt: new Date('2026-01-01T00:00:00Z'), ...overrides,
});

/** AttemptLog (pipeline/ports.ts) and the attempt purge of Retention (jobs/ports.ts), on every adapter. */
describe.each(adapters)('AttemptLog contract: %s', (_name, create) => {
  const { store } = connectedStore(create);

  it('purges every tenant but the ones kept apart, and one tenant on its own, by age', async () => {
    const [a, b, c] = [uniqueName('ret'), uniqueName('ret'), uniqueName('ret')];
    const at = (tenantId: string, iso: string): AttemptRecord => attempt({ tenantId, eventId: uniqueName('evt'), createdAt: new Date(iso) });
    await store.recordAttempts([at(a, '2019-01-01T00:00:00Z'), at(a, '2019-03-01T00:00:00Z'), at(b, '2019-01-01T00:00:00Z'), at(c, '2019-01-01T00:00:00Z'), at(c, '2019-03-01T00:00:00Z')]);
    const left = async (tenantId: string): Promise<string[]> => (await store.listAttempts(tenantId, { limit: 10 })).data.map((r) => r.createdAt.toISOString().slice(0, 7));
    // Everyone's attempts before February but b's and c's.
    expect(await store.purgeAttemptsBefore(new Date('2019-02-01T00:00:00Z'), [b, c])).toBe(1);
    expect([await left(a), await left(b), await left(c)]).toEqual([['2019-03'], ['2019-01'], ['2019-03', '2019-01']]);
    // c's alone, up to April: nobody else's goes.
    expect(await store.purgeTenantAttemptsBefore(c, new Date('2019-04-01T00:00:00Z'))).toBe(2);
    expect([await left(a), await left(b), await left(c)]).toEqual([['2019-03'], ['2019-01'], []]);
    expect(await store.purgeTenantAttemptsBefore(b, new Date('2018-12-01T00:00:00Z'))).toBe(0);
    // Nothing left behind for the other tests' purges to count.
    expect(await store.purgeTenantAttemptsBefore(a, new Date('2020-01-01T00:00:00Z')) + (await store.purgeTenantAttemptsBefore(b, new Date('2020-01-01T00:00:00Z')))).toBe(2);
  });

  it('records attempts in batches, tolerates a replayed batch, and filters lists', async () => {
    const first = attempt({});
    // With what a webhook attempt carries besides: the transport's error code, the accept time, the request as sent.
    const second = attempt({
      attempt: 2, status: 'succeeded', next: 'none', nextAttemptAt: null, httpStatus: 200, subscriptionId: 'sub_b', createdAt: new Date('2026-01-01T00:00:07Z'),
      errorCode: null, acceptedAt: new Date('2025-12-31T23:59:59.5Z'),
      request: { method: 'POST', url: 'https://x', headers: { 'x.y': '1', $weird: 'v' }, body: '{"a":"\u00e9"}', bodyTruncated: false },
    });
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

  it('filters by event type and time (as an id range), each with cursor paging newest first', async () => {
    const at = (minute: number, overrides: Partial<AttemptRecord> = {}): AttemptRecord =>
      attempt({ tenantId: 'log-t', createdAt: new Date(Date.UTC(2026, 2, 1, 12, minute)), eventType: minute % 2 === 0 ? 'business.created' : 'review.created', ...overrides });
    const rows = Array.from({ length: 10 }, (_, i) => at(i));
    await store.recordAttempts(rows);
    const created = await store.listAttempts('log-t', { limit: 3, eventType: 'business.created' });
    expect(created.data.map((a) => a.createdAt.getUTCMinutes())).toEqual([8, 6, 4]);
    const next = await store.listAttempts('log-t', { limit: 3, eventType: 'business.created', cursor: created.nextCursor ?? '' });
    expect([next.data.map((a) => a.createdAt.getUTCMinutes()), next.nextCursor]).toEqual([[2, 0], null]);
    const window = { since: new Date(Date.UTC(2026, 2, 1, 12, 3)), until: new Date(Date.UTC(2026, 2, 1, 12, 7)) };
    const first = await store.listAttempts('log-t', { limit: 2, ...window });
    expect(first.data.map((a) => a.createdAt.getUTCMinutes())).toEqual([6, 5]);
    const rest = await store.listAttempts('log-t', { limit: 2, ...window, cursor: first.nextCursor ?? '' });
    expect([rest.data.map((a) => a.createdAt.getUTCMinutes()), rest.nextCursor]).toEqual([[4, 3], null]);
    expect((await store.listAttempts('log-t', { limit: 10, eventType: 'review.created', ...window })).data.map((a) => a.createdAt.getUTCMinutes())).toEqual([5, 3]);
    expect((await store.listAttempts('other-t', { limit: 10, eventType: 'business.created' })).data).toEqual([]);
  });

  it("counts a tenant's retries still to come, and only those", async () => {
    const now = new Date('2026-04-01T12:00:00Z');
    const due = (offsetMs: number, overrides: Partial<AttemptRecord> = {}): AttemptRecord =>
      attempt({ tenantId: 'retry-t', createdAt: new Date(now.getTime() - 60_000), nextAttemptAt: new Date(now.getTime() + offsetMs), ...overrides });
    await store.recordAttempts([
      due(5_000),
      due(3_600_000),
      due(-5_000), // its time has come: the retry is made or on its way
      due(0, { status: 'succeeded', next: 'none', nextAttemptAt: null }),
      due(0, { next: 'dead_letter', nextAttemptAt: null }),
      due(5_000, { tenantId: 'retry-u' }),
    ]);
    expect(await store.countPendingRetries('retry-t', now)).toBe(2);
    expect(await store.countPendingRetries('retry-u', now)).toBe(1);
    expect(await store.countPendingRetries('retry-none', now)).toBe(0);
    // Attempts read back as recorded: the retry time the count goes by is not a field of theirs.
    const page = await store.listAttempts('retry-u', { limit: 10 });
    expect(page.data).toHaveLength(1);
    expect(Object.keys(page.data[0] as object)).not.toContain('retryAt');
  });

  it("reads one attempt by id, as recorded, for its own tenant only", async () => {
    const one = attempt({ id: uniqueName('att'), tenantId: 'get-t', createdAt: new Date('2026-02-01T00:00:00Z') });
    await store.recordAttempts([one]);
    expect(await store.getAttempt('get-t', one.id)).toEqual(one);
    expect(await store.getAttempt('get-u', one.id)).toBeNull();
    expect(await store.getAttempt('get-t', 'att_unknown')).toBeNull();
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
});

describe('Mongo adapter: attempt rows written before createdAt moved into the detail', () => {
  const url = mongoUrlFor(uniqueName('hhlegacy'));
  const store = createMongoStore({ url });
  afterAll(async () => {
    await store.dropDatabase();
    await store.close();
  });

  it('still reads them, purges them by age, and drops their createdAt index on start', async () => {
    // A database as an earlier version left it: a createdAt field and index on delivery_attempts.
    const probe = createMongoStore({ url });
    await probe.connect();
    const attempts = probe.database.models.attempts.collection as unknown as Collection;
    await attempts.createIndex({ createdAt: 1 }, { name: 'createdAt_1' });
    const createdAt = new Date('2024-03-01T10:00:00Z');
    const detail = { eventType: 'business.created', webhookId: 'msg_old', attempt: 1, next: 'none', nextAttemptAt: null, url: 'https://x', httpStatus: 200, durationMs: 5, responseHeaders: {}, responseBody: 'ok', error: null, replay: false };
    await attempts.insertOne({ _id: newIdAt('att', createdAt), tenantId: 'legacy', subscriptionId: 'sub_l', eventId: 'evt_l', status: 'succeeded', createdAt, detailJson: JSON.stringify(detail) } as never);
    await probe.close();

    await store.connect();
    const reopened = store.database.models.attempts.collection as unknown as Collection;
    const indexes = (await reopened.indexes()).map((i) => i.name);
    expect(indexes).not.toContain('createdAt_1');
    const [row] = (await store.listAttempts('legacy', { limit: 10 })).data;
    expect(row).toMatchObject({ webhookId: 'msg_old', createdAt, httpStatus: 200 });
    expect(await store.purgeAttemptsBefore(new Date('2024-03-01T09:59:59Z'))).toBe(0);
    expect(await store.purgeAttemptsBefore(new Date('2024-03-01T10:00:01Z'))).toBe(1);
  });
});
