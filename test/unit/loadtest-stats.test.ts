import { StageStats } from '../../src/transport/loadtest/stats';

describe('load test latency summary', () => {
  it('never reports a percentile above the slowest answer', () => {
    const stats = new StageStats();
    for (let i = 0; i < 500; i++) stats.record(20 + (i % 50), 200, null, 1000);
    stats.record(390.9, 200, null, 1000);
    const latency = stats.latency();
    expect(latency.max).toBeCloseTo(390.9, 1);
    expect(latency.p999).toBeLessThanOrEqual(latency.max);
    expect(latency.p99).toBeLessThanOrEqual(latency.p999);
    expect(latency.p50).toBeGreaterThanOrEqual(20);
  });
});
