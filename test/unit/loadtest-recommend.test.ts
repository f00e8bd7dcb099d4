import { recommendRate } from '../../src/transport/loadtest/recommend';

const stage = (rate: number, healthy: boolean, ok = rate * 10) => ({ rate, seconds: 10, sent: rate * 10, healthy, statuses: { '200': ok }, latencyMs: { p99: 10 } });

describe('recommended rate limit', () => {
  it('is 80 % of the highest rate sustained before the first stage the endpoint could not keep up with', () => {
    const r = recommendRate([stage(50, true), stage(100, true), stage(150, false), stage(200, true)], 1000);
    expect(r).toMatchObject({ requestsPerSecond: 80, basisRps: 100 });
    expect(r.reason).toContain('not with 150/s');
  });

  it('says the limit is higher when every rate was sustained', () => {
    const r = recommendRate([stage(200, true)], 1000);
    expect(r).toMatchObject({ requestsPerSecond: 160, basisRps: 200 });
    expect(r.reason).toContain('--ramp past 200/s');
  });

  it('falls back to 80 % of the 2xx answers a second at the lowest rate when none was sustained', () => {
    expect(recommendRate([stage(100, false, 500), stage(200, false)], 1000)).toMatchObject({ requestsPerSecond: 40, basisRps: 50 });
  });
});
