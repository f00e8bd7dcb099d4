import { setTimeout as sleep } from 'node:timers/promises';
import { newId } from '../../core/ids';
import { CURRENT_EVENT_VERSION } from '../../events/envelope';
import { sampleData } from '../../events/samples';
import { USER_AGENT } from '../http-sender';
import { signPayload } from '../signing';
import { recommendRate } from './recommend';
import type { Recommendation } from './recommend';
import { StageStats } from './stats';
import type { HistogramBucket, LatencySummary } from './stats';

/** One step of a test: `rate` requests a second, sent on schedule for `seconds`. */
export interface LoadStage {
  rate: number;
  seconds: number;
}

/** Sends one request and says what came back; the hub's HttpSender.send fits (its SSRF guard applies). */
export type LoadSend = (url: string, headers: Record<string, string>, body: string) => Promise<{ status: number | null; errorCode: string | null }>;

export interface LoadTestOptions {
  url: string;
  /** Signing secrets (`whsec_…` or `whsk_…`), signed as deliveries are. */
  secrets: readonly string[];
  stages: readonly LoadStage[];
  send: LoadSend;
  /** Event type of the sample events (default business.created). */
  eventType?: string;
  /** A request slower than this (ms) counts as failed for the recommendation (default 1000). */
  sloP99Ms?: number;
  /** Seconds sent at the first stage's rate before measuring: connections opened, code warmed (default 0). */
  warmupSeconds?: number;
  /** Called about once a second while the test runs. */
  onProgress?: (progress: LoadProgress) => void;
  signal?: AbortSignal;
}

export interface LoadProgress {
  stage: number;
  rate: number;
  elapsedSeconds: number;
  sent: number;
  completed: number;
  inFlight: number;
}

export interface StageResult extends LoadStage {
  sent: number;
  completed: number;
  /** Answers (or errors) a second over the stage's wall time, last answer included. */
  achievedRps: number;
  statuses: Record<string, number>;
  errors: Record<string, number>;
  latencyMs: LatencySummary;
  /** At least 99 % of the requests answered 2xx within the objective, and p99 within it. */
  healthy: boolean;
}

export interface LoadTestResult {
  url: string;
  eventType: string;
  startedAt: string;
  /** Measured time, the warm-up left out. */
  durationMs: number;
  warmupSeconds: number;
  sloP99Ms: number;
  stages: StageResult[];
  total: Omit<StageResult, 'rate' | 'seconds' | 'healthy'>;
  histogram: HistogramBucket[];
  recommendation: Recommendation;
  /** The run was stopped before its schedule ended. */
  aborted: boolean;
}

const DEFAULT_SLO_MS = 1000;

/**
 * An open-model load test: requests leave at fixed intended times whatever the endpoint does
 * (a slow answer never delays the next request), and each latency is measured from the
 * request's intended send time, so a stall shows in the percentiles instead of hiding
 * (no coordinated omission). Stages run one after another: one stage is a constant-rate
 * test, several make a step test whose knee gives the recommended rate limit.
 */
export async function runLoadTest(options: LoadTestOptions): Promise<LoadTestResult> {
  const eventType = options.eventType ?? 'business.created';
  const sloP99Ms = options.sloP99Ms ?? DEFAULT_SLO_MS;
  const startedAt = new Date();
  let began = performance.now();
  const total = new StageStats();
  const stages: StageResult[] = [];
  try {
    const first = options.stages[0];
    if (first && options.warmupSeconds) {
      const warmup = new StageStats();
      const { onProgress: _quiet, ...quiet } = options;
      await runStage(quiet, -1, { rate: first.rate, seconds: options.warmupSeconds }, eventType, sloP99Ms, warmup);
      warmup.destroy();
      began = performance.now();
    }
    for (const [index, stage] of options.stages.entries()) {
      if (options.signal?.aborted) break;
      const stats = new StageStats();
      const wallMs = await runStage(options, index, stage, eventType, sloP99Ms, stats);
      stages.push(stageResult(stage, stats, wallMs, sloP99Ms));
      total.add(stats);
      stats.destroy();
    }
    const durationMs = Math.round(performance.now() - began);
    const { rate: _r, seconds: _s, healthy: _h, ...totals } = stageResult({ rate: 0, seconds: 0 }, total, durationMs, sloP99Ms);
    return {
      url: options.url,
      eventType,
      startedAt: startedAt.toISOString(),
      durationMs,
      warmupSeconds: options.warmupSeconds ?? 0,
      sloP99Ms,
      stages,
      total: totals,
      histogram: total.histogramBuckets(),
      recommendation: recommendRate(stages, sloP99Ms),
      aborted: options.signal?.aborted ?? false,
    };
  } finally {
    total.destroy();
  }
}

async function runStage(options: LoadTestOptions, index: number, stage: LoadStage, eventType: string, sloMs: number, stats: StageStats): Promise<number> {
  const count = Math.max(1, Math.round(stage.rate * stage.seconds));
  const intervalMs = 1000 / stage.rate;
  const start = performance.now();
  const inFlight = new Set<Promise<void>>();
  let nextProgress = start + 1000;
  const fire = (intendedAt: number): void => {
    stats.sent += 1;
    const request = signedRequest(options.secrets, eventType);
    const done = options
      .send(options.url, request.headers, request.body)
      .catch((err: unknown) => ({ status: null, errorCode: (err as { code?: string }).code ?? 'network_error' }))
      .then((answer) => stats.record(performance.now() - intendedAt, answer.status, answer.errorCode, sloMs))
      .finally(() => inFlight.delete(done));
    inFlight.add(done);
  };
  for (let i = 0; i < count && !options.signal?.aborted; ) {
    const now = performance.now();
    // Every request whose time has come leaves now, measured from when it should have left.
    for (; i < count && start + i * intervalMs <= now; i += 1) fire(start + i * intervalMs);
    if (now >= nextProgress) {
      nextProgress += 1000;
      options.onProgress?.({ stage: index, rate: stage.rate, elapsedSeconds: Math.round((now - start) / 1000), sent: stats.sent, completed: stats.completed, inFlight: inFlight.size });
    }
    if (i < count) await sleep(Math.max(0, Math.min(start + i * intervalMs, nextProgress) - performance.now()));
  }
  await Promise.all(inFlight);
  return performance.now() - start;
}

function signedRequest(secrets: readonly string[], type: string): { headers: Record<string, string>; body: string } {
  const id = newId('evt_loadtest');
  const body = JSON.stringify({ id, type, version: CURRENT_EVENT_VERSION, timestamp: new Date().toISOString(), data: sampleData(type), metadata: { test: true, loadtest: true } });
  const signature = signPayload(`msg_${id}`, Math.floor(Date.now() / 1000), body, secrets);
  return { headers: { 'content-type': 'application/json', 'user-agent': USER_AGENT, ...signature }, body };
}

function stageResult(stage: LoadStage, stats: StageStats, wallMs: number, sloMs: number): StageResult {
  const latencyMs = stats.latency();
  return {
    ...stage,
    sent: stats.sent,
    completed: stats.completed,
    achievedRps: wallMs > 0 ? Math.round((stats.completed / wallMs) * 100_000) / 100 : 0,
    statuses: { ...stats.statuses },
    errors: { ...stats.errors },
    latencyMs,
    healthy: stats.sent > 0 && stats.good / stats.sent >= 0.99 && latencyMs.p99 <= sloMs,
  };
}
