/**
 * Phase (c) alone, with what shapes its tail: the event loop's delay and the
 * garbage collector's pauses, printed each second next to the usual samples.
 * `npx tsx bench/latency.ts`
 * Env: BENCH_RATE (2000), BENCH_SECONDS (30), BENCH_SUBSCRIPTIONS (10),
 * BENCH_PRELOAD (5000: deliveries made first, to warm up and to fill the store).
 */
import { PerformanceObserver, monitorEventLoopDelay } from 'node:perf_hooks';
import { benchEndpoints, runHubLatency, runHubThroughput, startBenchHub } from './hub-bench';
import { Receiver, envInt, round, runTool } from './support';
import type { Cleanup } from './support';

async function main(cleanup: Cleanup): Promise<void> {
  const subscriptions = envInt('BENCH_SUBSCRIPTIONS', 10);
  const receiver = await Receiver.start(1);
  cleanup.add('receiver', () => receiver.close());
  const bh = await startBenchHub(cleanup, benchEndpoints(receiver, subscriptions));
  await runHubThroughput(bh, receiver, Math.max(1, Math.round(envInt('BENCH_PRELOAD', 5000) / subscriptions)), 1000);
  const t0 = performance.now();
  const at = (ms: number): string => `${round((ms - t0) / 1000, 1)}s`;
  const gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if (entry.duration >= 10) console.log(`    GC pause at ${at(entry.startTime)}: ${round(entry.duration)} ms`);
  });
  gc.observe({ entryTypes: ['gc'] });
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const timer = setInterval(() => {
    console.log(`    ${at(performance.now())} event-loop delay p99 ${round(delay.percentile(99) / 1e6)} ms, max ${round(delay.max / 1e6)} ms`);
    delay.reset();
  }, 1000);
  try {
    const r = await runHubLatency(bh, receiver, envInt('BENCH_RATE', 2000), envInt('BENCH_SECONDS', 30), 1000);
    console.log(`(c) publish→delivery latency p50 ${round(r.p50)} ms, p95 ${round(r.p95)} ms, p99 ${round(r.p99)} ms, max ${round(r.max)} ms`);
    for (const warning of r.warnings) console.log(warning);
    for (const w of r.windows) console.log(`    published ${w.fromS}-${w.toS} s: p50 ${round(w.p50)} ms, p99 ${round(w.p99)} ms`);
    for (const line of r.storeTimings) console.log(`    store ${line}`);
  } finally {
    clearInterval(timer);
    gc.disconnect();
    delay.disable();
  }
}

runTool(main);
