import { randomBytes } from 'node:crypto';
import amqplib from 'amqplib';
import type { Channel, ChannelModel } from 'amqplib';
import mongoose from 'mongoose';
import { topologyNames } from '../src/broker/amqp/topology';
import type { TopologyNames } from '../src/broker/amqp/topology';
import { loadConfig } from '../src/config/config';
import { silentLogger } from '../src/core/logger';
import { Hub } from '../src/hub';
import { instrumentMongoStore } from './instrumented-store';
import type { InstrumentedMongoStore } from './instrumented-store';
import type { Cleanup, Receiver } from './support';
import {
  AMQP_URL,
  ConfirmPublisher,
  businessCreatedEvent,
  deleteTopology,
  dropDatabase,
  mongoUrlFor,
  percentile,
  round,
  sleep,
  uniqueName,
  waitUntil,
} from './support';

export interface BenchHub {
  hub: Hub;
  prefix: string;
  database: string;
  names: TopologyNames;
  subscriptions: number;
  store: InstrumentedMongoStore;
  /** Ground truth: documents in delivery_attempts, by a direct connection (slow on FerretDB: it scans). */
  countAttempts(): Promise<number>;
  monitor: Monitor;
  /** The environment the hub was configured from. */
  env: Record<string, string>;
}

/** The endpoint of each bench subscription: `/hooks/<n>` on the receivers in turn. */
export function benchEndpoints(receiver: Receiver, subscriptions: number): string[] {
  return Array.from({ length: subscriptions }, (_, i) => `${receiver.urls[i % receiver.urls.length] as string}/hooks/${i + 1}`);
}

/**
 * What tenants ask of the sandbox in the bench: half the subscriptions have a JSONata filter and a quarter a
 * transform (BENCH_EXPRESSIONS=0 turns both off). Both hold for every bench event, so every subscription still
 * receives every event, and the transform keeps published_at_ms for the latency phase.
 */
export const BENCH_FILTER = 'data.category = "restaurant" and $contains(data.name, "Bistro") and $exists(data.address.city)';
export const BENCH_TRANSFORM = '{"id": data.id, "name": $uppercase(data.name), "city": data.address.city, "published_at_ms": data.published_at_ms}';

function benchExpressions(i: number, count: number): Record<string, unknown> {
  if (process.env['BENCH_EXPRESSIONS'] === '0') return {};
  return {
    ...(i < Math.round(count / 2) ? { filter: BENCH_FILTER } : {}),
    ...(i >= count - Math.round(count / 4) ? { payload: { transform: BENCH_TRANSFORM } } : {}),
  };
}

