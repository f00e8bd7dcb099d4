import { orderingLaneId } from '../broker/port';
import type { Broker, DeliveryJob, Handover } from '../broker/port';
import { systemClock } from '../core/clock';
import type { Clock } from '../core/clock';
import type { Logger } from '../core/logger';
import type { JobEnd } from './delivery-worker';
import { OVERTAKERS_KEPT } from './model';
import type { OrderedLane } from './model';
import type { AttemptLog, DeadLetters, OrderedLanes } from './ports';

/** The most dead letters of one lane that collect overtakers at a time (the newest are kept). */
const OPEN_DEAD_LETTERS = 10;

export interface OrderedDeliveryOptions {
  /** The delivery worker: one attempt of a job and what follows it. */
  worker: { run(job: DeliveryJob, handover?: Handover): Promise<JobEnd> };
  lanes: OrderedLanes;
  deliveries: Pick<AttemptLog, 'haveSucceeded'> & Pick<DeadLetters, 'addOvertaker'>;
  broker: Pick<Broker, 'publishDeliveries'>;
  logger: Logger;
  clock?: Clock;
}

/**
 * Per-key ordering, between an ordered shard and the delivery worker. A shard hands over one job
 * at a time, so each lane (subscription + key) has one writer. A job whose lane is free is
 * delivered at once; when it is to be tried again later (a retry, a deferral) its lane is held by
 * it, and the lane's later jobs wait in the lane's stored backlog (their messages are acked) while
 * the shard's other keys flow. When the holder is done with (delivered, dead-lettered, dropped) the
 * first job of the backlog is published to the shard again and holds the lane in its turn; an empty
 * backlog frees the lane. A dead holder's dead letter collects the ids of the events delivered after
 * it (its overtakers). See docs/ordering.md.
 */
export class OrderedDelivery {
  private readonly clock: Clock;

  constructor(private readonly options: OrderedDeliveryOptions) {
    this.clock = options.clock ?? systemClock;
  }

  async handle(job: DeliveryJob, handover: Handover): Promise<void> {
    if (!job.ordering) {
      await this.options.worker.run(job, handover);
      return;
    }
    const laneId = orderingLaneId(job.subscriptionId, job.ordering.key);
    const lane = await this.options.lanes.getLane(laneId);
    if (lane && lane.heldBy !== null && lane.heldBy !== job.webhookId) return this.wait(lane, job, handover);
    const end = await this.options.worker.run(job, handover);
    await this.after(lane ?? this.freshLane(laneId, job), lane !== null, job, end);
  }

  /** The lane is held by an earlier job: this one waits in the backlog, behind those there. */
  private async wait(lane: OrderedLane, job: DeliveryJob, handover: Handover): Promise<void> {
    // Delivered before a crash took its ack: it does not go again after the jobs behind it.
    if (handover.redelivered) {
      const [succeeded] = await this.options.deliveries.haveSucceeded([{ tenantId: job.tenantId, subscriptionId: job.subscriptionId, eventId: job.event.id }]);
      if (succeeded) return;
    }
    const now = new Date(this.clock.now());
    const seq = lane.tail + 1;
    await this.options.lanes.addToBacklog({ laneId: lane.id, seq, webhookId: job.webhookId, job, addedAt: now });
    await this.options.lanes.saveLane({ ...lane, tail: seq, updatedAt: now });
  }

  /** What the lane keeps after the worker finished with one of its jobs. */
  private async after(lane: OrderedLane, stored: boolean, job: DeliveryJob, end: JobEnd): Promise<void> {
    const now = new Date(this.clock.now());
    if (end.kind === 'later') {
      // Its retry (or deferral) is on the ladder: the lane waits for it.
      if (lane.heldBy === job.webhookId) return;
      await this.options.lanes.saveLane({ ...lane, heldBy: job.webhookId, heldSince: now, updatedAt: now });
      return;
    }
    const next: OrderedLane = { ...lane, dead: lane.dead.map((d) => ({ ...d })), updatedAt: now };
    let changed = false;
    if (end.kind === 'done' && next.dead.length > 0) {
      // Delivered while earlier jobs of its key are dead letters: it overtook them.
      for (const dead of next.dead) {
        await this.options.deliveries.addOvertaker(job.tenantId, dead.id, job.event.id);
        dead.overtakers += 1;
      }
      next.dead = next.dead.filter((d) => d.overtakers < OVERTAKERS_KEPT);
      changed = true;
    }
    if (end.kind === 'dead') {
      next.dead = [...next.dead, ...end.deadLetterIds.map((id) => ({ id, overtakers: 0 }))].slice(-OPEN_DEAD_LETTERS);
      changed = true;
    }
    if (lane.heldBy === job.webhookId) return this.release(next, job);
    if (!changed) return;
    await this.store(next, stored);
  }

  /**
   * The holder is done with: the backlog's first job goes to the shard and holds the lane (published
   * before the lane says so, so a crash in between publishes it again rather than losing it), and
   * only then leaves the backlog.
   */
  private async release(lane: OrderedLane, holder: DeliveryJob): Promise<void> {
    const { lanes } = this.options;
    // It may have waited in the backlog itself (a crash between a release and its clean-up).
    await lanes.removeFromBacklog(lane.id, holder.webhookId);
    const first = await lanes.firstInBacklog(lane.id);
    if (!first) {
      await this.store({ ...lane, heldBy: null, heldSince: null }, true);
      return;
    }
    await this.options.broker.publishDeliveries([first.job]);
    await lanes.saveLane({ ...lane, heldBy: first.webhookId, heldSince: new Date(this.clock.now()) });
    await lanes.removeFromBacklog(lane.id, first.webhookId);
  }

  /** Saves a lane that still holds something; forgets one that holds nothing. */
  private async store(lane: OrderedLane, stored: boolean): Promise<void> {
    if (lane.heldBy !== null || lane.dead.length > 0) await this.options.lanes.saveLane(lane);
    else if (stored) await this.options.lanes.deleteLane(lane.id);
  }

  private freshLane(id: string, job: DeliveryJob): OrderedLane {
    return {
      id,
      tenantId: job.tenantId,
      subscriptionId: job.subscriptionId,
      key: job.ordering?.key ?? '',
      heldBy: null,
      heldSince: null,
      tail: 0,
      dead: [],
      updatedAt: new Date(this.clock.now()),
    };
  }
}
