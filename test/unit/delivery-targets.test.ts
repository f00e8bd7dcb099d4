import { randomBytes } from 'node:crypto';
import type { DeliveryJob } from '../../src/broker/port';
import { MemoryBroker } from '../../src/broker/memory/memory-broker';
import { silentLogger } from '../../src/core/logger';
import { HubMetrics } from '../../src/core/metrics';
import { SecretBox } from '../../src/core/secret-box';
import { OperationalEvents } from '../../src/events/operational-events';
import { AttemptRecorder } from '../../src/pipeline/attempt-recorder';
import { DeliveryWorker } from '../../src/pipeline/delivery-worker';
import { SubscriptionMatcher } from '../../src/pipeline/matcher';
import { DeliveryTargets } from '../../src/pipeline/targets';
import type { DeliveryTarget, TargetResult } from '../../src/pipeline/targets';
import { createMemoryStore } from '../../src/store/memory/memory-store';
import type { Store } from '../../src/store/store';
import type { Subscription, SubscriptionKind } from '../../src/subscriptions/model';
import { SubscriptionCache } from '../../src/subscriptions/subscription-cache';
import type { LoadedSubscription } from '../../src/subscriptions/subscription-cache';

/** A target as a test writes one: it keeps what it was given and answers what it is told to, in turn. */
class FakeTarget implements DeliveryTarget {
  readonly sent: Array<{ job: DeliveryJob; subscriptionId: string; slotKey: string }> = [];

  constructor(
    private readonly name: string,
    private readonly answers: TargetResult[] = [],
  ) {}

  slotKey(subscription: LoadedSubscription): string {
    return `${this.name}:${subscription.record.id}`;
  }

  async send(job: DeliveryJob, subscription: LoadedSubscription): Promise<TargetResult> {
    this.sent.push({ job, subscriptionId: subscription.record.id, slotKey: this.slotKey(subscription) });
    return this.answers.shift() ?? { kind: 'attempted', result: { status: 200, headers: {}, body: 'ok', durationMs: 5, error: null, errorCode: null }, outcome: { kind: 'success' } };
  }
}

const box = new SecretBox([{ id: 'k1', key: randomBytes(32) }]);

function subscription(kind: Exclude<SubscriptionKind, 'relay'>): Subscription {
  const now = new Date();
  const common = {
    id: `sub_${randomBytes(4).toString('hex')}`,
    tenantId: 't1',
    events: ['business.created'],
    filters: [],
    filter: null,
    retryConfig: { maxRetries: 3, initialDelaySeconds: 1, backoffMultiplier: 2, maxBackoffSeconds: 60 },
    active: true,
    description: null,
    disabledReason: null,
    createdAt: now,
    updatedAt: now,
  };
  return kind === 'webhook'
    ? { ...common, kind, endpointUrl: 'https://receiver.example/hook', payload: null, headers: {}, secretSealed: box.seal('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw') }
    : { ...common, kind, integration: { connectionId: 'conn_1', connector: 'crm', triggers: null, qualification: null } };
}

function jobFor(sub: Subscription): DeliveryJob {
  return {
    webhookId: `msg_${randomBytes(4).toString('hex')}`,
    tenantId: sub.tenantId,
    subscriptionId: sub.id,
    event: { id: `evt_${randomBytes(4).toString('hex')}`, type: 'business.created', version: '1.0', timestamp: new Date().toISOString(), data: { id: 'biz_1' } },
    attempt: 1,
  };
}

/** A worker over the in-memory broker and store (real adapters), with the targets given. */
async function setup(targets: DeliveryTargets): Promise<{ worker: DeliveryWorker; store: Store; broker: MemoryBroker; metrics: HubMetrics; recorder: AttemptRecorder }> {
  const store = createMemoryStore();
  const broker = new MemoryBroker();
  await broker.start();
  const metrics = new HubMetrics();
  const recorder = new AttemptRecorder({ store, logger: silentLogger });
  const worker = new DeliveryWorker({
    broker,
    store,
    subscriptions: new SubscriptionCache(store, box, 0),
    targets,
    recorder,
    operational: new OperationalEvents(broker, silentLogger),
    metrics,
    logger: silentLogger,
    perEndpointConcurrency: 8,
    matcher: new SubscriptionMatcher(),
    disableSubscription: async () => undefined,
  });
  return { worker, store, broker, metrics, recorder };
}