/** Starts an in-process hub on RabbitMQ and MongoDB with its own queue prefix and database, and one subscription per endpoint URL. */
export async function startBenchHub(cleanup: Cleanup, endpointUrls: readonly string[]): Promise<BenchHub> {
  const prefix = uniqueName('hhbench');
  const database = uniqueName('hhbench');
  const apiKey = `hh_bench_${randomBytes(12).toString('hex')}`;
  cleanup.add(`database ${database}`, () => dropDatabase(database));
  cleanup.add(`queues of prefix ${prefix}`, () => deleteTopology(prefix));

  const env: Record<string, string> = {
    AMQP_URL,
    MONGODB_URL: mongoUrlFor(database),
    HOOKHUB_QUEUE_PREFIX: prefix,
    HOOKHUB_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    HOOKHUB_API_KEY: apiKey,
    HOOKHUB_ALLOW_PRIVATE_NETWORKS: 'true',
    ...Object.fromEntries(['HOOKHUB_PREFETCH', 'HOOKHUB_ENDPOINT_CONCURRENCY', 'HOOKHUB_ATTEMPT_REQUEST_BODY_BYTES', 'HOOKHUB_ANALYTICS_FLUSH'].flatMap((name) => (process.env[name] ? [[name, process.env[name] as string]] : []))),
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
  };
  const config = loadConfig(env);
  // The hub's own MongoDB adapter, instrumented (see InstrumentedMongoStore), on the URL of the config.
  const store = instrumentMongoStore({ url: config.mongodbUrl ?? mongoUrlFor(database) });
  const hub = new Hub(config, { logger: silentLogger, store });
  cleanup.add('hub', () => hub.stop());
  await hub.start();

  for (const [i, endpointUrl] of endpointUrls.entries()) {
    const response = await fetch(`${hub.url}/v1/subscriptions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ endpointUrl, events: ['business.created'], description: `bench subscription ${i + 1}`, ...benchExpressions(i, endpointUrls.length) }),
    });
    const text = await response.text();
    if (response.status !== 201) throw new Error(`creating subscription ${i + 1} answered ${response.status}: ${text.slice(0, 500)}`);
  }

  const mongo = await mongoose.createConnection(mongoUrlFor(database), { serverSelectionTimeoutMS: 5000 }).asPromise();
  cleanup.add('bench MongoDB connection', () => mongo.close());
  const countAttempts = async (): Promise<number> => {
    const db = mongo.db;
    if (!db) throw new Error('bench MongoDB connection has no database');
    return db.collection('delivery_attempts').countDocuments({});
  };
  const names = topologyNames(prefix);
  const monitor = await Monitor.open(hub, names, store);
  cleanup.add('monitor', () => monitor.close());
  return { hub, prefix, database, names, subscriptions: endpointUrls.length, store, countAttempts, monitor, env };
}

interface Sample {
  atMs: number;
  received: number;
  attemptsStored: number;
  routerReady: number;
  deliveriesReady: number;
  retry1sReady: number;
  deferred: number;
  inFlight: number | null;
  recorderBacklog: number | null;
}

/**
 * Samples where work sits while a phase runs: ready messages of the router and
 * deliveries queues and of the 1 s retry tier (where deferred deliveries wait),
 * the deferral counter, attempts stored, the hub's in-flight handlers and the
 * attempt recorder's buffer. Read-only diagnostics.
 */
export class Monitor {
  readonly samples: Sample[] = [];
  private running: Promise<void> | null = null;
  private stopped = true;
  /** Ends the current wait between samples at once (stop). */
  private wake: () => void = () => undefined;

  private constructor(
    private readonly hub: Hub,
    private readonly names: TopologyNames,
    private readonly store: InstrumentedMongoStore,
    private readonly connection: ChannelModel,
    private readonly channel: Channel,
  ) {}

  static async open(hub: Hub, names: TopologyNames, store: InstrumentedMongoStore): Promise<Monitor> {
    const connection = await amqplib.connect(AMQP_URL);
    const channel = await connection.createChannel();
    return new Monitor(hub, names, store, connection, channel);
  }

  async sample(startedAt: number, receiver: Receiver): Promise<Sample> {
    const [router, deliveries, retry1s, deferred] = await Promise.all([
      this.channel.checkQueue(this.names.routerQueue),
      this.channel.checkQueue(this.names.deliveriesQueue),
      this.channel.checkQueue(this.names.retryQueue(1)),
      this.hub.metrics.deferred.get(),
    ]);
    // Private state of the hub, read for diagnostics only.
    const internals = this.hub as unknown as { inFlight?: { size?: unknown }; recorder?: { backlog?: unknown } };
    const inFlight = internals.inFlight?.size;
    const backlog = internals.recorder?.backlog;
    return {
      atMs: performance.now() - startedAt,
      received: receiver.received,
      attemptsStored: this.store.attemptsStored,
      routerReady: router.messageCount,
      deliveriesReady: deliveries.messageCount,
      retry1sReady: retry1s.messageCount,
      deferred: deferred.values[0]?.value ?? 0,
      inFlight: typeof inFlight === 'number' ? inFlight : null,
      recorderBacklog: typeof backlog === 'number' ? backlog : null,
    };
  }

  /** Samples every `everyMs` until stop(), printing each sample when `print` is set. */
  start(startedAt: number, receiver: Receiver, everyMs: number, print: boolean): void {
    this.samples.length = 0;
    this.stopped = false;
    this.running = (async () => {
      while (!this.stopped) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, everyMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        if (this.stopped) break;
        try {
          const s = await this.sample(startedAt, receiver);
          this.samples.push(s);
          if (print) console.log(`    ${formatSample(s)}`);
        } catch (err) {
          console.log(`    (monitor sample failed: ${(err as Error).message})`);
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.running;
    this.running = null;
  }

  async close(): Promise<void> {
    await this.stop();
    await this.channel.close().catch(() => undefined);
    await this.connection.close().catch(() => undefined);
  }
}

let lastElu = performance.eventLoopUtilization();
let lastCpu = process.cpuUsage();
let lastAt = performance.now();

/** Event-loop use and CPU of the bench process since the previous sample. */
function processLoad(): string {
  const elu = performance.eventLoopUtilization(lastElu);
  const cpu = process.cpuUsage(lastCpu);
  const elapsedMs = performance.now() - lastAt;
  lastElu = performance.eventLoopUtilization();
  lastCpu = process.cpuUsage();
  lastAt = performance.now();
  const heapMb = process.memoryUsage().heapUsed / 1024 / 1024;
  return `elu=${elu.utilization.toFixed(2)} cpu=${((cpu.user + cpu.system) / 1000 / elapsedMs).toFixed(2)} heap_mb=${heapMb.toFixed(0)}`;
}

function formatSample(s: Sample): string {
  return [
    `t=${(s.atMs / 1000).toFixed(1).padStart(5)}s`,
    `received=${s.received}`,
    `attempts_stored=${s.attemptsStored}`,
    `q.router=${s.routerReady}`,
    `q.deliveries=${s.deliveriesReady}`,
    `q.retry.1s=${s.retry1sReady}`,
    `deferred=${s.deferred}`,
    ...(s.inFlight === null ? [] : [`in_flight=${s.inFlight}`]),
    ...(s.recorderBacklog === null ? [] : [`recorder_buf=${s.recorderBacklog}`]),
    processLoad(),
  ].join(' ');
}

/** Numbers the throughput runs, so that each run's events have ids of their own (the hub dedupes by id). */
let throughputRuns = 0;

export interface HubThroughputResult {
  events: number;
  deliveries: number;
  publishMs: number;
  receivedMs: number;
  /** First publish → every delivery received and every attempt record acknowledged by MongoDB. */
  elapsedMs: number;
  perSecond: number;
  /** First publish → a direct count of delivery_attempts showed them all (includes the count's own latency). */
  countConfirmedMs: number | null;
  attemptsCounted: number;
  deferred: number;
  storeTimings: string[];
  warnings: string[];
}

/** How long to wait for the stragglers of a phase before calling it failed. */
const phaseTimeoutMs = (deliveries: number): number => Math.max(180_000, deliveries * 20);

/**
 * Waits until `deliveries` attempt records of this phase are stored: first by the
 * store's acknowledged-write counter (exact moment), then confirmed by counting
 * the collection. Returns the confirmed count and when it was confirmed; a short
 * or long count becomes a warning.
 */
async function confirmAttempts(
  bh: BenchHub,
  countedBefore: number,
  storedBefore: number,
  deliveries: number,
  timeoutMs: number,
  warnings: string[],
  onStored?: () => void,
): Promise<{ storedAt: number; counted: number; countedAt: number | null }> {
  try {
    await waitUntil(() => bh.store.attemptsStored - storedBefore >= deliveries, timeoutMs, 5, () => `${bh.store.attemptsStored - storedBefore} of ${deliveries} attempt records stored`);
  } catch (err) {
    warnings.push(`WARNING: ${(err as Error).message}`);
  }
  const storedAt = performance.now();
  onStored?.();
  let counted = 0;
  let countedAt: number | null = null;
  try {
    await waitUntil(
      async () => {
        counted = (await bh.countAttempts()) - countedBefore;
        return counted >= deliveries;
      },
      60_000,
      20,
      () => `delivery_attempts holds ${counted} of ${deliveries} attempt records`,
    );
    countedAt = performance.now();
  } catch (err) {
    warnings.push(`WARNING: ${(err as Error).message}`);
  }
  return { storedAt, counted, countedAt };
}

/**
 * (b) Publishes `events` business.created events as fast as confirms allow and
 * times from the first publish until the receiver has every delivery and every
 * attempt record is stored.
 */
export async function runHubThroughput(
  bh: BenchHub,
  receiver: Receiver,
  events: number,
  sampleEveryMs: number,
  onStored?: () => void,
  print = true,
): Promise<HubThroughputResult> {
  const deliveries = events * bh.subscriptions;
  const warnings: string[] = [];
  receiver.reset();
  const countedBefore = await bh.countAttempts();
  const storedBefore = bh.store.attemptsStored;
  const deferredBefore = (await bh.hub.metrics.deferred.get()).values[0]?.value ?? 0;
  const run = (throughputRuns += 1);
  const bodies = Array.from({ length: events }, (_, i) => businessCreatedEvent(`evt_tput${run}_${i}`));
  bh.store.resetTimings();
  const publisher = await ConfirmPublisher.open();
  const started = performance.now();
  bh.monitor.start(started, receiver, sampleEveryMs, print);
  let publishMs: number;
  let receivedMs: number;
  let confirmed: Awaited<ReturnType<typeof confirmAttempts>>;
  try {
    try {
      for (const body of bodies) await publisher.publish(bh.names.eventsExchange, 'business.created', body);
      await publisher.settle();
      publishMs = performance.now() - started;
    } finally {
      await publisher.close();
    }
    await receiver.waitFor(deliveries, phaseTimeoutMs(deliveries));
    receivedMs = performance.now() - started;
    confirmed = await confirmAttempts(bh, countedBefore, storedBefore, deliveries, 120_000, warnings, onStored);
  } finally {
    await bh.monitor.stop();
  }
  const storeTimings = bh.store.describeTimings();
  const elapsedMs = confirmed.storedAt - started;
  // Anything arriving late is a duplicate or an extra attempt: look once more after a short pause.
  await sleep(500);
  const counted = (await bh.countAttempts()) - countedBefore;
  if (counted !== deliveries) warnings.push(`WARNING: ${counted} attempt records stored for ${deliveries} deliveries (expected exactly ${deliveries})`);
  if (receiver.received !== deliveries) warnings.push(`WARNING: the receiver got ${receiver.received} requests for ${deliveries} deliveries`);
  const deferred = ((await bh.hub.metrics.deferred.get()).values[0]?.value ?? 0) - deferredBefore;
  return {
    events,
    deliveries,
    publishMs,
    receivedMs,
    elapsedMs,
    perSecond: (deliveries * 1000) / elapsedMs,
    countConfirmedMs: confirmed.countedAt === null ? null : confirmed.countedAt - started,
    attemptsCounted: counted,
    deferred,
    storeTimings,
    warnings,
  };
}

/** Numbers the latency runs, for event ids of their own. */
let latencyRuns = 0;

export interface HubLatencyResult {
  events: number;
  deliveries: number;
  publishWindowMs: number;
  publishedPerSecond: number;
  receivedInWindow: number;
  drainMs: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
  /** Latency percentiles by publish-time window, to show whether a backlog grew. */
  windows: Array<{ fromS: number; toS: number; count: number; p50: number; p99: number }>;
  attemptsCounted: number;
  deferred: number;
  storeTimings: string[];
  warnings: string[];
}

const PUBLISHED_AT = /"published_at_ms":(\d+)/;

/**
 * (c) Offers `ratePerSecond` deliveries per second (events/s × subscriptions) for
 * `seconds`, publishing a small batch every 10 ms with the publish time in each
 * event; the receiver records now − published_at for each delivery.
 */
export async function runHubLatency(bh: BenchHub, receiver: Receiver, ratePerSecond: number, seconds: number, sampleEveryMs: number): Promise<HubLatencyResult> {
  const run = (latencyRuns += 1);
  const eventsPerSecond = ratePerSecond / bh.subscriptions;
  const events = Math.max(1, Math.round(eventsPerSecond * seconds));
  const deliveries = events * bh.subscriptions;
  const warnings: string[] = [];
  const latencies: number[] = [];
  const publishedAt: number[] = [];
  let unparsed = 0;
  receiver.reset();
  receiver.onBody = (body, at) => {
    const match = PUBLISHED_AT.exec(body);
    if (!match?.[1]) {
      unparsed += 1;
      return;
    }
    const sent = Number(match[1]);
    latencies.push(at - sent);
    publishedAt.push(sent);
  };
  const countedBefore = await bh.countAttempts();
  const storedBefore = bh.store.attemptsStored;
  const deferredBefore = (await bh.hub.metrics.deferred.get()).values[0]?.value ?? 0;
  bh.store.resetTimings();
  const publisher = await ConfirmPublisher.open();
  const startedWall = Date.now();
  const started = performance.now();
  bh.monitor.start(started, receiver, sampleEveryMs, true);
  let publishWindowMs: number;
  let receivedInWindow: number;
  let drainMs: number;
  let counted: number;
  try {
    try {
      let sent = 0;
      while (sent < events) {
        const due = Math.min(events, Math.floor((eventsPerSecond * (performance.now() - started)) / 1000) + 1);
        while (sent < due) {
          await publisher.publish(bh.names.eventsExchange, 'business.created', businessCreatedEvent(`evt_lat${run}_${sent}`, Date.now()));
          sent += 1;
        }
        if (sent < events) await sleep(10);
      }
      publishWindowMs = performance.now() - started;
      receivedInWindow = receiver.received;
      await publisher.settle();
    } finally {
      await publisher.close();
    }
    await receiver.waitFor(deliveries, phaseTimeoutMs(deliveries));
    drainMs = performance.now() - started - publishWindowMs;
    ({ counted } = await confirmAttempts(bh, countedBefore, storedBefore, deliveries, 120_000, warnings));
  } finally {
    await bh.monitor.stop();
    receiver.onBody = null;
  }
  const storeTimings = bh.store.describeTimings();
  if (counted !== deliveries) warnings.push(`WARNING: ${counted} attempt records stored for ${deliveries} deliveries (expected exactly ${deliveries})`);
  if (unparsed > 0) warnings.push(`WARNING: ${unparsed} deliveries carried no published_at_ms`);
  if (receiver.received !== deliveries) warnings.push(`WARNING: the receiver got ${receiver.received} requests for ${deliveries} deliveries`);

  const sorted = Float64Array.from(latencies).sort();
  const windowS = Math.max(1, Math.ceil(seconds / 6));
  const windows: HubLatencyResult['windows'] = [];
  for (let from = 0; from < seconds; from += windowS) {
    const inWindow = Float64Array.from(
      latencies.filter((_, i) => {
        const offsetS = ((publishedAt[i] ?? 0) - startedWall) / 1000;
        return offsetS >= from && offsetS < from + windowS;
      }),
    ).sort();
    windows.push({ fromS: from, toS: Math.min(seconds, from + windowS), count: inWindow.length, p50: percentile(inWindow, 50), p99: percentile(inWindow, 99) });
  }
  const deferred = ((await bh.hub.metrics.deferred.get()).values[0]?.value ?? 0) - deferredBefore;
  return {
    events,
    deliveries,
    publishWindowMs,
    publishedPerSecond: (events * 1000) / publishWindowMs,
    receivedInWindow,
    drainMs,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.length > 0 ? (sorted[sorted.length - 1] as number) : NaN,
    mean: latencies.length > 0 ? round(latencies.reduce((a, b) => a + b, 0) / latencies.length, 1) : NaN,
    windows,
    attemptsCounted: counted,
    deferred,
    storeTimings,
    warnings,
  };
}
