/**
 * CPU cost per delivery of the hub and of the services it uses, in phase (b)
 * conditions after a warm-up: less noisy than deliveries per second when
 * comparing two versions of the hot path. `npx tsx bench/cost.ts`
 * Env: BENCH_DELIVERIES (40000), BENCH_WARMUP (10000), BENCH_SUBSCRIPTIONS (10),
 * BENCH_ANALYTICS (on; off skips the delivery analytics writer, to measure what it costs:
 * bench/analytics-cost.ts).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { runBaseline } from './baseline';
import { DeliveryStatsWriter } from '../src/pipeline/delivery-stats-writer';
import { benchEndpoints, runHubThroughput, startBenchHub } from './hub-bench';
import { Receiver, envInt, round, runTool } from './support';
import type { Cleanup } from './support';

const TICKS_PER_S = 100;

/** utime+stime in clock ticks of every process whose command line matches, summed. */
function cpuTicks(match: RegExp): number {
  let total = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (!match.test(cmd)) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/** utime+stime in clock ticks of this process's main thread. */
function mainThreadTicks(): number {
  const stat = readFileSync(`/proc/${process.pid}/task/${process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

const services: Record<string, RegExp> = { rabbitmq: /beam\.smp/, ferretdb: /ferretdb/, postgres: /^postgres/ };

async function main(cleanup: Cleanup): Promise<void> {
  if (process.env['BENCH_ANALYTICS'] === 'off') {
    // The hub as shipped minus its analytics: attempt batches skip the writer (no sums, no metrics, no stats rows).
    DeliveryStatsWriter.prototype.add = () => Promise.resolve();
  }
  const subscriptions = envInt('BENCH_SUBSCRIPTIONS', 10);
  const events = Math.round(envInt('BENCH_DELIVERIES', 40_000) / subscriptions);
  const warmup = Math.round(envInt('BENCH_WARMUP', 10_000) / subscriptions);
  const receiver = await Receiver.start(1);
  cleanup.add('receiver', () => receiver.close());
  if (process.env['BENCH_BASELINE'] !== '0') {
    await runBaseline(warmup * subscriptions, receiver, cleanup);
    const b0 = cpuTicks(services['rabbitmq'] as RegExp);
    const c0 = process.cpuUsage();
    const base = await runBaseline(events * subscriptions, receiver, cleanup);
    const c = process.cpuUsage(c0);
    const rabbit = ((cpuTicks(services['rabbitmq'] as RegExp) - b0) / TICKS_PER_S) * 1e6;
    // RabbitMQ's figure includes the pre-publish of the queue.
    console.log(JSON.stringify({ baseline_per_s: round(base.perSecond), cpu_us_per_delivery: { bench_process: round((c.user + c.system) / base.deliveries), rabbitmq_incl_prepublish: round(rabbit / base.deliveries) } }));
  }
  const bh = await startBenchHub(cleanup, benchEndpoints(receiver, subscriptions));
  const w = await runHubThroughput(bh, receiver, warmup, 1000);
  console.log(`warm-up: ${round(w.perSecond)} deliveries/s`);
  bh.store.resetTimings();
  const before = Object.fromEntries(Object.entries(services).map(([k, re]) => [k, cpuTicks(re)]));
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadTicks();
  let main1 = main0;
  const elu0 = performance.eventLoopUtilization();
  let cpu = process.cpuUsage(cpu0);
  let elu = performance.eventLoopUtilization(elu0);
  let after: Record<string, number> = {};
  // Read the moment the last attempt is stored, before the bench's own count queries.
  const r = await runHubThroughput(bh, receiver, events, 1000, () => {
    cpu = process.cpuUsage(cpu0);
    main1 = mainThreadTicks();
    elu = performance.eventLoopUtilization(elu0);
    after = Object.fromEntries(Object.entries(services).map(([k, re]) => [k, cpuTicks(re)]));
  });
  const n = r.deliveries;
  const perDelivery = (ticks: number): number => round(((ticks / TICKS_PER_S) * 1e6) / n);
  const costs: Record<string, number> = { bench_process: round((cpu.user + cpu.system) / n) };
  const mainThread = perDelivery(main1 - main0);
  for (const k of Object.keys(services)) costs[k] = perDelivery((after[k] as number) - (before[k] as number));
  const total = Object.values(costs).reduce((a, b) => a + b, 0);
  console.log(`(b) ${round(r.perSecond)} deliveries/s, event loop ${round(elu.utilization, 2)}`);
  for (const line of bh.store.describeTimings()) console.log(`    store ${line}`);
  console.log(JSON.stringify({ per_s: round(r.perSecond), cpu_us_per_delivery: { ...costs, total }, main_thread_us: mainThread }));
}

runTool(main);
