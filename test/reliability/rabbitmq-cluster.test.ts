import { topologyNames } from '../../src/broker/amqp/topology';
import { startReceiver, waitUntil } from '../support/receiver';
import type { Receiver } from '../support/receiver';
import { RabbitCluster } from '../support/rabbitmq-cluster';
import type { ClusterNode } from '../support/rabbitmq-cluster';
import { businessCreated, startTestHub } from '../support/test-hub';
import type { TestHub } from '../support/test-hub';

// Three extra RabbitMQ nodes on their own ports; the shared broker on 5672 is not touched.
const cluster = new RabbitCluster(['hhc1', 'hhc2', 'hhc3'], 5681);
let th: TestHub | undefined;
let receiver: Receiver | undefined;

beforeAll(async () => {
  await cluster.start();
}, 150_000);

afterAll(async () => {
  await receiver?.close();
  await th?.destroy().catch(() => undefined);
  await cluster.destroy();
}, 90_000);

it('rides out the crash of the RabbitMQ node leading its queues in a 3-node cluster: fails over, loses nothing, resumes', async () => {
  receiver = await startReceiver(() => ({ delayMs: 5 }));
  const hub = await startTestHub({ env: { AMQP_URL: cluster.nodes.map((n) => n.url).join(',') } });
  th = hub;
  expect((await hub.api('POST', '/v1/subscriptions', { endpointUrl: receiver.url, events: ['business.created'] })).status).toBe(201);
  const { routerQueue, deliveriesQueue } = topologyNames(hub.prefix);

  // The hub's queues are replicated on every node of the cluster.
  for (const queue of [routerQueue, deliveriesQueue]) {
    expect((await cluster.members(queue, cluster.nodes[0] as ClusterNode)).sort()).toEqual(cluster.nodes.map((n) => n.name).sort());
  }

  // Steady load: a few clients publishing one event after another until told to stop. A client told
  // 503 broker_unavailable (its publish was in flight on the node that went away) retries with the
  // same id, as the answer says.
  const accepted: string[] = [];
  const refused: string[] = [];
  let retried = 0;
  let publishing = true;
  const publish = async (event: Record<string, unknown>): Promise<void> => {
    for (let attempt = 1; ; attempt += 1) {
      const { status, body } = await hub.api('POST', '/v1/events', event).catch((err: Error) => ({ status: 0, body: { error: err.message } as Record<string, unknown> }));
      if (status === 202) {
        accepted.push(String(body['id']));
        return;
      }
      const id = (body['error'] as { details?: { id?: string } } | undefined)?.details?.id;
      if (status !== 503 || !id || attempt === 5) {
        refused.push(`${status} ${JSON.stringify(body)}`);
        return;
      }
      retried += 1;
      event = { ...event, id };
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  const client = async (): Promise<void> => {
    while (publishing) {
      await publish(businessCreated());
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const clients = Promise.all(Array.from({ length: 4 }, client));
  const delivered = (): Set<string> => new Set(receiver!.requests.map((q) => String(q.json['id'])));
  const deliveriesSoFar = (): number => receiver!.requests.length;

  await waitUntil(() => deliveriesSoFar() >= 100, 30_000, () => `${deliveriesSoFar()} deliveries before the crash`);
  const leaders = await cluster.leaders([routerQueue, deliveriesQueue], cluster.nodes[0] as ClusterNode);
  const leaderName = leaders.get(deliveriesQueue);
  const leader = cluster.nodes.find((n) => n.name === leaderName);
  if (!leader) throw new Error(`no leader found for ${deliveriesQueue}: ${JSON.stringify([...leaders])}`);
  const survivor = cluster.nodes.find((n) => n !== leader) as ClusterNode;
  const hubPortsBefore = await cluster.connectionPorts(survivor);

  const crashedAt = Date.now();
  const beforeCrash = deliveriesSoFar();
  await cluster.crash(leader);
  // Deliveries go on while the node is down: the hub reconnects to another node and the queues elect a new leader.
  await waitUntil(() => deliveriesSoFar() >= beforeCrash + 100, 60_000, () => `${deliveriesSoFar() - beforeCrash} deliveries since the crash`);
  const times = receiver.requests.map((q) => q.at).filter((t) => t >= crashedAt - 5_000).sort((a, b) => a - b);
  let gap = 0;
  for (let i = 1; i < times.length; i += 1) gap = Math.max(gap, (times[i] as number) - (times[i - 1] as number));
  const leadersDuring = await cluster.leaders([routerQueue, deliveriesQueue], survivor);
  const hubPortsDuring = await cluster.connectionPorts(survivor);

  await cluster.startNode(leader);
  const afterReturn = deliveriesSoFar();
  await waitUntil(() => deliveriesSoFar() >= afterReturn + 100, 60_000, () => `${deliveriesSoFar() - afterReturn} deliveries since the node came back`);
  publishing = false;
  await clients;

  await waitUntil(() => accepted.every((id) => delivered().has(id)), 60_000, () => `${accepted.filter((id) => !delivered().has(id)).length} of ${accepted.length} not delivered`);
  const duplicates = receiver.requests.length - delivered().size;
  console.log(
    `cluster failover: leader ${leader.name} (router queue led by ${leaders.get(routerQueue)}) crashed; hub connections on ports ${hubPortsBefore.join(',')} before, ${hubPortsDuring.join(',')} during; ` +
      `new leaders ${[...leadersDuring.values()].join(', ')}; longest gap between deliveries ${gap} ms; ` +
      `${accepted.length} events accepted, all delivered (${duplicates} duplicate deliveries), ${retried} publishes answered 503 and retried with the same id`,
  );
  expect(refused).toEqual([]);
  expect(accepted.length).toBeGreaterThan(300);
  expect([...leadersDuring.values()]).not.toContain(leader.name);
  // Members are back on the returned node.
  expect((await cluster.members(deliveriesQueue, leader)).sort()).toEqual(cluster.nodes.map((n) => n.name).sort());
}, 180_000);
