import { DEFAULT_RETRY_CONFIG, retryDelayMs } from '../../src/transport/retry-policy';
import { RETRY_TIERS_S, tierFor } from '../../src/broker/amqp/topology';

describe('retry policy', () => {
  it('defaults to 8 retries growing 5 s × 5^n capped at 10 h: about a day in all', () => {
    const delays = Array.from({ length: DEFAULT_RETRY_CONFIG.maxRetries }, (_, i) => retryDelayMs(DEFAULT_RETRY_CONFIG, i + 1, null, () => 0.5));
    expect(delays).toEqual([5_000, 25_000, 125_000, 625_000, 3_125_000, 15_625_000, 36_000_000, 36_000_000]);
    const hours = delays.reduce((a, b) => a + b, 0) / 3_600_000;
    expect(hours).toBeGreaterThan(20);
    expect(hours).toBeLessThan(28);
  });

  it('applies ±20% jitter', () => {
    expect(retryDelayMs(DEFAULT_RETRY_CONFIG, 1, null, () => 0)).toBe(4_000);
    expect(retryDelayMs(DEFAULT_RETRY_CONFIG, 1, null, () => 1)).toBe(6_000);
  });

  it('honours Retry-After, capped by maxBackoffSeconds', () => {
    const config = { ...DEFAULT_RETRY_CONFIG, maxBackoffSeconds: 60 };
    expect(retryDelayMs(config, 3, 7_000)).toBe(7_000);
    expect(retryDelayMs(config, 1, 3_600_000)).toBe(60_000);
  });
});

describe('the retry ladder', () => {
  /** Walks a delay down the ladder as the broker does: hops of whole tiers, then delivery once due (200 ms margin). */
  function walk(delayMs: number): { firesAfterMs: number; hops: number } {
    let elapsed = 0;
    let hops = 0;
    while (delayMs - elapsed > 200) {
      elapsed += tierFor(delayMs - elapsed) * 1000;
      hops += 1;
    }
    return { firesAfterMs: elapsed, hops };
  }

  it.each([300, 1_000, 1_500, 4_200, 5_000, 25_000, 125_000, 625_000, 3_125_000, 15_625_000, 36_000_000, 172_800_000])(
    'fires a %i ms retry no earlier than planned and within max(1 s, 10%%)',
    (delay) => {
      const { firesAfterMs, hops } = walk(delay);
      expect(firesAfterMs).toBeGreaterThanOrEqual(delay - 200);
      expect(firesAfterMs - delay).toBeLessThanOrEqual(Math.max(1000, delay * 0.1));
      expect(hops).toBeLessThanOrEqual(RETRY_TIERS_S.length + 1);
    },
  );

  it('never picks a tier longer than what remains, except the 1 s floor', () => {
    expect(tierFor(999)).toBe(1);
    expect(tierFor(1000)).toBe(1);
    expect(tierFor(7_999)).toBe(4);
    expect(tierFor(10 ** 12)).toBe(RETRY_TIERS_S[RETRY_TIERS_S.length - 1]);
  });
});
