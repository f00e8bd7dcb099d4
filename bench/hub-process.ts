/**
 * The hub as processes of its own, for the phases that measure the hub alone: (f) its memory under the
 * fan-out load and (g) deliveries/s with 1, 2 and 4 worker processes. The receiver and the publisher stay in
 * the bench process; the hub runs compiled (src/ built into .bench-dist, or the build BENCH_HUB_BUILD names),
 * as `node main.js` does in production, with a small preload (bench/proc-probe.cjs) that reports the V8 heap
 * over IPC. RSS and CPU come from /proc.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import mongoose from 'mongoose';
import { topologyNames } from '../src/broker/amqp/topology';
import type { TopologyNames } from '../src/broker/amqp/topology';
import { compileIfStale } from '../test/support/compile';
import { BENCH_FILTER, BENCH_TRANSFORM } from './hub-bench';
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
  withTimeout,
} from './support';
import type { Cleanup, Receiver } from './support';

const ROOT = path.resolve(__dirname, '..');
const PROBE = path.join(__dirname, 'proc-probe.cjs');
const MB = 1024 * 1024;

/** The compiled hub: BENCH_HUB_BUILD if given, else src/ compiled into .bench-dist whenever a source is newer than it. */
export function hubBuild(): string {
  const given = process.env['BENCH_HUB_BUILD']?.trim();
  if (given) {
    const dir = path.resolve(given);
    if (!existsSync(path.join(dir, 'main.js'))) throw new Error(`BENCH_HUB_BUILD=${given} holds no main.js`);
    return dir;
  }
  const dir = path.join(ROOT, '.bench-dist');
  if (compileIfStale(dir)) console.log('    compiled src/ into .bench-dist for the hub processes');
  return dir;
}

/**
 * The node flags the hub's own start gives (package.json's `start` script, as the Dockerfile's CMD): the
 * bench runs the hub as operators do. BENCH_HUB_NODE_ARGS replaces them (an empty value: none).
 */
export function startFlags(): string[] {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  const start = pkg.scripts?.['start'] ?? '';
  const match = /\bnode\s+((?:--\S+\s+)*)dist\/main\.js/.exec(start);
  // ${NAME:-default} as the shell expands it, from this process's environment.
  const expanded = (match?.[1] ?? '').replace(/\$\{(\w+):-([^}]*)\}/g, (_, name: string, fallback: string) => process.env[name]?.trim() || fallback);
  return expanded.split(/\s+/).filter((a) => a !== '');
}

/** CPU time (user + system) of a process so far, ms; null once it is gone. */
export function cpuMsOf(pid: number): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

/** VmRSS and VmHWM (the kernel's peak RSS) of a process, bytes; null once it is gone. */
export function rssOf(pid: number): { rss: number; hwm: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return null;
  }
}

function parentOf(pid: number): number | null {
  try {
    return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]);
  } catch {
    return null;
  }
}

/** Processes whose parent is `pid` (the hub's expression sandboxes). */
export function childrenOf(pid: number): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    if (parentOf(Number(name)) === pid) found.push(Number(name));
  }
  return found;
}

/** Pids of the shared services on this machine (RabbitMQ, FerretDB, PostgreSQL), by command name, for CPU figures. */
export function servicePids(): Record<string, number[]> {
  const groups: Record<string, number[]> = { rabbitmq: [], ferretdb: [], postgres: [] };
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let comm = '';
    try {
      comm = readFileSync(`/proc/${name}/comm`, 'utf8').trim();
    } catch {
      continue;
    }
    if (comm === 'beam.smp' || comm.startsWith('erl_child') || comm === 'epmd') groups['rabbitmq']?.push(Number(name));
    else if (comm.startsWith('ferretdb')) groups['ferretdb']?.push(Number(name));
    else if (comm.startsWith('postgres')) groups['postgres']?.push(Number(name));
  }
  return groups;
}

/** CPU ms of a group of pids (those that still exist). */
export function cpuMsOfAll(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + (cpuMsOf(pid) ?? 0), 0);
}

export interface HubProcessOptions {
  roles: string;
  prefix: string;
  database: string;
  encryptionKey: string;
  apiKey: string;
  /** More environment (HOOKHUB_PREFETCH, ...). */
  env?: Record<string, string>;
  /** More node arguments (V8 flags). */
  nodeArgs?: string[];
  label: string;
}

/** One hub process, sampled every 200 ms: RSS, the kernel's peak RSS, and the V8 heap the probe reports. */
export class HubProcess {
  readonly logs: string[] = [];
  port = 0;
  peakHeapUsed = 0;
  peakHeapTotal = 0;
  peakRss = 0;
  peakSandboxRss = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly exited: Promise<number | null>;

