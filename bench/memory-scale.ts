/**
 * Phases that run the hub as processes of its own (bench/hub-process.ts), the receiver and publisher staying here:
 *   (f) memory: BENCH_SUBSCRIPTIONS (10) endpoints, BENCH_RATE (2000) deliveries/s for BENCH_SECONDS (30) s, every
 *       attempt stored: the hub process's peak RSS (the kernel's VmHWM) and peak V8 heap used, its expression
 *       sandboxes' RSS apart, and the deliveries/s and p99 achieved meanwhile;
 *   (g) scale: deliveries/s with 1, 2 and 4 worker processes (BENCH_SCALE_WORKERS) beside one api,router,jobs
 *       process, by phase (b)'s method (BENCH_SCALE_DELIVERIES, 20000, as fast as confirms allow), with the CPU of
 *       every hub process, of RabbitMQ, FerretDB and PostgreSQL, and of the bench itself.
 * `npx tsx bench/memory-scale.ts [memory|scale]` runs them alone (both by default).
 */
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import { benchEndpoints } from './hub-bench';
import { HubCluster, mb, runBurst, runSteady } from './hub-process';
import { Receiver, envInt, round, runTool } from './support';
import type { Cleanup } from './support';

export interface MemoryPhaseResult {
  peakRssMb: number;
  peakHeapUsedMb: number;
  peakHeapTotalMb: number;
  sandboxRssMb: number;
  perSecond: number;
  p50: number;
  p99: number;
  deliveries: number;
  attemptsCounted: number;
  load: string;
}

const loadAverage = (): string => os.loadavg().map((l) => l.toFixed(2)).join(' ');

export async function runMemoryPhase(cleanup: Cleanup, receiver: Receiver): Promise<MemoryPhaseResult> {
  const subscriptions = envInt('BENCH_SUBSCRIPTIONS', 10);
  const rate = envInt('BENCH_RATE', 2000);
  const seconds = envInt('BENCH_SECONDS', 30);
  const cluster = await HubCluster.start(cleanup, 'mem', ['api,router,worker,jobs'], benchEndpoints(receiver, subscriptions));
  const hub = cluster.processes[0]!;
  try {
    // A short warm-up (JIT, connection pools), then the measured steady load.
    await runSteady(cluster, receiver, subscriptions, rate, 3);
    const run = await runSteady(cluster, receiver, subscriptions, rate, seconds);
    for (const w of run.warnings) console.log(w);
    await hub.heapNow();
    hub.sample();
    const snapshotDir = process.env['BENCH_HEAP_SNAPSHOT_DIR'];
    if (snapshotDir) {
      mkdirSync(snapshotDir, { recursive: true });
      hub.snapshot(snapshotDir);
    }
    return {
      peakRssMb: mb(hub.peakRss),
      peakHeapUsedMb: mb(hub.peakHeapUsed),
      peakHeapTotalMb: mb(hub.peakHeapTotal),
      sandboxRssMb: mb(hub.peakSandboxRss),
      perSecond: round(run.perSecond),
      p50: run.p50,
      p99: run.p99,
      deliveries: run.deliveries,
      attemptsCounted: run.attemptsCounted,
      load: loadAverage(),
    };
  } finally {
    await cluster.stop();
  }
}

export interface ScaleRow {
  workers: number;
  perSecond: number;
  cpu: Array<{ label: string; cores: number }>;
  load: string;
}

export async function runScalePhase(cleanup: Cleanup, receiver: Receiver): Promise<ScaleRow[]> {
  const subscriptions = envInt('BENCH_SUBSCRIPTIONS', 10);
  const events = Math.max(1, Math.round(envInt('BENCH_SCALE_DELIVERIES', 20_000) / subscriptions));
  const counts = (process.env['BENCH_SCALE_WORKERS'] ?? '1,2,4').split(',').map((n) => Number(n.trim()));
  const rows: ScaleRow[] = [];
  for (const workers of counts) {
    const roles = ['api,router,jobs', ...Array.from({ length: workers }, () => 'worker')];
    const cluster = await HubCluster.start(cleanup, `scale${workers}`, roles, benchEndpoints(receiver, subscriptions));
    try {
      await runBurst(cluster, receiver, subscriptions, Math.max(1, Math.round(events / 4)));
      const run = await runBurst(cluster, receiver, subscriptions, events);
      for (const w of run.warnings) console.log(w);
      const row = { workers, perSecond: round(run.perSecond), cpu: run.cpu.filter((c) => c.cores > 0 || !c.label.startsWith('  ')), load: loadAverage() };
      console.log(
        `(g) ${workers} worker process(es): ${row.perSecond} deliveries/s (${run.deliveries} in ${round(run.storedMs / 1000, 2)} s, all received at ${round(run.receivedMs / 1000, 2)} s); ` +
          `load average ${row.load}`,
      );
      console.log(`    CPU while delivering (cores of 2): ${row.cpu.map((c) => `${c.label.trim()} ${c.cores}`).join(', ')}`);
      rows.push(row);
    } catch (err) {
      // A run that stalls is a finding, not the end of the bench: say so and go on with the next size.
      console.log(`(g) ${workers} worker process(es): FAILED: ${(err as Error).message}`);
      rows.push({ workers, perSecond: 0, cpu: [], load: loadAverage() });
    } finally {
      await cluster.stop();
    }
  }
  return rows;
}

export function printMemory(m: MemoryPhaseResult): void {
  console.log(
    `(f) hub process alone: peak RSS ${m.peakRssMb} MB, peak V8 heap used ${m.peakHeapUsedMb} MB (heap total ${m.peakHeapTotalMb} MB); ` +
      `its expression sandbox processes ${m.sandboxRssMb} MB RSS together; ` +
      `${m.perSecond} deliveries/s achieved, p50 ${m.p50} ms, p99 ${m.p99} ms (${m.deliveries} deliveries, ${m.attemptsCounted} attempt records counted); load average ${m.load}`,
  );
}

if (require.main === module) {
  runTool(async (cleanup) => {
    const which = process.argv[2] ?? 'both';
    const receiver = await Receiver.start(envInt('BENCH_RECEIVERS', 1));
    cleanup.add('receiver', () => receiver.close());
    const results: Record<string, unknown> = {};
    for (let i = 0; i < envInt('BENCH_MEMORY_RUNS', 1); i++) {
      if (which === 'both' || which === 'memory') {
        const m = await runMemoryPhase(cleanup, receiver);
        printMemory(m);
        results['memory'] = m;
      }
    }
    if (which === 'both' || which === 'scale') results['scale'] = await runScalePhase(cleanup, receiver);
    console.log(JSON.stringify(results));
  });
}
