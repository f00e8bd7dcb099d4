/** The rate limit a load test recommends for the subscription, and why. */
export interface Recommendation {
  requestsPerSecond: number;
  /** The rate the recommendation is 80 % of. */
  basisRps: number;
  reason: string;
}

interface StageOutcome {
  rate: number;
  seconds: number;
  sent: number;
  healthy: boolean;
  statuses: Record<string, number>;
  latencyMs: { p99: number };
}

/** Headroom left below the highest rate the endpoint sustained. */
export const HEADROOM = 0.8;

/**
 * The rule: 80 % of the highest offered rate the endpoint sustained healthily (at least 99 % of the
 * requests answered 2xx within the latency objective, p99 within it) before the first stage it did not;
 * if it sustained none, 80 % of the 2xx answers a second it managed at the lowest rate tried.
 */
export function recommendRate(stages: readonly StageOutcome[], sloP99Ms: number): Recommendation {
  const firstUnhealthy = stages.findIndex((s) => !s.healthy);
  const sustained = (firstUnhealthy === -1 ? stages : stages.slice(0, firstUnhealthy)).map((s) => s.rate);
  const objective = `at least 99 % 2xx within ${sloP99Ms} ms and p99 under it`;
  if (sustained.length > 0) {
    const basisRps = Math.max(...sustained);
    const requestsPerSecond = Math.max(1, Math.floor(basisRps * HEADROOM));
    const reason =
      firstUnhealthy === -1
        ? `The endpoint kept up with every rate tried (${objective}); ${requestsPerSecond}/s is 80 % of ${basisRps}/s. Its limit is higher: a --ramp past ${basisRps}/s finds it.`
        : `The endpoint kept up with ${basisRps}/s (${objective}) but not with ${stages[firstUnhealthy]!.rate}/s; ${requestsPerSecond}/s is 80 % of ${basisRps}/s.`;
    return { requestsPerSecond, basisRps, reason };
  }
  const lowest = stages.reduce<StageOutcome | null>((low, s) => (low === null || s.rate < low.rate ? s : low), null);
  const ok = lowest ? Object.entries(lowest.statuses).reduce((n, [status, count]) => (status.startsWith('2') ? n + count : n), 0) : 0;
  const basisRps = lowest && lowest.seconds > 0 ? Math.round((ok / lowest.seconds) * 100) / 100 : 0;
  const requestsPerSecond = Math.max(1, Math.floor(basisRps * HEADROOM));
  return {
    requestsPerSecond,
    basisRps,
    reason: `The endpoint did not keep up even with ${lowest?.rate ?? 0}/s (${objective}); it answered ${basisRps} 2xx a second, and ${requestsPerSecond}/s is 80 % of that. Test lower rates to confirm.`,
  };
}
