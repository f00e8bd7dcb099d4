import { ManualClock } from '../../src/core/clock';
import { backoffMs, retry } from '../../src/core/retry';

describe('retry: the one backoff loop', () => {
  it('doubles the pause from baseMs up to maxMs and returns the first success', async () => {
    const pauses: number[] = [];
    let calls = 0;
    const value = await retry(
      async () => {
        calls += 1;
        if (calls < 6) throw new Error(`fail ${calls}`);
        return 'stored';
      },
      { baseMs: 100, maxMs: 1000, sleep: async (ms) => void pauses.push(ms) },
    );
    expect(value).toBe('stored');
    expect(pauses).toEqual([100, 200, 400, 800, 1000]);
    expect(backoffMs(40, { baseMs: 100, maxMs: 5000 })).toBe(5000);
  });

  it('rethrows the last error after `tries` calls', async () => {
    let calls = 0;
    await expect(
      retry(async () => {
        calls += 1;
        throw new Error(`fail ${calls}`);
      }, { baseMs: 1, maxMs: 1, tries: 3, sleep: async () => undefined }),
    ).rejects.toThrow('fail 3');
    expect(calls).toBe(3);
  });

  it('stops once the deadline has passed on the injected clock', async () => {
    const clock = new ManualClock(0);
    let calls = 0;
    await expect(
      retry(async () => {
        calls += 1;
        throw new Error(`fail ${calls}`);
      }, { baseMs: 1000, maxMs: 1000, deadlineMs: 2500, clock, sleep: async (ms) => clock.advance(ms) }),
    ).rejects.toThrow('fail 4');
    expect(calls).toBe(4);
  });

  it('lets onRetry stop early, and tells it each failure and pause', async () => {
    const seen: Array<[string, number, number]> = [];
    await expect(
      retry(async () => {
        throw new Error('down');
      }, {
        baseMs: 10,
        maxMs: 100,
        sleep: async () => undefined,
        onRetry: (err, failures, pauseMs) => {
          seen.push([(err as Error).message, failures, pauseMs]);
          return failures < 2;
        },
      }),
    ).rejects.toThrow('down');
    expect(seen).toEqual([['down', 1, 10], ['down', 2, 20]]);
  });
});
