/**
 * Phase (d), batch delivery: the same steady load delivered one request per event and in batches.
 * Each of BENCH_BATCH_SUBSCRIPTIONS (10) subscriptions gets BENCH_BATCH_RATE (100) events/s for
 * BENCH_BATCH_SECONDS (20) s, first unbatched, then with batch {maxEvents: 100, maxWaitMs: 1000}.
 * The hub runs as its own process (`node src/main.ts`), so its CPU is its own (from /proc), not the
 * receiver's or the publisher's. Prints HTTP requests, events per request, and the hub's CPU per event.
 * `npx tsx bench/batch.ts` (also run as the last phase of `npm run bench`).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { topologyNames } from '../src/broker/amqp/topology';
import { startChildHub } from '../test/support/child-hub';
import { AMQP_URL, ConfirmPublisher, Receiver, businessCreatedEvent, deleteTopology, dropDatabase, envInt, mongoUrlFor, round, runTool, sleep, uniqueName, waitUntil } from './support';
import type { Cleanup } from './support';

export interface BatchPhaseResult {
  mode: 'unbatched' | 'batched';
  events: number;
  deliveredEvents: number;
  requests: number;
  hubCpuMsPerEvent: number;
}

/** CPU time (user + system) a process has used, ms, from /proc (Linux). */
function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  // After the command: state is field 3, utime 14 and stime 15 (1-based), in clock ticks (100 per second).
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

export async function runBatchPhase(cleanup: Cleanup): Promise<BatchPhaseResult[]> {
  const subscriptions = envInt('BENCH_BATCH_SUBSCRIPTIONS', 10);
  const rate = envInt('BENCH_BATCH_RATE', 100);
  const seconds = envInt('BENCH_BATCH_SECONDS', 20);
  const prefix = uniqueName('hhbatch');
  const database = uniqueName('hhbatch');
  const apiKey = `hh_bench_${randomBytes(12).toString('hex')}`;
  cleanup.add(`database ${database}`, () => dropDatabase(database));
  cleanup.add(`queues of prefix ${prefix}`, () => deleteTopology(prefix));
  const receiver = await Receiver.start(1);
  cleanup.add('batch receiver', () => receiver.close());
  let deliveredEvents = 0;
  const hub = await startChildHub({
    AMQP_URL,
    MONGODB_URL: mongoUrlFor(database),
    HOOKHUB_QUEUE_PREFIX: prefix,
    HOOKHUB_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    HOOKHUB_API_KEY: apiKey,
    HOOKHUB_ALLOW_PRIVATE_NETWORKS: 'true',
    // Room for a full batch of every subscription in the worker's unacknowledged messages.
    HOOKHUB_PREFETCH: String(Math.max(200, subscriptions * 100 * 2)),
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
  });
  cleanup.add('batch hub', async () => {
    hub.kill('SIGTERM');
    await hub.exited;
  });
  const api = async (method: string, path: string, body?: unknown): Promise<Record<string, unknown>> => {
    const response = await fetch(`http://127.0.0.1:${hub.port()}${path}`, {
      method,
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (response.status >= 300) throw new Error(`${method} ${path} answered ${response.status}: ${text.slice(0, 300)}`);
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  };
  const names = topologyNames(prefix);
  const publisher = await ConfirmPublisher.open();
  cleanup.add('batch publisher', () => publisher.close());

  const results: BatchPhaseResult[] = [];
  for (const mode of ['unbatched', 'batched'] as const) {
    const ids: string[] = [];
    for (let i = 0; i < subscriptions; i++) {
      const created = await api('POST', '/v1/subscriptions', {
        endpointUrl: `${receiver.url}/hooks/${mode}/${i}`,
        events: ['business.created'],
        ...(mode === 'batched' ? { batch: { maxEvents: 100, maxWaitMs: 1000 } } : {}),
      });
      ids.push(String(created['id']));
    }
    await sleep(1500); // the router's subscription cache takes the new ones in
    receiver.reset();
    deliveredEvents = 0;
    receiver.onBody = (body) => {
      const parsed = JSON.parse(body) as { type: string; data: unknown };
      deliveredEvents += parsed.type === 'batch' && Array.isArray(parsed.data) ? parsed.data.length : 1;
    };
    const cpu0 = cpuMsOf(hub.process.pid as number);
    const events = rate * seconds;
    const started = Date.now();
    for (let sent = 0; sent < events; ) {
      const due = Math.min(events, Math.floor(((Date.now() - started) / 1000) * rate));
      for (; sent < due; sent++) await publisher.publish(names.eventsExchange, 'business.created', businessCreatedEvent(`evt_${mode}_${sent}_${randomBytes(3).toString('hex')}`));
      await sleep(10);
    }
    await publisher.settle();
    const expected = events * subscriptions;
    await waitUntil(() => deliveredEvents >= expected, 120_000, 100, () => `${mode}: ${deliveredEvents} of ${expected} events delivered`);
    const cpuMs = cpuMsOf(hub.process.pid as number) - cpu0;
    const result: BatchPhaseResult = { mode, events: expected, deliveredEvents, requests: receiver.received, hubCpuMsPerEvent: cpuMs / expected };
    results.push(result);
    console.log(
      `(d) ${mode}: ${subscriptions} subscriptions × ${rate} events/s × ${seconds} s = ${expected} deliveries of events in ${result.requests} HTTP requests ` +
        `(${round(expected / Math.max(1, result.requests), 1)} events per request); hub CPU ${round(cpuMs)} ms, ${round(result.hubCpuMsPerEvent * 1000, 1)} µs per event`,
    );
    for (const id of ids) await api('DELETE', `/v1/subscriptions/${id}`);
    await sleep(1500);
  }
  const [single, batched] = results as [BatchPhaseResult, BatchPhaseResult];
  console.log(
    `(d) batches cut HTTP requests ${round(single.requests / Math.max(1, batched.requests), 1)}-fold and the hub's CPU per event ` +
      `${round(single.hubCpuMsPerEvent / Math.max(1e-9, batched.hubCpuMsPerEvent), 2)}-fold`,
  );
  return results;
}

if (require.main === module) runTool(async (cleanup) => void (await runBatchPhase(cleanup)));
