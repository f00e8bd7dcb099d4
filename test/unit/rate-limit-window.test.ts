import path from 'node:path';

import { loadManifest } from '../../src/connectors/loader';
import { manifestValidator } from '../../src/connectors/schema';
import { budgetFromHeaders, RateLimiter } from '../../src/integrations/rate-limiter';

/**
 * rate_limit.headers.window: an API that gives its rolling window's length (HubSpot's
 * X-HubSpot-RateLimit-Interval-Milliseconds) rather than the time left until a reset.
 */
const NOW = Date.UTC(2026, 0, 1);
const HUBSPOT = { remaining: 'X-HubSpot-RateLimit-Remaining', window: 'X-HubSpot-RateLimit-Interval-Milliseconds', window_format: 'millis' as const };

describe('rate_limit.headers.window', () => {
  it("reads HubSpot's interval header as the window's length", () => {
    const answer = { 'x-hubspot-ratelimit-remaining': '0', 'x-hubspot-ratelimit-interval-milliseconds': '10000', 'x-hubspot-ratelimit-max': '110' };
    expect(budgetFromHeaders(answer, HUBSPOT, NOW)).toEqual({ remaining: 0, resetMs: 10_000 });
    expect(budgetFromHeaders({ 'x-hubspot-ratelimit-remaining': '3', 'x-hubspot-ratelimit-interval-milliseconds': 'n/a' }, HUBSPOT, NOW)).toEqual({ remaining: 3, resetMs: 1_000 });
  });

  it('a spent budget waits a whole window after the last request sent, as a rolling window counts it', () => {
    const limiter = new RateLimiter();
    expect(limiter.reserve('k', 100, 10, 60_000, NOW)).toBe(0);
    limiter.observeBudget('k', 0, 10_000, NOW + 200);
    const wait = limiter.reserve('k', 100, 10, 60_000, NOW + 300);
    expect(wait).not.toBeNull();
    expect(NOW + 300 + (wait ?? 0)).toBeGreaterThanOrEqual(NOW + 10_000);
  });

  it('the HubSpot manifest gives its window, and the schema takes reset or window, not both or neither', () => {
    const loaded = loadManifest(path.resolve(__dirname, '../../connectors/hubspot/connector.yaml'));
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
    expect(loaded.connector.manifest.rate_limit?.headers).toEqual(HUBSPOT);
    const validate = manifestValidator();
    const manifest = (headers: Record<string, string>): unknown => ({ ...loaded.connector.manifest, rate_limit: { requests: 100, per_seconds: 10, headers } });
    expect(validate(manifest(HUBSPOT))).toBe(true);
    expect(validate(manifest({ remaining: 'X-RateLimit-Remaining', reset: 'X-RateLimit-Reset' }))).toBe(true);
    expect(validate(manifest({ ...HUBSPOT, reset: 'X-RateLimit-Reset' }))).toBe(false);
    expect(validate(manifest({ remaining: 'X-RateLimit-Remaining' }))).toBe(false);
  });
});
