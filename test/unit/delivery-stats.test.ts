import { bucketBounds, bucketOf, LAST_BUCKET, quantile, StatsAccumulator, summarize } from '../../src/pipeline/delivery-stats';
import { deliverySeries } from '../../src/pipeline/delivery-analytics';
import type { AttemptRecord } from '../../src/pipeline/model';
import { sentRequest } from '../../src/transport/sent-request';

const attempt = (overrides: Partial<AttemptRecord>): AttemptRecord => ({
  id: 'att_1', tenantId: 't', subscriptionId: 'sub_a', eventId: 'evt_1', eventType: 'business.created', webhookId: 'msg_1', attempt: 1,
  status: 'succeeded', next: 'none', nextAttemptAt: null, url: 'https://x', httpStatus: 200, durationMs: 40, responseHeaders: {}, responseBody: null,
  error: null, errorCode: null, replay: false, createdAt: new Date('2026-12-01T10:00:30Z'), acceptedAt: new Date('2026-12-01T10:00:29Z'), ...overrides,
});

describe('latency histograms', () => {
  it('puts every duration in the log-spaced bucket whose bounds hold it, a factor 2^(1/4) wide', () => {
    for (const ms of [0, 0.4, 1, 1.1, 2, 3, 47, 48, 1000, 29_999, 30_000, 86_400_000]) {
      const [lo, hi] = bucketBounds(bucketOf(ms));
      expect([ms, lo <= ms && ms < hi]).toEqual([ms, true]);
      if (ms >= 1) expect(hi / lo).toBeCloseTo(2 ** 0.25, 10);
    }
    expect(bucketOf(1e12)).toBe(LAST_BUCKET);
  });

  it('reads a quantile as the middle of the bucket holding it, within a factor 2^(1/8) of the true value', () => {
    const values = Array.from({ length: 1000 }, (_, i) => 1 + i * 3);
    const h: Record<number, number> = {};
    for (const v of values) h[bucketOf(v)] = (h[bucketOf(v)] ?? 0) + 1;
    for (const q of [0.5, 0.95, 0.99]) {
      const truth = values[Math.ceil(q * values.length) - 1] as number;
      expect(Math.abs(Math.log2((quantile(h, q) as number) / truth))).toBeLessThanOrEqual(0.125);
    }
    expect(quantile({}, 0.5)).toBeNull();
  });
});

describe('StatsAccumulator', () => {
  it('counts attempts per class and minute, adds the hour rows, and leaves test sends out', () => {
    const sums = new StatsAccumulator();
    sums.add(attempt({}));
    sums.add(attempt({ status: 'failed', next: 'retry', httpStatus: 503 }));
    sums.add(attempt({ status: 'failed', next: 'dead_letter', httpStatus: null, errorCode: 'ECONNREFUSED', durationMs: 1, attempt: 2 }));
    sums.add(attempt({ status: 'failed', next: 'dead_letter', httpStatus: null, errorCode: 'not_sent', durationMs: 0 }));
    sums.add(attempt({ createdAt: new Date('2026-12-01T10:01:10Z'), replay: true }));
    expect(sums.add(attempt({ test: true }))).toBeNull();
    const rows = sums.rows();
    expect(rows.map((r) => [r.resolution, r.start.toISOString(), r.counts.attempts])).toEqual([
      ['minute', '2026-12-01T10:00:00.000Z', 4],
      ['minute', '2026-12-01T10:01:00.000Z', 1],
      ['hour', '2026-12-01T10:00:00.000Z', 5],
    ]);
    const hour = rows[2]!;
    expect(summarize(hour)).toMatchObject({ attempts: 5, succeeded: 2, failed: { '5xx': 1, refused: 1, not_sent: 1, '4xx': 0 }, successRate: 0.4 });
    // Settled: the first success and the two dead letters (the retry has not settled; the replay is not counted).
    expect(hour.counts).toMatchObject({ settled: 3, settled_succeeded: 1, to_success_ms: 1000 });
    // Latency of what went out (not the unsent one); first attempts only, from acceptance to the attempt's start.
    expect(Object.values(hour.latency).reduce((a, b) => a + b, 0)).toBe(4);
    expect(Object.values(hour.firstAttempt).reduce((a, b) => a + b, 0)).toBe(2);
  });

  it('sums rows into every bucket of a series, empty ones included', () => {
    const sums = new StatsAccumulator();
    sums.add(attempt({}));
    sums.add(attempt({ createdAt: new Date('2026-12-01T10:02:05Z'), status: 'failed', httpStatus: 404, next: 'retry' }));
    const minutes = sums.rows().filter((r) => r.resolution === 'minute');
    const series = deliverySeries(minutes, new Date('2026-12-01T10:00:10Z'), new Date('2026-12-01T10:03:00Z'), 'minute');
    expect(series.buckets.map((b) => [b.start.slice(11, 16), b.attempts, b.failed['4xx'], b.successRate])).toEqual([
      ['10:00', 1, 0, 1],
      ['10:01', 0, 0, null],
      ['10:02', 1, 1, 0],
    ]);
    expect(series.totals).toMatchObject({ attempts: 2, succeeded: 1, successRate: 0.5 });
  });
});

describe('sentRequest', () => {
  it('keeps the body whole up to the limit, cuts it at a character boundary past it, and keeps none at 0', () => {
    expect(sentRequest('POST', 'u', {}, '{"a":1}', 16_384)).toEqual({ method: 'POST', url: 'u', headers: {}, body: '{"a":1}', bodyTruncated: false });
    const cut = sentRequest('POST', 'u', {}, `"${'é'.repeat(10)}"`, 8);
    expect(cut).toMatchObject({ body: '"ééé', bodyTruncated: true });
    expect(sentRequest('POST', 'u', {}, 'x'.repeat(9), 0)).toMatchObject({ body: null, bodyTruncated: true });
  });
});
