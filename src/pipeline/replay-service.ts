import { HubError, NotFoundError } from '../core/errors';
import type { Broker, DeliveryJob } from '../broker/port';
import type { Logger } from '../core/logger';
import { webhookIdFor } from '../core/ids';
import type { DeadLetterRecord } from './model';
import type { IntegrationSubscription } from '../subscriptions/model';
import type { SubscriptionRepository } from '../subscriptions/repository';
import type { DeadLetters } from './ports';

/**
 * Re-sends dead letters. A replay is a fresh series of attempts under the
 * subscription's current settings, with the original webhook-id so receivers
 * that already processed the event can recognise it.
 */
export class ReplayService {
  constructor(
    private readonly store: DeadLetters & Pick<SubscriptionRepository, 'getSubscription' | 'listSubscriptions'>,
    private readonly broker: Broker,
    private readonly logger: Logger,
  ) {}

  /**
   * After an account is linked again, or a broken link fixed: replays the deliveries parked while
   * it needed to be (same webhook ids), of every integration that sends to the connection, its routes included.
   * A replay that fails is logged and left for POST /v1/dead-letters/:id/replay. Returns how many were parked.
   */
  async resumeParked(tenantId: string, connectionId: string): Promise<number> {
    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.store.listSubscriptions(tenantId, 'integration', { limit: 250, ...(cursor ? { cursor } : {}) });
      ids.push(...page.data.filter((s) => sendsTo(s, connectionId)).map((s) => s.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    // Parked while it needed linking again, or while its link was broken: either way it is fixed now.
    const parked = [...(await this.store.findDeadLettersByReason(tenantId, ids, 'connection_needs_reauth')), ...(await this.store.findDeadLettersByReason(tenantId, ids, 'connection_broken'))];
    for (const dead of parked) {
      try {
        await this.replayOne(tenantId, dead.id);
      } catch (err) {
        this.logger.warn({ deadLetterId: dead.id, err: (err as Error).message }, 'could not resume a parked delivery; replay it with POST /v1/dead-letters/:id/replay');
      }
    }
    if (parked.length > 0) this.logger.info({ connectionId, resumed: parked.length }, 'connection usable again; parked deliveries resumed');
    return parked.length;
  }

  /**
   * Replays the deliveries parked because the tenant's monthly quota was used up (after an upgrade, or
   * in a new month), with the same webhook ids; oldest first. Returns how many were parked.
   */
  async resumeQuotaParked(tenantId: string): Promise<number> {
    const ids: string[] = [];
    for (const kind of ['webhook', 'integration', 'relay'] as const) {
      let cursor: string | undefined;
      do {
        const page = await this.store.listSubscriptions(tenantId, kind, { limit: 250, ...(cursor ? { cursor } : {}) });
        ids.push(...page.data.map((s) => s.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
    }
    const parked = ids.length === 0 ? [] : await this.store.findDeadLettersByReason(tenantId, ids, 'quota_exceeded');
    for (const dead of parked) {
      try {
        await this.replayOne(tenantId, dead.id);
      } catch (err) {
        this.logger.warn({ deadLetterId: dead.id, err: (err as Error).message }, 'could not resume a delivery parked by the quota; replay it with POST /v1/dead-letters/:id/replay');
      }
    }
    if (parked.length > 0) this.logger.info({ tenantId, resumed: parked.length }, 'deliveries parked by the monthly quota resumed');
    return parked.length;
  }

  /**
   * Replays one dead letter. An event of a dead batch goes alone (its own webhook-id, as a delivery of
   * that event: to a batched subscription, in a new batch); with `wholeBatch`, its whole batch goes
   * again as it was sent, same events in the same order under the batch's webhook-id, and every
   * dead letter of it is marked replayed. Returns the dead letters replayed and the webhook-id they
   * go under (an event replayed alone to a subscription that batches joins a new batch with its own).
   */
  async replayOne(tenantId: string, deadLetterId: string, options: { wholeBatch?: boolean } = {}): Promise<{ deadLetters: DeadLetterRecord[]; webhookId: string }> {
    const record = await this.store.getDeadLetter(tenantId, deadLetterId);
    if (!record) throw new NotFoundError('dead_letter', deadLetterId);
    await this.requireActiveSubscription(tenantId, record.subscriptionId);
    const whole = options.wholeBatch === true && record.batch != null;
    const records = whole && record.batch ? await this.store.findDeadLettersOfBatch(tenantId, record.batch.id) : [record];
    const job = whole ? batchJobFor(records) : jobFor(record);
    await this.publish([job]);
    const now = new Date();
    for (const r of records) await this.store.markDeadLetterReplayed(tenantId, r.id, now);
    return { deadLetters: records, webhookId: job.webhookId };
  }

  async replayWindow(tenantId: string, subscriptionId: string, since: Date, until: Date): Promise<DeadLetterRecord[]> {
    await this.requireActiveSubscription(tenantId, subscriptionId);
    const records = await this.store.findDeadLettersBetween(tenantId, subscriptionId, since, until);
    for (let i = 0; i < records.length; i += 500) {
      const chunk = records.slice(i, i + 500);
      await this.publish(chunk.map(jobFor));
      const now = new Date();
      await Promise.all(chunk.map((r) => this.store.markDeadLetterReplayed(tenantId, r.id, now)));
    }
    return records;
  }

  private async publish(jobs: DeliveryJob[]): Promise<void> {
    try {
      await this.broker.publishDeliveries(jobs);
    } catch (cause) {
      throw new HubError('broker_unavailable', 'The replay could not be handed to the message broker; nothing was marked replayed. Try again.', {
        status: 503,
        cause,
      });
    }
  }

  private async requireActiveSubscription(tenantId: string, subscriptionId: string): Promise<void> {
    const sub = await this.store.getSubscription(tenantId, subscriptionId);
    if (!sub) throw new NotFoundError('subscription', subscriptionId);
    if (!sub.active) {
      const what = sub.kind === 'integration' ? 'Integration' : 'Subscription';
      throw new HubError(
        'subscription_inactive',
        `${what} ${subscriptionId} is disabled${sub.disabledReason ? ` (${sub.disabledReason})` : ''}. ` +
          `Re-enable it with PATCH /v1/${sub.kind === 'integration' ? 'integrations' : 'subscriptions'}/${subscriptionId} {"active": true}, then replay.`,
        { status: 409 },
      );
    }
  }
}

/** Whether an integration delivers to this connection, directly or through one of its routes. */
function sendsTo(subscription: IntegrationSubscription, connectionId: string): boolean {
  const target = subscription.integration;
  return target.connectionId === connectionId || (target.qualification?.routes ?? []).some((r) => r.connectionId === connectionId);
}

/** The replay of a whole dead batch: its events in batch order under its webhook-id (batch id kept too). */
function batchJobFor(records: DeadLetterRecord[]): DeliveryJob {
  const first = records[0] as DeadLetterRecord;
  return { ...jobFor(first), webhookId: first.webhookId, batch: { id: first.batch?.id ?? first.id, events: records.map((r) => r.event) } };
}

function jobFor(record: DeadLetterRecord): DeliveryJob {
  return {
    // An event of a dead batch replayed alone is not that batch: it gets its own webhook-id.
    webhookId: record.batch ? webhookIdFor(record.eventId, `${record.subscriptionId}:${record.id}`) : record.webhookId,
    tenantId: record.tenantId,
    subscriptionId: record.subscriptionId,
    event: record.event,
    attempt: 1,
    replayOf: record.id,
  };
}
