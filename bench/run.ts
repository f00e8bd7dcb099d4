/**
 * Hookhub throughput and latency bench, on the local RabbitMQ and MongoDB (FerretDB):
 *   (a) baseline: plain amqplib consumer → undici POST → ack, on a pre-filled quorum queue;
 *   (b) the hub making the same number of deliveries (10 subscriptions × N/10 events);
 *   (c) the hub under a steady offered load, publish-to-delivery latency;
 *   (d) batch delivery against one request per event: HTTP requests and the hub's CPU per event (bench/batch.ts);
 *   (e) what delivery analytics adds to the hub's CPU per delivery, side by side (bench/analytics-cost.ts);
 *   (f) memory: the hub as a process of its own under (c)'s load, its peak RSS and V8 heap (bench/memory-scale.ts);
 *   (g) scale: deliveries/s with 1, 2 and 4 worker processes beside one api,router,jobs process, with each process's CPU.
 * (a)-(c) run the hub inside this process, so the RSS printed at the end is the bench process's (hub, receiver,
 * publisher together); (f) gives the hub's own.
 * Env: BENCH_DELIVERIES (20000), BENCH_RATE deliveries/s (2000), BENCH_SECONDS (30),
 * BENCH_SUBSCRIPTIONS (10), BENCH_ROUNDS (5: (a) and (b) alternate, medians reported), BENCH_RECEIVERS (1: every subscription posts to the same
 * receiver, as the baseline does; more spreads the subscriptions over that many
 * receivers, i.e. distinct endpoint origins), BENCH_EXPRESSIONS (1: half the subscriptions
 * filter with JSONata and a quarter transform, in the sandbox; 0: none). (f) and (g) run the hub compiled, with the
 * node flags of `npm start` (BENCH_HUB_NODE_ARGS replaces them, BENCH_HUB_BUILD names another build);
 * BENCH_SCALE_DELIVERIES (20000) and BENCH_SCALE_WORKERS (1,2,4) size (g). Ends with one JSON line of results.
 */
import { runAnalyticsCost } from './analytics-cost';
import { runBaseline } from './baseline';
import { runBatchPhase } from './batch';
import { benchEndpoints, runHubLatency, runHubThroughput, startBenchHub } from './hub-bench';
import { printMemory, runMemoryPhase, runScalePhase } from './memory-scale';
import { Cleanup, Receiver, RssSampler, envInt, round } from './support';

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

