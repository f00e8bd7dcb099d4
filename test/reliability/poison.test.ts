import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Writable } from 'node:stream';
import amqplib from 'amqplib';
import { AmqpBroker } from '../../src/broker/amqp/amqp-broker';
import { topologyNames } from '../../src/broker/amqp/topology';
import { POISON_AFTER_DELIVERIES } from '../../src/broker/port';
import type { PoisonedMessage } from '../../src/broker/port';
import { loadConfig } from '../../src/config/config';
import { createLogger, silentLogger } from '../../src/core/logger';
import { Hub } from '../../src/hub';
import { startReceiver, waitUntil } from '../support/receiver';
import type { Receiver } from '../support/receiver';
import { AMQP_URL, deleteTopology, drainQueue, dropDatabase, mongoUrlFor, uniqueName } from '../support/services';
import { businessCreated } from '../support/test-hub';

const ROOT = path.resolve(__dirname, '../..');
const prefixes: string[] = [];
const databases: string[] = [];
const receivers: Receiver[] = [];
let hub: Hub | null = null;

afterAll(async () => {
  await hub?.stop();
  await Promise.all(receivers.map((r) => r.close()));
  for (const prefix of prefixes) await deleteTopology(prefix);
  for (const database of databases) await dropDatabase(database);
});

const envelope = (id: string): Record<string, unknown> => ({ id, version: '1.0', timestamp: new Date().toISOString(), ...businessCreated() });

async function queueDepth(queue: string): Promise<number> {
  const connection = await amqplib.connect(AMQP_URL);
  try {
    const channel = await connection.createChannel();
    return (await channel.checkQueue(queue)).messageCount;
  } finally {
    await connection.close();
  }
}

it('parks a message that kills its consumer after a few crashes, and handles everything that was in flight with it', async () => {
  const prefix = uniqueName('hhpoison');
  prefixes.push(prefix);
  const publisher = new AmqpBroker({ url: AMQP_URL, prefix, logger: silentLogger });
  await publisher.start();
  const innocents = Array.from({ length: 20 }, (_, i) => `innocent_${i}`);
  for (const id of [...innocents.slice(0, 10), 'killer', ...innocents.slice(10)]) {
    await publisher.publishEvent(envelope(id) as never, null);
  }
  await publisher.close();

  const handled = new Set<string>();
  const poisoned: PoisonedMessage[] = [];
  const done = (): boolean => poisoned.length > 0 && innocents.every((id) => handled.has(id));
  let crashes = 0;
  for (let run = 0; run < 12 && !done(); run += 1) {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/reliability/crash-consumer.ts', AMQP_URL, prefix], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('HANDLED ')) handled.add(line.slice('HANDLED '.length));
        if (line.startsWith('POISONED ')) poisoned.push(JSON.parse(line.slice('POISONED '.length)) as PoisonedMessage);
      }
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    const finished = waitUntil(done, 60_000).then(() => 'done' as const);
    const outcome = await Promise.race([exited, finished]);
    if (outcome === 'done') {
      child.kill('SIGTERM');
      await exited;
    } else if (outcome === 'SIGKILL') crashes += 1;
    else throw new Error(`the consumer exited with ${String(outcome)}`);
  }
  console.log(`crash loop: ${crashes} crashes before the killer was parked; ${handled.size} of ${innocents.length} others handled`);

  // Not 50 crashes (RabbitMQ's x-delivery-limit), and none of the messages that died alongside it was parked.
  expect(crashes).toBeLessThanOrEqual(POISON_AFTER_DELIVERIES);
  expect(poisoned).toEqual([expect.objectContaining({ source: 'events', eventId: 'killer', deliveries: POISON_AFTER_DELIVERIES })]);
  expect([...handled].sort()).toEqual([...innocents].sort());
  const names = topologyNames(prefix);
  const parked = await drainQueue(names.eventsPoisonQueue);
  expect(parked.map((m) => (JSON.parse(m.content.toString()) as { id: string }).id)).toEqual(['killer']);
  expect(parked[0]!.properties.headers).toMatchObject({ 'x-hookhub-reason': 'poison_message', 'x-hookhub-from-queue': names.routerQueue });
  expect(await queueDepth(names.routerQueue)).toBe(0);
  expect(await queueDepth(names.routerSuspectQueue)).toBe(0);
});

