import { Batcher } from '../core/batcher';
import type { DeliveryJob } from '../broker/port';
import type { DeliveryRef } from './model';
import type { AttemptLog } from './ports';

/**
 * Whether a redelivered job was delivered already. A job's success is recorded
 * before its message is acked, and a fan-out message is acked only once all its
 * targets are done: a broker restart or a crash in between hands over again jobs
 * whose success is on record. Asked only for redelivered jobs, so the usual path
 * pays nothing; the checks of one message's targets, made together, go to the
 * store as one lookup.
 */
export class RedeliveryCheck {
  private readonly lookups: Batcher<DeliveryRef, boolean>;

  constructor(store: AttemptLog) {
    this.lookups = new Batcher({ flush: (refs) => store.haveSucceeded(refs), maxBatch: 500, lingerMs: 5, concurrency: 4 });
  }

  alreadySucceeded(job: DeliveryJob): Promise<boolean> {
    return this.lookups.add({ tenantId: job.tenantId, subscriptionId: job.subscriptionId, eventId: job.event.id });
  }
}
