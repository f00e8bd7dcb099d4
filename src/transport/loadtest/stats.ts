import { build } from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';

/** Latency percentiles in milliseconds (microsecond resolution), measured from each request's intended send time. */
export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

/** Upper bounds (ms) of the buckets of the printed histogram; the last bucket holds everything slower. */
export const HISTOGRAM_BOUNDS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 30_000] as const;

export interface HistogramBucket {
  /** Latencies up to this many ms (null: slower than the last bound). */
  upToMs: number | null;
  count: number;
}

/** What one stage (or the whole run) recorded: latencies in an HDR histogram, answers by status and errors by code. */
export class StageStats {
  private readonly histogram: Histogram = build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
  private readonly buckets = new Array<number>(HISTOGRAM_BOUNDS_MS.length + 1).fill(0);
  readonly statuses: Record<string, number> = {};
  readonly errors: Record<string, number> = {};
  sent = 0;
  completed = 0;
  /** 2xx answers within the latency objective: what the endpoint really handled. */
  good = 0;

  record(latencyMs: number, status: number | null, errorCode: string | null, sloMs: number): void {
    this.completed += 1;
    this.histogram.recordValue(Math.max(1, Math.round(latencyMs * 1000)));
    const bucket = HISTOGRAM_BOUNDS_MS.findIndex((bound) => latencyMs <= bound);
    this.buckets[bucket === -1 ? HISTOGRAM_BOUNDS_MS.length : bucket]! += 1;
    if (status === null) {
      const code = errorCode ?? 'network_error';
      this.errors[code] = (this.errors[code] ?? 0) + 1;
      return;
    }
    this.statuses[String(status)] = (this.statuses[String(status)] ?? 0) + 1;
    if (status >= 200 && status < 300 && latencyMs <= sloMs) this.good += 1;
  }

  latency(): LatencySummary {
    // A percentile is the top of its HDR bucket, which may lie above the slowest value recorded: never report past it.
    const at = (percentile: number): number => toMs(Math.min(this.histogram.getValueAtPercentile(percentile), this.histogram.maxValue));
    if (this.completed === 0) return { p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 };
    return { p50: at(50), p90: at(90), p99: at(99), p999: at(99.9), max: toMs(this.histogram.maxValue), mean: toMs(this.histogram.mean) };
  }

  histogramBuckets(): HistogramBucket[] {
    return this.buckets.map((count, i) => ({ upToMs: HISTOGRAM_BOUNDS_MS[i] ?? null, count }));
  }

  /** Adds another stage's latencies and counts (for the whole run's totals). */
  add(other: StageStats): void {
    this.histogram.add(other.histogram);
    other.buckets.forEach((count, i) => (this.buckets[i]! += count));
    for (const [k, v] of Object.entries(other.statuses)) this.statuses[k] = (this.statuses[k] ?? 0) + v;
    for (const [k, v] of Object.entries(other.errors)) this.errors[k] = (this.errors[k] ?? 0) + v;
    this.sent += other.sent;
    this.completed += other.completed;
    this.good += other.good;
  }

  destroy(): void {
    this.histogram.destroy();
  }
}

function toMs(micros: number): number {
  return Math.round(micros) / 1000;
}