it('announces a poison delivery (error log, metric, event to its tenant) and keeps delivering the rest', async () => {
  const prefix = uniqueName('hhpoison');
  const database = uniqueName('hhpoison');
  prefixes.push(prefix);
  databases.push(database);
  const apiKey = `hh_test_${randomBytes(12).toString('hex')}`;
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    HOOKHUB_API_KEY: apiKey,
    HOOKHUB_ALLOW_PRIVATE_NETWORKS: 'true',
    HOOKHUB_QUEUE_PREFIX: prefix,
    AMQP_URL,
    MONGODB_URL: mongoUrlFor(database),
    HOOKHUB_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  });
  const logs: Array<{ level: number; msg: string }> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, next) {
      logs.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
      next();
    },
  });
  // One try per delivery instead of eight with pauses, so the test does not wait minutes.
  const broker = new AmqpBroker({ url: AMQP_URL, prefix, logger: silentLogger, handlerTries: 1, retryPauseMs: 10 });
  hub = new Hub(config, { broker, logger: createLogger({ level: 'info' }, sink) });
  await hub.start();
  const api = async (method: string, route: string, body?: unknown): Promise<Record<string, unknown>> => {
    const response = await fetch(`${hub!.url}${route}`, {
      method,
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return (await response.json()) as Record<string, unknown>;
  };
  const endpoint = await startReceiver();
  const alerts = await startReceiver();
  receivers.push(endpoint, alerts);
  const sub = await api('POST', '/v1/subscriptions', { endpointUrl: endpoint.url, events: ['business.created'] });
  await api('POST', '/v1/subscriptions', { endpointUrl: alerts.url, events: ['webhook.delivery_quarantined'] });

  // A delivery job whose event data is nested 100,000 deep: JSON.parse reads it, but serializing
  // the webhook body overflows the stack, so the worker throws on it every time.
  const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
  const eventId = `evt_deep_${randomBytes(3).toString('hex')}`;
  const event = { ...envelope(eventId), data: { id: 'biz_deep' } };
  const body = JSON.stringify({ webhookId: 'msg_poison_deep', tenantId: 'default', subscriptionId: sub['id'], attempt: 1, event }).replace('{"id":"biz_deep"}', `{"id":"biz_deep","nested":${deep}}`);
  const connection = await amqplib.connect(AMQP_URL);
  const channel = await connection.createConfirmChannel();
  channel.sendToQueue(topologyNames(prefix).deliveriesQueue, Buffer.from(body), { persistent: true });
  await channel.waitForConfirms();
  await connection.close();

  const published = await api('POST', '/v1/events', businessCreated());
  await waitUntil(() => alerts.requests.length === 1, 30_000, () => `${alerts.requests.length} alerts`);
  const alert = alerts.requests[0]!.json as { type: string; data: Record<string, unknown> };
  expect(alert).toMatchObject({
    type: 'webhook.delivery_quarantined',
    data: { subscription_id: sub['id'], event_id: eventId, event_type: 'business.created', webhook_id: 'msg_poison_deep', deliveries: POISON_AFTER_DELIVERIES },
  });
  // The hub kept serving: the healthy event was delivered, the poison one never.
  await waitUntil(() => endpoint.requests.some((q) => q.json['id'] === published['id']), 30_000);
  expect(endpoint.requests.filter((q) => q.headers['webhook-id'] === 'msg_poison_deep')).toEqual([]);
  expect((await hub.metrics.poisonMessages.get()).values).toEqual([expect.objectContaining({ labels: { source: 'deliveries' }, value: 1 })]);
  expect(logs.filter((l) => l.level >= 50 && l.msg.includes('parked in'))).toHaveLength(1);
  const parked = await drainQueue(topologyNames(prefix).deliveriesPoisonQueue);
  expect(parked.map((m) => m.content.length)).toEqual([body.length]);
});
