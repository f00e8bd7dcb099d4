/**
 * What delivery analytics adds to the hub's CPU per delivery, measured side by side:
 * bench/cost.ts runs in alternating child processes with analytics on (as shipped) and
 * off (the analytics writer skipped, BENCH_ANALYTICS=off), and the medians of the hub
 * process's CPU per delivery are compared. Alternation and medians keep a drifting
 * machine from favouring either side. `npx tsx bench/analytics-cost.ts`
 * Env: BENCH_ANALYTICS_PAIRS (3), and cost.ts's BENCH_DELIVERIES / BENCH_WARMUP.
 */
import { spawn } from 'node:child_process';
import { envInt, round } from './support';

export interface AnalyticsCost {
  onUs: number;
  offUs: number;
  overheadPct: number;
  /** The median of the pairs' own overheads: less swayed by a machine whose speed drifts between pairs. */
  pairMedianPct: number;
  pairs: Array<{ on: number; off: number }>;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** One cost.ts run: the hub process's CPU µs per delivery. */
function costRun(analytics: 'on' | 'off'): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/cost.ts'], {
      env: {
        ...process.env,
        BENCH_BASELINE: '0',
        BENCH_ANALYTICS: analytics,
        BENCH_DELIVERIES: process.env['BENCH_DELIVERIES'] ?? '20000',
        BENCH_WARMUP: process.env['BENCH_WARMUP'] ?? '5000',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      const line = out.trim().split('\n').reverse().find((l) => l.startsWith('{"per_s"'));
      if (code !== 0 || line === undefined) return reject(new Error(`bench/cost.ts (analytics ${analytics}) exited ${code}:\n${out.slice(-2000)}`));
      const parsed = JSON.parse(line) as { cpu_us_per_delivery: { bench_process: number } };
      resolve(parsed.cpu_us_per_delivery.bench_process);
    });
  });
}

export async function runAnalyticsCost(log: (line: string) => void = console.log): Promise<AnalyticsCost> {
  const count = envInt('BENCH_ANALYTICS_PAIRS', 3);
  const pairs: Array<{ on: number; off: number }> = [];
  for (let i = 1; i <= count; i++) {
    // Which side goes first alternates too.
    const first = i % 2 === 1 ? 'on' : 'off';
    const a = await costRun(first);
    const b = await costRun(first === 'on' ? 'off' : 'on');
    const pair = first === 'on' ? { on: a, off: b } : { on: b, off: a };
    pairs.push(pair);
    log(`(e) pair ${i} of ${count}: hub process ${pair.on} µs CPU per delivery with analytics, ${pair.off} µs without (${round((pair.on / pair.off - 1) * 100, 1)} %)`);
  }
  const onUs = median(pairs.map((p) => p.on));
  const offUs = median(pairs.map((p) => p.off));
  const pairMedianPct = round(median(pairs.map((p) => (p.on / p.off - 1) * 100)), 1);
  return { onUs, offUs, overheadPct: round((onUs / offUs - 1) * 100, 1), pairMedianPct, pairs };
}

if (require.main === module) {
  runAnalyticsCost()
    .then((r) => console.log(JSON.stringify({ analytics_on_us: r.onUs, analytics_off_us: r.offUs, analytics_overhead_pct: r.overheadPct, analytics_pair_median_pct: r.pairMedianPct })))
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
