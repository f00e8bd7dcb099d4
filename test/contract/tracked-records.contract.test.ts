import { newTrackedRecord } from '../../src/integrations/tracked-record';
import type { TrackedRecord } from '../../src/integrations/tracked-record';
import { adapters, connectedStore } from './store-adapters';

function record(connectionId: string, eventId: string, more: Partial<TrackedRecord> = {}): TrackedRecord {
  const sent = { tenantId: 't1', connectionId, objectType: 'Lead', eventId, subjectId: `biz_${eventId}`, route: 'enterprise', externalId: `00Q${eventId}`, state: 'created' as const };
  return { ...newTrackedRecord({ ...sent, sentAt: new Date('2026-06-01T10:00:00Z'), createdAt: new Date('2026-06-01T10:00:01Z') }), ...more };
}

/** TrackedRecords (integrations/ports.ts), on every adapter. */
describe.each(adapters)('TrackedRecords contract: %s', (_name, create) => {
  const { store } = connectedStore(create);

  it('inserts a record once; a sent record becomes created, nothing else moves back', async () => {
    const sent = record('con_a', 'e1', { state: 'sent', externalId: null, createdAt: null });
    await store.trackRecord(sent);
    await store.trackRecord(sent);
    expect(await store.listTrackedRecords('t1', 'con_a', new Date(0), 10)).toEqual([sent]);
    const created = record('con_a', 'e1');
    await store.trackRecord(created);
    expect(await store.listTrackedRecords('t1', 'con_a', new Date(0), 10)).toEqual([created]);
    // A later "sent" (a redelivery that failed) does not undo it.
    await store.trackRecord(sent);
    expect((await store.listTrackedRecords('t1', 'con_a', new Date(0), 10))[0]?.state).toBe('created');
  });

  it('lists open records read longest ago first, and the connections that have some', async () => {
    await store.trackRecord(record('con_b', 'e1', { checkedAt: new Date('2026-06-02T00:00:00Z') }));
    await store.trackRecord(record('con_b', 'e2'));
    await store.trackRecord(record('con_b', 'e3', { state: 'won' }));
    await store.trackRecord(record('con_b', 'e4', { state: 'sent', externalId: null, createdAt: null }));
    await store.trackRecord(record('con_c', 'e1', { state: 'lost' }));
    expect((await store.openRecords('con_b', 10)).map((r) => r.eventId)).toEqual(['e2', 'e1']);
    expect((await store.openRecords('con_b', 1)).map((r) => r.eventId)).toEqual(['e2']);
    const connections = await store.connectionsWithOpenRecords(100);
    expect(connections).toContain('con_b');
    expect(connections).not.toContain('con_c');
  });

  it('updates a record only from the state the caller saw', async () => {
    const r = record('con_d', 'e1');
    await store.trackRecord(r);
    const convertedAt = new Date('2026-06-03T00:00:00Z');
    const patch = { state: 'converted' as const, convertedAt, opportunityId: '006A', stage: 'Prospecting', amount: 1200.5, currency: 'USD', checkedAt: convertedAt };
    expect(await store.updateTrackedRecord(r.id, 'created', patch)).toBe(true);
    expect(await store.updateTrackedRecord(r.id, 'created', { state: 'lost' })).toBe(false);
    expect(await store.updateTrackedRecord('missing', 'created', { state: 'lost' })).toBe(false);
    expect(await store.listTrackedRecords('t1', 'con_d', new Date(0), 10)).toEqual([{ ...r, ...patch }]);
  });

  it('lists a tenant connection records sent since a time, oldest first, never another tenant', async () => {
    await store.trackRecord(record('con_e', 'old', { sentAt: new Date('2026-05-01T00:00:00Z') }));
    await store.trackRecord(record('con_e', 'b', { sentAt: new Date('2026-06-05T00:00:00Z') }));
    await store.trackRecord(record('con_e', 'a', { sentAt: new Date('2026-06-04T00:00:00Z') }));
    expect((await store.listTrackedRecords('t1', 'con_e', new Date('2026-06-01T00:00:00Z'), 10)).map((r) => r.eventId)).toEqual(['a', 'b']);
    expect(await store.listTrackedRecords('t2', 'con_e', new Date(0), 10)).toEqual([]);
  });
});
