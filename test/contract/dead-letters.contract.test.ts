import type { DeadLetterReason } from '../../src/subscriptions/model';
import type { DeadLetterRecord } from '../../src/pipeline/model';
import { newId } from '../../src/core/ids';
import { adapters, connectedStore } from './store-adapters';

/** DeadLetters (pipeline/ports.ts), on every adapter. */
describe.each(adapters)('DeadLetters contract: %s', (_name, create) => {
  const { store } = connectedStore(create);

  const dead = (createdAt: string, overrides: Partial<DeadLetterRecord> = {}): DeadLetterRecord => ({
    id: newId('dl'), tenantId: 'dl-tenant', subscriptionId: 'sub_dl', eventId: 'evt', eventType: 'business.created', webhookId: 'msg',
    event: { id: 'evt', type: 'business.created', version: '1.0', timestamp: '2026-01-01T00:00:00Z', data: { 'a.b': 1 } },
    reason: 'retries_exhausted', attempts: 9, lastStatus: 500, lastError: null, createdAt: new Date(createdAt), replayedAt: null, replayCount: 0, ...overrides,
  });

  it('keeps dead letters, finds them by window, and marks replays', async () => {
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
    await expect(store.insertDeadLetter(early)).rejects.toMatchObject({ code: 11000 });
  });

  it('finds the parked dead letters of some subscriptions by reason, oldest first, not yet replayed', async () => {
    const parked = (subscriptionId: string, createdAt: string, reason: DeadLetterReason = 'connection_needs_reauth', tenantId = 'park-t') =>
      dead(createdAt, { tenantId, subscriptionId, reason });
    const first = parked('int_a', '2026-02-01T00:00:00Z');
    const second = parked('int_b', '2026-02-02T00:00:00Z');
    const replayed = parked('int_a', '2026-02-03T00:00:00Z');
    const otherReason = parked('int_a', '2026-02-04T00:00:00Z', 'retries_exhausted');
    const otherSubscription = parked('int_c', '2026-02-05T00:00:00Z');
    const otherTenant = parked('int_a', '2026-02-06T00:00:00Z', 'connection_needs_reauth', 'park-u');
    for (const d of [second, first, replayed, otherReason, otherSubscription, otherTenant]) await store.insertDeadLetter(d);
    await store.markDeadLetterReplayed('park-t', replayed.id, new Date('2026-02-10T00:00:00Z'));
    const found = await store.findDeadLettersByReason('park-t', ['int_a', 'int_b'], 'connection_needs_reauth');
    expect(found).toEqual([first, second]);
    expect((await store.findDeadLettersByReason('park-t', ['int_a'], 'retries_exhausted')).map((d) => d.id)).toEqual([otherReason.id]);
    expect(await store.findDeadLettersByReason('park-t', [], 'connection_needs_reauth')).toEqual([]);
  });

  it("counts a tenant's dead letters not yet replayed, by reason", async () => {
    const rows = [
      dead('2026-03-01T00:00:00Z', { tenantId: 'count-t', reason: 'quota_exceeded' }),
      dead('2026-03-01T00:01:00Z', { tenantId: 'count-t', reason: 'quota_exceeded' }),
      dead('2026-03-01T00:02:00Z', { tenantId: 'count-t', reason: 'retries_exhausted' }),
      dead('2026-03-01T00:03:00Z', { tenantId: 'count-t', reason: 'endpoint_gone' }),
      dead('2026-03-01T00:04:00Z', { tenantId: 'count-u', reason: 'retries_exhausted' }),
    ];
    for (const d of rows) await store.insertDeadLetter(d);
    await store.markDeadLetterReplayed('count-t', (rows[3] as DeadLetterRecord).id, new Date('2026-03-02T00:00:00Z'));
    expect(await store.countDeadLettersByReason('count-t')).toEqual({ quota_exceeded: 2, retries_exhausted: 1 });
    expect(await store.countDeadLettersByReason('count-u')).toEqual({ retries_exhausted: 1 });
    expect(await store.countDeadLettersByReason('count-none')).toEqual({});
  });

  it('finds every dead letter of a dead batch in batch order, replayed ones too, and keeps their batch', async () => {
    const batchId = newId('bat');
    const inBatch = (index: number) => dead('2026-03-01T00:00:00Z', { tenantId: 'batch-t', eventId: `evt_${index}`, batch: { id: batchId, index, size: 3 } });
    const members = [inBatch(2), inBatch(0), inBatch(1)];
    const otherBatch = dead('2026-03-01T00:00:00Z', { tenantId: 'batch-t', batch: { id: newId('bat'), index: 0, size: 1 } });
    const single = dead('2026-03-01T00:00:00Z', { tenantId: 'batch-t' });
    for (const d of [...members, otherBatch, single]) await store.insertDeadLetter(d);
    await store.markDeadLetterReplayed('batch-t', (members[0] as DeadLetterRecord).id, new Date('2026-03-02T00:00:00Z'));
    const found = await store.findDeadLettersOfBatch('batch-t', batchId);
    expect(found.map((d) => d.eventId)).toEqual(['evt_0', 'evt_1', 'evt_2']);
    expect(found[0]).toEqual(members[1]);
    expect(found[2]?.replayCount).toBe(1);
    expect(await store.findDeadLettersOfBatch('other-tenant', batchId)).toEqual([]);
  });

  it('collects the overtakers of a dead letter (per-key ordering), each once, until it is replayed, for its tenant only', async () => {
    const d = dead('2026-03-01T00:00:00Z');
    await store.insertDeadLetter(d);
    expect((await store.getDeadLetter('dl-tenant', d.id))?.overtakenBy).toBeUndefined();
    await store.addOvertaker('dl-tenant', d.id, 'evt_2');
    await store.addOvertaker('dl-tenant', d.id, 'evt_3');
    await store.addOvertaker('dl-tenant', d.id, 'evt_2');
    await store.addOvertaker('other', d.id, 'evt_4');
    expect((await store.getDeadLetter('dl-tenant', d.id))?.overtakenBy).toEqual(['evt_2', 'evt_3']);
    await store.markDeadLetterReplayed('dl-tenant', d.id, new Date('2026-03-02T00:00:00Z'));
    await store.addOvertaker('dl-tenant', d.id, 'evt_5');
    expect((await store.getDeadLetter('dl-tenant', d.id))?.overtakenBy).toEqual(['evt_2', 'evt_3']);
  });
});