async function main(cleanup: Cleanup, rss: RssSampler): Promise<void> {
  const requested = envInt('BENCH_DELIVERIES', 20_000);
  const rate = envInt('BENCH_RATE', 2000);
  const seconds = envInt('BENCH_SECONDS', 30);
  const subscriptions = envInt('BENCH_SUBSCRIPTIONS', 10);
  const receiverCount = Math.min(subscriptions, envInt('BENCH_RECEIVERS', 1));
  const events = Math.max(1, Math.round(requested / subscriptions));
  const n = events * subscriptions;
  console.log(
    `hookhub bench: ${n} deliveries (${events} events × ${subscriptions} subscriptions), ` +
      `steady load ${rate}/s for ${seconds} s, ${receiverCount} receiver(s), ~1 KB events, node ${process.version}`,
  );

  const receiver = await Receiver.start(receiverCount);
  cleanup.add('receiver', () => receiver.close());

  const rounds = envInt('BENCH_ROUNDS', 5);
  // Both (a) and (b) first run a warm-up of a quarter of the deliveries (JIT, connection pools, caches), so that
  // the measured runs compare steady states rather than start-up costs. Then (a) and (b) alternate for a few
  // rounds and the medians count: a machine whose speed drifts (shared hosts do) slows both alike.
  const warmup = Math.max(subscriptions, Math.round(n / 4 / subscriptions) * subscriptions);
  console.log(`(a) baseline: warm-up of ${warmup} deliveries`);
  await runBaseline(warmup, receiver, cleanup);

  const bh = await startBenchHub(cleanup, benchEndpoints(receiver, subscriptions));
  console.log(`    hub started: prefix ${bh.prefix}, database ${bh.database}, ${subscriptions} subscriptions`);
  console.log(`(b) hub: warm-up of ${warmup} deliveries`);
  const warm = await runHubThroughput(bh, receiver, warmup / subscriptions, 60_000, undefined, false);
  for (const warning of warm.warnings) console.log(warning);

  const baseRates: number[] = [];
  const hubRates: number[] = [];
  const ratios: number[] = [];
  for (let r = 1; r <= rounds; r++) {
    console.log(`round ${r} of ${rounds}`);
    console.log(`(a) baseline: publishing ${n} messages to a quorum queue, then consuming (prefetch 200, undici keep-alive POST, ack)`);
    const base = await runBaseline(n, receiver, cleanup);
    console.log(
      `(a) baseline: ${round(base.perSecond)} deliveries/s (${n} in ${round(base.elapsedMs / 1000, 2)} s from consumer start to last ack; ` +
        `pre-publish took ${round(base.publishMs / 1000, 2)} s)`,
    );
    console.log(`(b) hub: publishing ${events} events (→ ${n} deliveries) as fast as confirms allow; samples:`);
    const tput = await runHubThroughput(bh, receiver, events, 2000);
    for (const warning of tput.warnings) console.log(warning);
    console.log(
      `(b) hub: ${round(tput.perSecond)} deliveries/s (${tput.deliveries} in ${round(tput.elapsedMs / 1000, 2)} s from first publish: ` +
        `publish+confirms done at ${round(tput.publishMs / 1000, 2)} s, all received at ${round(tput.receivedMs / 1000, 2)} s, ` +
        `all attempt records acknowledged by MongoDB at ${round(tput.elapsedMs / 1000, 2)} s` +
        (tput.countConfirmedMs === null ? '' : `, confirmed by counting delivery_attempts at ${round(tput.countConfirmedMs / 1000, 2)} s`) +
        `; ${tput.attemptsCounted} attempt records counted; ${tput.deferred} deliveries deferred by the per-endpoint concurrency limit)`,
    );
    for (const line of tput.storeTimings) console.log(`    store ${line}`);
    baseRates.push(base.perSecond);
    hubRates.push(tput.perSecond);
    ratios.push(tput.perSecond / base.perSecond);
    console.log(`    ratio hub/baseline in round ${r}: ${round(tput.perSecond / base.perSecond, 3)}`);
  }
  const baseline = median(baseRates);
  const hubRate = median(hubRates);
  const ratio = median(ratios);
  console.log(
    `(a) baseline median ${round(baseline)} deliveries/s, (b) hub median ${round(hubRate)} deliveries/s, median ratio ${round(ratio, 3)} ` +
      `(rounds: ${ratios.map((x) => round(x, 3)).join(', ')})`,
  );

  console.log(`(c) hub: steady ${rate} deliveries/s (${round(rate / subscriptions, 1)} events/s × ${subscriptions}) for ${seconds} s; samples:`);
  const lat = await runHubLatency(bh, receiver, rate, seconds, 5000);
  for (const warning of lat.warnings) console.log(warning);
  console.log(
    `(c) hub: publish→delivery latency p50 ${lat.p50} ms, p95 ${lat.p95} ms, p99 ${lat.p99} ms, max ${lat.max} ms, mean ${lat.mean} ms ` +
      `(${lat.deliveries} deliveries; published ${round(lat.publishedPerSecond * subscriptions)} deliveries/s worth over ${round(lat.publishWindowMs / 1000, 1)} s; ` +
      `${lat.receivedInWindow} delivered within the window, the rest ${round(lat.drainMs / 1000, 2)} s after it; ${lat.deferred} deferred)`,
  );
  for (const w of lat.windows) {
    console.log(`    published ${String(w.fromS).padStart(3)}-${String(w.toS).padEnd(3)} s: ${w.count} deliveries, p50 ${w.p50} ms, p99 ${w.p99} ms`);
  }
  for (const line of lat.storeTimings) console.log(`    store ${line}`);
  console.log(`    ${lat.attemptsCounted} attempt records counted for ${lat.deliveries} deliveries`);

  const sandbox = bh.hub.sandbox.stats();
  console.log(
    `expression sandbox: ${sandbox.evaluations} evaluations in ${sandbox.batches} batches (${round(sandbox.evaluations / Math.max(1, sandbox.batches), 1)} per batch), ` +
      `${round(sandbox.cpuMicros / 1000)} ms CPU in the sandbox processes, ${round(sandbox.cpuMicros / Math.max(1, sandbox.evaluations), 1)} µs CPU per evaluation ` +
      `(parent-side cost is in the hub's figures); limit failures ${JSON.stringify(sandbox.failures)}`,
  );
  const [single, batched] = await runBatchPhase(cleanup);
  rss.stop();
  console.log(`(e) delivery analytics: ${envInt('BENCH_ANALYTICS_PAIRS', 3)} pairs of bench/cost.ts runs (hub with and without analytics, alternating)`);
  const analytics = await runAnalyticsCost();
  console.log(`(e) hub process CPU per delivery: median ${analytics.onUs} µs with analytics, ${analytics.offUs} µs without: ${analytics.overheadPct} % (median of the pairs' own: ${analytics.pairMedianPct} %)`);
  console.log(`peak RSS of the bench process (hub, receiver, publisher and baseline together): ${round(rss.peakMb, 1)} MB`);
  console.log(`(f) memory: the hub as its own process, ${rate} deliveries/s for ${seconds} s to ${subscriptions} endpoints, every attempt stored`);
  const memory = await runMemoryPhase(cleanup, receiver);
  printMemory(memory);
  console.log(`(g) scale: deliveries/s with 1, 2 and 4 worker processes beside one api,router,jobs process (${envInt('BENCH_SCALE_DELIVERIES', 20_000)} deliveries as fast as confirms allow)`);
  const scale = await runScalePhase(cleanup, receiver);
  console.log(
    JSON.stringify({
      baseline_per_s: round(baseline),
      hub_per_s: round(hubRate),
      ratio: round(ratio, 3),
      p50_ms: round(lat.p50, 1),
      p95_ms: round(lat.p95, 1),
      p99_ms: round(lat.p99, 1),
      rss_mb: round(rss.peakMb, 1),
      sandbox_cpu_us_per_eval: round(sandbox.cpuMicros / Math.max(1, sandbox.evaluations), 1),
      batch_request_fold: round((single?.requests ?? 0) / Math.max(1, batched?.requests ?? 1), 1),
      unbatched_hub_cpu_us_per_event: round((single?.hubCpuMsPerEvent ?? 0) * 1000, 1),
      batched_hub_cpu_us_per_event: round((batched?.hubCpuMsPerEvent ?? 0) * 1000, 1),
      analytics_cpu_overhead_pct: analytics.overheadPct,
      hub_peak_rss_mb: memory.peakRssMb,
      hub_peak_heap_used_mb: memory.peakHeapUsedMb,
      hub_sandbox_rss_mb: memory.sandboxRssMb,
      memory_phase_per_s: memory.perSecond,
      memory_phase_p99_ms: round(memory.p99, 1),
      scale_per_s: Object.fromEntries(scale.map((r) => [`workers_${r.workers}`, r.perSecond])),
    }),
  );
}

const cleanup = new Cleanup();
const rss = new RssSampler();
rss.start();
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    console.error(`bench: ${signal}, cleaning up`);
    void cleanup.runAll().finally(() => process.exit(130));
  });
}

main(cleanup, rss).then(
  async () => {
    const cleaned = await cleanup.runAll();
    if (!interrupted) process.exit(cleaned ? 0 : 1);
  },
  async (err: unknown) => {
    console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    await cleanup.runAll();
    if (!interrupted) process.exit(1);
  },
);