async function counted(metrics: HubMetrics, name: string): Promise<number> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  return (metric?.values ?? []).reduce((sum, v) => sum + Number(v.value), 0);
}

describe('DeliveryWorker and its targets', () => {
  it('hands each job to the target registered for its subscription kind, and records what the target answered', async () => {
    const webhooks = new FakeTarget('web');
    const integrations = new FakeTarget('crm');
    const { worker, store, recorder, broker } = await setup(new DeliveryTargets().register('webhook', webhooks).register('integration', integrations));
    const hook = subscription('webhook');
    const crm = subscription('integration');
    await store.insertSubscription(hook);
    await store.insertSubscription(crm);

    await worker.handle(jobFor(hook));
    await worker.handle(jobFor(crm));
    await recorder.drain();

    expect(webhooks.sent.map((s) => s.subscriptionId)).toEqual([hook.id]);
    expect(integrations.sent.map((s) => s.subscriptionId)).toEqual([crm.id]);
    const attempts = (await store.listAttempts('t1', { limit: 10 })).data;
    expect(attempts.map((a) => [a.subscriptionId, a.status, a.httpStatus]).sort()).toEqual([
      [crm.id, 'succeeded', 200],
      [hook.id, 'succeeded', 200],
    ].sort());
    await broker.close();
  });

  it('puts a job the target deferred back on the broker, unrecorded and with the same attempt number, and sends it when it comes back', async () => {
    const deferring = new FakeTarget('web', [{ kind: 'deferred', delayMs: 30 }]);
    const { worker, store, broker, metrics, recorder } = await setup(new DeliveryTargets().register('webhook', deferring));
    const hook = subscription('webhook');
    await store.insertSubscription(hook);
    const consumer = await broker.consumeDeliveries((job, handover) => worker.handle(job, handover), { prefetch: 4 });

    const job = jobFor(hook);
    await broker.publishDeliveries([job]);
    const deadline = Date.now() + 5000;
    while (deferring.sent.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await consumer.cancel();
    await recorder.drain();

    expect(deferring.sent.map((s) => [s.job.webhookId, s.job.attempt])).toEqual([
      [job.webhookId, 1],
      [job.webhookId, 1],
    ]);
    expect(await counted(metrics, 'hookhub_deliveries_deferred_total')).toBe(1);
    // Only the attempt that was made is on record; the deferral is not an attempt.
    const attempts = (await store.listAttempts('t1', { limit: 10 })).data;
    expect(attempts.map((a) => [a.webhookId, a.attempt, a.status])).toEqual([[job.webhookId, 1, 'succeeded']]);
    await broker.close();
  });

  it('settles a permanent failure the target reports with the dead-letter reason it gives', async () => {
    const failing = new FakeTarget('crm', [
      {
        kind: 'attempted',
        result: { status: null, headers: {}, body: null, durationMs: 0, error: 'parked', errorCode: 'not_sent' },
        outcome: { kind: 'permanent', reason: 'parked' },
        deadReason: 'connection_needs_reauth',
      },
    ]);
    const { worker, store, broker, recorder } = await setup(new DeliveryTargets().register('integration', failing));
    const crm = subscription('integration');
    await store.insertSubscription(crm);

    await worker.handle(jobFor(crm));
    await recorder.drain();

    expect(broker.deadLetters.map((d) => d.reason)).toEqual(['connection_needs_reauth']);
    expect((await store.listDeadLetters('t1', { limit: 10 })).data.map((d) => [d.subscriptionId, d.reason, d.lastError])).toEqual([[crm.id, 'connection_needs_reauth', 'parked']]);
    await broker.close();
  });

  it('refuses a second target for the same kind, and a job whose kind has no target goes back to the queue (throws)', async () => {
    const targets = new DeliveryTargets().register('webhook', new FakeTarget('web'));
    expect(() => targets.register('webhook', new FakeTarget('other'))).toThrow('registered already');
    const { worker, store, broker } = await setup(targets);
    const crm = subscription('integration');
    await store.insertSubscription(crm);
    await expect(worker.handle(jobFor(crm))).rejects.toThrow('no delivery target for integration subscriptions');
    await broker.close();
  });
});
