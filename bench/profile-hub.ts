/**
 * Profiles the hub's process during the throughput phase (b) alone and prints
 * where its main thread spends time. `npx tsx bench/profile-hub.ts`
 * Env: BENCH_DELIVERIES (20000), BENCH_SUBSCRIPTIONS (10), BENCH_INSPECTOR (1; 0 runs (b) without
 * the in-process profiler, for an outside one such as perf: see docs/benchmarks.md).
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { benchEndpoints, runHubThroughput, startBenchHub } from './hub-bench';
import { Receiver, envInt, round, runTool } from './support';
import type { Cleanup } from './support';

async function main(cleanup: Cleanup): Promise<void> {
  const subscriptions = envInt('BENCH_SUBSCRIPTIONS', 10);
  const events = Math.round(envInt('BENCH_DELIVERIES', 20_000) / subscriptions);
  const receiver = await Receiver.start(1);
  cleanup.add('receiver', () => receiver.close());
  const bh = await startBenchHub(cleanup, benchEndpoints(receiver, subscriptions));
  const inspect = process.env['BENCH_INSPECTOR'] !== '0';
  const session = new Session();
  if (inspect) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  const eluStart = performance.eventLoopUtilization();
  const cpuStart = process.cpuUsage();
  const result = await runHubThroughput(bh, receiver, events, 60_000);
  const elu = performance.eventLoopUtilization(eluStart);
  const cpu = process.cpuUsage(cpuStart);
  console.log(`event loop utilisation ${round(elu.utilization, 2)}; process CPU ${round((cpu.user + cpu.system) / 1000 / result.elapsedMs, 2)} cores`);
  console.log(`(b) ${round(result.perSecond)} deliveries/s`);
  if (!inspect) return;
  const { profile } = await session.post('Profiler.stop');
  writeFileSync('/tmp/hub-b.cpuprofile', JSON.stringify(profile));
  console.log(`(b) ${round(result.perSecond)} deliveries/s; profile in /tmp/hub-b.cpuprofile`);
  summarize(profile as unknown as Profile);
}

interface Profile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  samples: number[];
  timeDeltas: number[];
}

function summarize(profile: Profile): void {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfTime = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id)?.callFrame;
    const delta = profile.timeDeltas[i] ?? 0;
    total += delta;
    const url = frame?.url ?? '';
    const where = url.includes('node_modules/') ? url.split('node_modules/')[1]?.split('/')[0] : url.replace(/.*\/work\/main\//, '');
    const key = `${frame?.functionName || '(anonymous)'} ${where ?? ''}`;
    selfTime.set(key, (selfTime.get(key) ?? 0) + delta);
  });
  for (const [key, time] of [...selfTime].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`${((time / total) * 100).toFixed(1)}% ${key}`);
}

runTool(main);