  private constructor(
    readonly label: string,
    readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    child.on('message', (message: { heapUsed?: number; heapTotal?: number }) => {
      this.peakHeapUsed = Math.max(this.peakHeapUsed, message.heapUsed ?? 0);
      this.peakHeapTotal = Math.max(this.peakHeapTotal, message.heapTotal ?? 0);
    });
  }

  get pid(): number {
    return this.child.pid as number;
  }

  static async start(cleanup: Cleanup, o: HubProcessOptions, timeoutMs = 60_000): Promise<HubProcess> {
    const build = hubBuild();
    const given = process.env['BENCH_HUB_NODE_ARGS'];
    const extraArgs = given === undefined ? startFlags() : given.split(' ').filter((a) => a !== '');
    const child = spawn(process.execPath, [...extraArgs, ...(o.nodeArgs ?? []), '--require', PROBE, path.join(build, 'main.js')], {
      cwd: ROOT,
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: process.env['HOME'] ?? '',
        AMQP_URL,
        MONGODB_URL: mongoUrlFor(o.database),
        HOOKHUB_QUEUE_PREFIX: o.prefix,
        HOOKHUB_ENCRYPTION_KEY: o.encryptionKey,
        HOOKHUB_API_KEY: o.apiKey,
        HOOKHUB_ALLOW_PRIVATE_NETWORKS: 'true',
        HOOKHUB_ROLES: o.roles,
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
        BENCH_PROBE_MS: '100',
        ...(process.env['MALLOC_ARENA_MAX'] ? { MALLOC_ARENA_MAX: process.env['MALLOC_ARENA_MAX'] } : {}),
        ...Object.fromEntries(
          Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith('HOOKHUB_') && typeof e[1] === 'string' && !['HOOKHUB_ROLES', 'HOOKHUB_QUEUE_PREFIX'].includes(e[0])),
        ),
        ...(o.env ?? {}),
      },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const hub = new HubProcess(o.label, child);
    cleanup.add(`hub process ${o.label}`, () => hub.stop());
    const logFile = process.env['BENCH_HUB_LOG'];
    if (logFile) {
      const out = createWriteStream(`${logFile}.${o.label.replace(/[^a-z0-9]+/gi, '_')}`);
      child.stdout?.pipe(out);
      child.stderr?.pipe(out);
    }
    let buffered = '';
    let started = false;
    const ready = new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        buffered += chunk.toString('utf8');
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) {
          if (hub.logs.length < 200) hub.logs.push(line);
          const listening = /"url":"http:\/\/[^:]+:(\d+)"/.exec(line);
          if (listening?.[1]) hub.port = Number(listening[1]);
          if (line.includes('"msg":"Hookhub started"')) {
            started = true;
            resolve();
          }
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      void hub.exited.then((code) => {
        if (!started) reject(new Error(`hub ${o.label} exited with ${code} before starting:\n${hub.logs.join('\n')}`));
      });
    });
    await withTimeout(ready, timeoutMs, `hub ${o.label} start`);
    hub.timer = setInterval(() => hub.sample(), 200);
    hub.timer.unref();
    return hub;
  }

  sample(): void {
    const mem = rssOf(this.pid);
    if (mem) this.peakRss = Math.max(this.peakRss, mem.rss, mem.hwm);
    const sandboxes = childrenOf(this.pid).reduce((sum, pid) => sum + (rssOf(pid)?.rss ?? 0), 0);
    this.peakSandboxRss = Math.max(this.peakSandboxRss, sandboxes);
  }

  /** CPU ms of the hub process itself and of its sandbox processes. */
  cpu(): { hub: number; sandboxes: number } {
    return { hub: cpuMsOf(this.pid) ?? 0, sandboxes: cpuMsOfAll(childrenOf(this.pid)) };
  }

  /** Asks the probe for one more heap figure now. */
  async heapNow(): Promise<void> {
    if (!this.child.connected) return;
    this.child.send({ sample: true });
    await sleep(50);
  }

  /** Writes a heap snapshot of the process (the probe's v8.writeHeapSnapshot) into `dir`. */
  snapshot(dir: string): void {
    if (this.child.connected) this.child.send({ snapshot: dir });
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const code = await Promise.race([this.exited, sleep(40_000).then(() => 'timeout' as const)]);
    if (code === 'timeout') {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

/** The subscriptions of the bench: one per endpoint, half filtered and a quarter transformed in the sandbox (BENCH_EXPRESSIONS=0: none). */
function subscriptionBody(i: number, count: number, endpointUrl: string): Record<string, unknown> {
  const expressions =
    process.env['BENCH_EXPRESSIONS'] === '0'
      ? {}
      : {
          ...(i < Math.round(count / 2) ? { filter: BENCH_FILTER } : {}),
          ...(i >= count - Math.round(count / 4) ? { payload: { transform: BENCH_TRANSFORM } } : {}),
        };
  return { endpointUrl, events: ['business.created'], description: `bench subscription ${i + 1}`, ...expressions };
}

/** A hub made of processes: the first has the api role; all share a queue prefix and a database. */
export class HubCluster {
  readonly names: TopologyNames;
  private constructor(
    readonly processes: HubProcess[],
    readonly prefix: string,
    readonly database: string,
    private readonly mongo: mongoose.Connection,
  ) {
    this.names = topologyNames(prefix);
  }

  /** `roles`: one entry per process, e.g. ['api,router,jobs', 'worker', 'worker']. Creates one subscription per endpoint. */
  static async start(cleanup: Cleanup, label: string, roles: readonly string[], endpointUrls: readonly string[], extra: Partial<HubProcessOptions> = {}): Promise<HubCluster> {
    const prefix = uniqueName(`hh${label}`);
    const database = uniqueName(`hh${label}`);
    const encryptionKey = randomBytes(32).toString('base64');
    const apiKey = `hh_bench_${randomBytes(12).toString('hex')}`;
    cleanup.add(`database ${database}`, () => dropDatabase(database));
    cleanup.add(`queues of prefix ${prefix}`, () => deleteTopology(prefix));
    const processes: HubProcess[] = [];
    // The first process (api) declares the topology and bootstraps the key; the others follow.
    for (const [i, r] of roles.entries()) {
      processes.push(await HubProcess.start(cleanup, { ...extra, roles: r, prefix, database, encryptionKey, apiKey, label: `${label}-${i}:${r}` }));
    }
    const api = processes[0] as HubProcess;
    for (const [i, endpointUrl] of endpointUrls.entries()) {
      const response = await fetch(`http://127.0.0.1:${api.port}/v1/subscriptions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(subscriptionBody(i, endpointUrls.length, endpointUrl)),
      });
      const text = await response.text();
      if (response.status !== 201) throw new Error(`creating subscription ${i + 1} answered ${response.status}: ${text.slice(0, 500)}`);
    }
    const mongo = await mongoose.createConnection(mongoUrlFor(database), { serverSelectionTimeoutMS: 5000 }).asPromise();
    cleanup.add(`bench MongoDB connection ${label}`, () => mongo.close());
    return new HubCluster(processes, prefix, database, mongo);
  }

  async countAttempts(): Promise<number> {
    const db = this.mongo.db;
    if (!db) throw new Error('bench MongoDB connection has no database');
    return db.collection('delivery_attempts').countDocuments({});
  }

  /** Waits until delivery_attempts holds `expected` records; returns how many it holds then (or at the timeout). */
  async waitForAttempts(expected: number, timeoutMs: number, warnings: string[]): Promise<number> {
    let counted = 0;
    try {
      await waitUntil(
        async () => {
          counted = await this.countAttempts();
          return counted >= expected;
        },
        timeoutMs,
        100,
        () => `delivery_attempts holds ${counted} of ${expected}`,
      );
    } catch (err) {
      warnings.push(`WARNING: ${(err as Error).message}`);
    }
    return counted;
  }

  async stop(): Promise<void> {
    // Workers first, so that nothing is left unacknowledged when the router goes.
    for (const p of [...this.processes].reverse()) await p.stop();
  }
}

let runs = 0;

export interface SteadyResult {
  deliveries: number;
  perSecond: number;
  publishWindowMs: number;
  drainMs: number;
  p50: number;
  p99: number;
  max: number;
  attemptsCounted: number;
  warnings: string[];
}

const PUBLISHED_AT = /"published_at_ms":(\d+)/;

/**
 * Offers `ratePerSecond` deliveries/s (events/s × subscriptions) for `seconds` as phase (c) does; the receiver
 * records publish→delivery latency. Deliveries/s achieved: all deliveries over first publish → last received.
 */
export async function runSteady(cluster: HubCluster, receiver: Receiver, subscriptions: number, ratePerSecond: number, seconds: number): Promise<SteadyResult> {
  const run = (runs += 1);
  const eventsPerSecond = ratePerSecond / subscriptions;
  const events = Math.max(1, Math.round(eventsPerSecond * seconds));
  const deliveries = events * subscriptions;
  const warnings: string[] = [];
  const latencies: number[] = [];
  receiver.reset();
  receiver.onBody = (body, at) => {
    const match = PUBLISHED_AT.exec(body);
    if (match?.[1]) latencies.push(at - Number(match[1]));
  };
  const countedBefore = await cluster.countAttempts();
  const publisher = await ConfirmPublisher.open();
  const started = performance.now();
  let publishWindowMs: number;
  try {
    let sent = 0;
    while (sent < events) {
      const due = Math.min(events, Math.floor((eventsPerSecond * (performance.now() - started)) / 1000) + 1);
      while (sent < due) {
        await publisher.publish(cluster.names.eventsExchange, 'business.created', businessCreatedEvent(`evt_mem${run}_${sent}`, Date.now()));
        sent += 1;
      }
      if (sent < events) await sleep(10);
    }
    publishWindowMs = performance.now() - started;
    await publisher.settle();
  } finally {
    await publisher.close();
  }
  try {
    await receiver.waitFor(deliveries, Math.max(120_000, deliveries * 20));
  } finally {
    receiver.onBody = null;
  }
  const receivedMs = performance.now() - started;
  const counted = (await cluster.waitForAttempts(countedBefore + deliveries, 120_000, warnings)) - countedBefore;
  if (counted !== deliveries) warnings.push(`WARNING: ${counted} attempt records stored for ${deliveries} deliveries`);
  const sorted = Float64Array.from(latencies).sort();
  return {
    deliveries,
    perSecond: (deliveries * 1000) / receivedMs,
    publishWindowMs,
    drainMs: receivedMs - publishWindowMs,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.length > 0 ? (sorted[sorted.length - 1] as number) : NaN,
    attemptsCounted: counted,
    warnings,
  };
}

export interface BurstResult {
  deliveries: number;
  perSecond: number;
  receivedMs: number;
  storedMs: number;
  /** CPU used during the run, as a share of one core, by process label. */
  cpu: Array<{ label: string; cores: number }>;
  warnings: string[];
}

/**
 * Phase (b)'s method on a cluster: publish `events` events as fast as confirms allow; deliveries/s is all
 * deliveries over first publish → all received and all attempt records counted in delivery_attempts.
 */
export async function runBurst(cluster: HubCluster, receiver: Receiver, subscriptions: number, events: number): Promise<BurstResult> {
  const run = (runs += 1);
  const deliveries = events * subscriptions;
  const warnings: string[] = [];
  receiver.reset();
  const countedBefore = await cluster.countAttempts();
  const bodies = Array.from({ length: events }, (_, i) => businessCreatedEvent(`evt_scale${run}_${i}`));
  const services = servicePids();
  const before = cpuSnapshot(cluster, services);
  const started = performance.now();
  const publisher = await ConfirmPublisher.open();
  try {
    for (const body of bodies) await publisher.publish(cluster.names.eventsExchange, 'business.created', body);
    await publisher.settle();
  } finally {
    await publisher.close();
  }
  // At a tenth of the single process's rate a run has stalled: do not wait longer than that.
  await receiver.waitFor(deliveries, Math.max(60_000, deliveries * 10));
  const receivedMs = performance.now() - started;
  const after = cpuSnapshot(cluster, services);
  const counted = (await cluster.waitForAttempts(countedBefore + deliveries, 120_000, warnings)) - countedBefore;
  const storedMs = performance.now() - started;
  if (counted !== deliveries) warnings.push(`WARNING: ${counted} attempt records stored for ${deliveries} deliveries`);
  return {
    deliveries,
    perSecond: (deliveries * 1000) / storedMs,
    receivedMs,
    storedMs,
    cpu: after.map((a, i) => ({ label: a.label, cores: round((a.ms - (before[i]?.ms ?? 0)) / receivedMs, 2) })),
    warnings,
  };
}

function cpuSnapshot(cluster: HubCluster, services: Record<string, number[]>): Array<{ label: string; ms: number }> {
  const own = process.cpuUsage();
  return [
    ...cluster.processes.flatMap((p) => {
      const { hub, sandboxes } = p.cpu();
      return [
        { label: p.label.replace(/^[^:]*:/, '').replace(/,/g, '+'), ms: hub },
        { label: `  sandboxes of ${p.label.replace(/^[^:]*:/, '')}`, ms: sandboxes },
      ];
    }),
    ...Object.entries(services).map(([name, pids]) => ({ label: name, ms: cpuMsOfAll(pids) })),
    { label: 'bench (publisher+receiver)', ms: (own.user + own.system) / 1000 },
  ];
}

export const mb = (bytes: number): number => round(bytes / MB, 1);
