import type { LoadProgress, LoadTestResult, StageResult } from '../transport/loadtest/engine';

/** The one-line progress shown (on a terminal) while a load test runs. */
export function progressLine(p: LoadProgress): string {
  return `stage ${p.stage + 1} · ${p.rate}/s · ${p.elapsedSeconds}s · sent ${p.sent} · answered ${p.completed} · in flight ${p.inFlight}`;
}

/** The summary table, the latency histogram and the recommendation, as printed at the end. */
export function formatReport(result: LoadTestResult): string {
  const lines: string[] = [];
  lines.push(`Load test of ${result.url} (${result.eventType}), ${(result.durationMs / 1000).toFixed(1)} s after ${result.warmupSeconds} s of warm-up${result.aborted ? ', stopped early' : ''}`);
  lines.push('Latency is measured from each request\'s intended send time.', '');
  const header = ['rate/s', 'sent', 'answered', 'achieved/s', 'statuses', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'ok'];
  const rows = result.stages.map((s) => stageRow(s));
  if (result.stages.length > 1) rows.push(stageRow({ ...result.total, rate: 0, seconds: 0, healthy: result.stages.every((s) => s.healthy) }, 'all'));
  lines.push(...table([header, ...rows]), '');
  lines.push('Latency histogram (all stages)');
  const max = Math.max(1, ...result.histogram.map((b) => b.count));
  let lower = 0;
  for (const bucket of result.histogram) {
    if (bucket.count > 0) {
      const label = bucket.upToMs === null ? `> ${lower} ms` : `${lower}–${bucket.upToMs} ms`;
      lines.push(`${label.padStart(16)} │${'█'.repeat(Math.max(1, Math.round((bucket.count / max) * 40)))} ${bucket.count}`);
    }
    lower = bucket.upToMs ?? lower;
  }
  const r = result.recommendation;
  lines.push('', `Recommended rateLimit.requestsPerSecond: ${r.requestsPerSecond}`, `  ${r.reason}`);
  return `${lines.join('\n')}\n`;
}

function stageRow(s: StageResult, label?: string): string[] {
  const statuses = [...Object.entries(s.statuses), ...Object.entries(s.errors)].map(([k, v]) => `${k}×${v}`).join(' ') || '-';
  const l = s.latencyMs;
  return [label ?? String(s.rate), String(s.sent), String(s.completed), String(s.achievedRps), statuses, ...[l.p50, l.p90, l.p99, l.p999, l.max].map((v) => v.toFixed(1)), s.healthy ? 'yes' : 'no'];
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === 4 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd());
}
