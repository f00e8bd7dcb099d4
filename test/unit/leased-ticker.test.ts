import { silentLogger } from '../../src/core/logger';
import type { Logger } from '../../src/core/logger';
import { LeasedTicker } from '../../src/core/leased-ticker';
import { createMemoryStore } from '../../src/store/memory/memory-store';

describe('LeasedTicker', () => {
  it('runs in one process at a time, and a stopped holder hands over at once', async () => {
    const store = createMemoryStore();
    const runs: string[] = [];
    const ticker = (name: string): LeasedTicker =>
      new LeasedTicker({ lease: 'work', ownerPrefix: name, everyMs: 60_000, leases: store, logger: silentLogger, failureMessage: 'failed', run: async () => void runs.push(name) });
    const [a, b] = [ticker('a'), ticker('b')];
    expect(await a.tick()).toBe(true);
    expect(await b.tick()).toBe(false);
    expect(await a.tick()).toBe(true);
    await a.stop();
    expect(await b.tick()).toBe(true);
    expect(runs).toEqual(['a', 'a', 'b']);
  });

  it('never overlaps its runs, and a failed run is logged and followed by the next', async () => {
    const store = createMemoryStore();
    const warnings: string[] = [];
    const logger = { ...silentLogger, warn: (_obj: unknown, message: string) => void warnings.push(message) } as unknown as Logger;
    let active = 0;
    let most = 0;
    let runs = 0;
    const ticker = new LeasedTicker({
      lease: 'slow',
      ownerPrefix: 't',
      everyMs: 5,
      leases: store,
      logger,
      failureMessage: 'the work failed; it runs again at the next interval',
      run: async () => {
        runs++;
        active++;
        most = Math.max(most, active);
        await new Promise((resolve) => setTimeout(resolve, 30));
        active--;
        if (runs === 1) throw new Error('boom');
      },
    });
    ticker.start();
    await new Promise((resolve) => setTimeout(resolve, 200));
    await ticker.stop();
    expect(most).toBe(1);
    expect(runs).toBeGreaterThanOrEqual(2);
    expect(warnings[0]).toBe('the work failed; it runs again at the next interval');
    expect(active).toBe(0);
  });
});
