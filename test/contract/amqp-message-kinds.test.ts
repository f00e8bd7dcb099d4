import amqplib from 'amqplib';
import type { DeliveryJob } from '../../src/broker/port';
import { AmqpBroker } from '../../src/broker/amqp/amqp-broker';
import { silentLogger } from '../../src/core/logger';
import { waitUntil } from '../support/receiver';
import { AMQP_URL, deleteTopology, drainQueue, uniqueName } from '../support/services';

const envelope = (id: string) => ({ id, type: 'business.deleted', version: '1.0', timestamp: '2026-01-01T00:00:00Z', data: { id: 'biz', deleted_at: '2026-01-01T00:00:00Z' } });
const job = (eventId: string, subscriptionId: string): DeliveryJob => ({
  webhookId: `msg_${eventId}_${subscriptionId}`, tenantId: 't', subscriptionId, event: envelope(eventId), attempt: 1,
});

async function sendRaw(queue: string, body: unknown): Promise<void> {
  const connection = await amqplib.connect(AMQP_URL);
  try {
    const channel = await connection.createConfirmChannel();
    channel.sendToQueue(queue, Buffer.from(JSON.stringify(body)), { persistent: true });
    await channel.waitForConfirms();
    await channel.close();
  } finally {
    await connection.close();
  }
}

describe('AMQP delivery messages carry their kind', () => {
  const prefix = uniqueName('hhkinds');
  let broker: AmqpBroker;
  beforeEach(async () => {
    broker = new AmqpBroker({ url: AMQP_URL, prefix, logger: silentLogger });
    await broker.start();
  });
  afterEach(async () => {
    await broker.close();
  });
  afterAll(async () => {
    await deleteTopology(prefix);
  });

  it('tags a single job and a fan-out', async () => {
    await broker.publishDeliveries([job('e1', 'a')]);
    await broker.publishDeliveries([job('e2', 'a'), job('e2', 'b')]);
    const bodies = (await drainQueue(broker.names.deliveriesQueue)).map((m) => JSON.parse(m.content.toString()) as Record<string, unknown>);
    expect(bodies).toEqual([
      { kind: 'single', ...job('e1', 'a') },
      { kind: 'fanout', event: envelope('e2'), targets: [job('e2', 'a'), job('e2', 'b')].map(({ event: _event, ...target }) => target) },
    ]);
  });

  it('hands over jobs of untagged messages left queued by the previous version, and strips the tag of tagged ones', async () => {
    const seen: DeliveryJob[] = [];
    await broker.consumeDeliveries(async (j) => {
      seen.push(j);
    }, { prefetch: 10 });
    await sendRaw(broker.names.deliveriesQueue, job('old1', 'a'));
    await sendRaw(broker.names.deliveriesQueue, { event: envelope('old2'), targets: [job('old2', 'a'), job('old2', 'b')].map(({ event: _event, ...target }) => target) });
    await broker.publishDeliveries([job('new1', 'a')]);
    await broker.publishDeliveries([job('new2', 'a'), job('new2', 'b')]);
    await waitUntil(() => seen.length === 6, 10_000);
    const byWebhookId = (jobs: DeliveryJob[]) => [...jobs].sort((x, y) => x.webhookId.localeCompare(y.webhookId));
    expect(byWebhookId(seen)).toEqual(byWebhookId([job('old1', 'a'), job('old2', 'a'), job('old2', 'b'), job('new1', 'a'), job('new2', 'a'), job('new2', 'b')]));
  });
});
