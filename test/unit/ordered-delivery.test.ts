import type { DeliveryJob, Handover } from '../../src/broker/port';
import { orderingLaneId } from '../../src/broker/port';
import { silentLogger } from '../../src/core/logger';
import type { JobEnd } from '../../src/pipeline/delivery-worker';
import { OrderedDelivery } from '../../src/pipeline/ordered-delivery';
import { createMemoryStore } from '../../src/store/memory/memory-store';
import type { Store } from '../../src/store/store';

/** The lane logic between an ordered shard and the worker: holds, backlogs, releases, overtakers. */
const job = (n: number, key = 'k'): DeliveryJob => ({
  webhookId: `msg_${n}`,
  tenantId: 't',
  subscriptionId: 'sub_1',
  attempt: 1,
  ordering: { key },
  event: { id: `evt_${n}`, type: 'business.created', version: '1.0', timestamp: '2026-01-01T00:00:00Z', data: { id: key } },
});
const laneOf = (key = 'k'): string => orderingLaneId('sub_1', key);
const fresh: Handover = { redelivered: false };

function setup(ends: Record<string, JobEnd[]>): { ordered: OrderedDelivery; store: Store; attempted: string[]; published: DeliveryJob[] } {
  const store = createMemoryStore();
  const attempted: string[] = [];
  const published: DeliveryJob[] = [];
  const worker = {
    run: async (j: DeliveryJob): Promise<JobEnd> => {
      attempted.push(j.event.id);
      return ends[j.event.id]?.shift() ?? { kind: 'done' };
    },
  };
  const broker = { publishDeliveries: async (jobs: readonly DeliveryJob[]) => void published.push(...jobs) };
  const ordered = new OrderedDelivery({ worker, lanes: store, deliveries: store, broker, logger: silentLogger });
  return { ordered, store, attempted, published };
}

describe('ordered delivery', () => {
  it('stores nothing for a key whose jobs are delivered at once', async () => {
    const { ordered, store, attempted } = setup({});
    await store.connect();
    for (const n of [1, 2, 3]) await ordered.handle(job(n), fresh);
    expect(attempted).toEqual(['evt_1', 'evt_2', 'evt_3']);
    expect(await store.getLane(laneOf())).toBeNull();
  });

  it('holds a key while its job waits for a retry, keeps later jobs of that key in order, lets other keys go, and releases them one by one', async () => {
    const { ordered, store, attempted, published } = setup({ evt_1: [{ kind: 'later' }] });
    await store.connect();
    await ordered.handle(job(1), fresh);
    await ordered.handle(job(2), fresh);
    await ordered.handle(job(3), fresh);
    await ordered.handle(job(9, 'other'), fresh);
    expect(attempted).toEqual(['evt_1', 'evt_9']);
    expect(await store.getLane(laneOf())).toMatchObject({ heldBy: 'msg_1', tail: 2 });
    // The retry of the first comes back and succeeds: the second is published, and holds the lane until it is done.
    await ordered.handle({ ...job(1), attempt: 2 }, fresh);
    expect(published.map((j) => j.event.id)).toEqual(['evt_2']);
    expect(await store.getLane(laneOf())).toMatchObject({ heldBy: 'msg_2' });
    await ordered.handle(job(4), fresh);
    await ordered.handle(published[0] as DeliveryJob, fresh);
    await ordered.handle(published[1] as DeliveryJob, fresh);
    await ordered.handle(published[2] as DeliveryJob, fresh);
    expect(published.map((j) => j.event.id)).toEqual(['evt_2', 'evt_3', 'evt_4']);
    expect(attempted).toEqual(['evt_1', 'evt_9', 'evt_1', 'evt_2', 'evt_3', 'evt_4']);
    expect(await store.getLane(laneOf())).toBeNull();
    expect(await store.firstInBacklog(laneOf())).toBeNull();
  });

  it('lets the later jobs go when the held one dies, and names them on its dead letter until it has 100', async () => {
    const { ordered, store, published } = setup({ evt_1: [{ kind: 'later' }, { kind: 'dead', deadLetterIds: ['dl_1'] }] });
    await store.connect();
    await store.insertDeadLetter({
      id: 'dl_1', tenantId: 't', subscriptionId: 'sub_1', eventId: 'evt_1', eventType: 'business.created', webhookId: 'msg_1', event: job(1).event,
      reason: 'retries_exhausted', attempts: 2, lastStatus: 500, lastError: null, createdAt: new Date(), replayedAt: null, replayCount: 0,
    });
    await ordered.handle(job(1), fresh);
    await ordered.handle(job(2), fresh);
    await ordered.handle({ ...job(1), attempt: 2 }, fresh);
    await ordered.handle(published[0] as DeliveryJob, fresh);
    await ordered.handle(job(3), fresh);
    expect((await store.getDeadLetter('t', 'dl_1'))?.overtakenBy).toEqual(['evt_2', 'evt_3']);
    expect(await store.getLane(laneOf())).toMatchObject({ heldBy: null, dead: [{ id: 'dl_1', overtakers: 2 }] });
    for (let n = 4; n < 102; n++) await ordered.handle(job(n), fresh);
    expect((await store.getDeadLetter('t', 'dl_1'))?.overtakenBy).toHaveLength(100);
    // Done collecting: the lane holds nothing any more.
    expect(await store.getLane(laneOf())).toBeNull();
  });

  it('publishes the next job again, not losing it, when a release was cut short by a crash, and never queues a delivered job behind it', async () => {
    const { ordered, store, published, attempted } = setup({ evt_1: [{ kind: 'later' }] });
    await store.connect();
    await ordered.handle(job(1), fresh);
    await ordered.handle(job(2), fresh);
    await ordered.handle(job(3), fresh);
    // The release published the second job and marked the lane, then the process died before the second left the backlog.
    const lane = await store.getLane(laneOf());
    await store.saveLane({ ...(lane as NonNullable<typeof lane>), heldBy: 'msg_2' });
    await store.recordAttempts([{
      id: 'att_1', tenantId: 't', subscriptionId: 'sub_1', eventId: 'evt_1', eventType: 'business.created', webhookId: 'msg_1', attempt: 2, status: 'succeeded', next: 'none',
      nextAttemptAt: null, url: '', httpStatus: 200, durationMs: 1, responseHeaders: {}, responseBody: null, error: null, replay: false, createdAt: new Date(),
    }]);
    // The first job's message comes back: it was delivered, so it does not wait behind the second.
    await ordered.handle({ ...job(1), attempt: 2 }, { redelivered: true });
    expect(await store.firstInBacklog(laneOf())).toMatchObject({ webhookId: 'msg_2' });
    // The second, handed over as the holder, leaves the backlog itself and releases the third (not itself again).
    await ordered.handle(job(2), fresh);
    expect(published.map((j) => j.event.id)).toEqual(['evt_3']);
    await ordered.handle(published[0] as DeliveryJob, fresh);
    expect(attempted).toEqual(['evt_1', 'evt_2', 'evt_3']);
    expect(await store.getLane(laneOf())).toBeNull();
  });
});
