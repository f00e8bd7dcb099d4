import type { DeliveryJob } from '../../src/broker/port';
import type { BacklogEntry, OrderedLane } from '../../src/pipeline/model';
import { uniqueName } from '../support/services';
import { adapters, connectedStore } from './store-adapters';

/** OrderedLanes (pipeline/ports.ts), on every adapter. */
describe.each(adapters)('OrderedLanes contract: %s', (_name, create) => {
  const { store } = connectedStore(create);

  const lane = (id: string, overrides: Partial<OrderedLane> = {}): OrderedLane => ({
    id, tenantId: 't1', subscriptionId: 'sub_1', key: 'biz.1', heldBy: 'msg_1', heldSince: new Date('2026-01-01T00:00:00Z'), tail: 0, dead: [],
    updatedAt: new Date('2026-01-01T00:00:00Z'), ...overrides,
  });
  const job = (n: number): DeliveryJob => ({
    webhookId: `msg_${n}`, tenantId: 't1', subscriptionId: 'sub_1', attempt: 1, ordering: { key: 'biz.1' },
    event: { id: `evt_${n}`, type: 'business.created', version: '1.0', timestamp: '2026-01-01T00:00:00Z', data: { id: 'biz.1', 'a.b': n } },
  });
  const entry = (laneId: string, seq: number, n: number): BacklogEntry => ({ laneId, seq, webhookId: `msg_${n}`, job: job(n), addedAt: new Date('2026-01-01T00:00:00Z') });

  it('stores a lane, replaces it, and forgets it', async () => {
    const id = uniqueName('lane');
    expect(await store.getLane(id)).toBeNull();
    await store.saveLane(lane(id));
    expect(await store.getLane(id)).toEqual(lane(id));
    const changed = lane(id, { heldBy: null, heldSince: null, tail: 3, dead: [{ id: 'dl_1', overtakers: 2 }] });
    await store.saveLane(changed);
    expect(await store.getLane(id)).toEqual(changed);
    await store.deleteLane(id);
    expect(await store.getLane(id)).toBeNull();
  });

  it('gives a backlog back lowest sequence first, keeps a job added twice in its first place, and keeps lanes apart', async () => {
    const id = uniqueName('lane');
    const other = uniqueName('lane');
    expect(await store.firstInBacklog(id)).toBeNull();
    await store.addToBacklog(entry(id, 2, 2));
    await store.addToBacklog(entry(id, 1, 1));
    await store.addToBacklog(entry(id, 3, 1));
    await store.addToBacklog(entry(other, 0, 9));
    expect(await store.firstInBacklog(id)).toEqual(entry(id, 1, 1));
    await store.removeFromBacklog(id, 'msg_1');
    expect(await store.firstInBacklog(id)).toEqual(entry(id, 2, 2));
    await store.removeFromBacklog(id, 'msg_2');
    await store.removeFromBacklog(id, 'msg_2');
    expect(await store.firstInBacklog(id)).toBeNull();
    expect((await store.firstInBacklog(other))?.job).toEqual(job(9));
  });
});
