import { loadConfig } from '../../src/config/config';
import { SingleFlightCache } from '../../src/core/single-flight-cache';
import { EndpointLimiter } from '../../src/pipeline/endpoint-limiter';

describe('memory bounds', () => {
  it('reads the cache, pool and heap bounds from the environment, with defaults, and refuses values out of range', () => {
    const defaults = loadConfig({}).memory;
    expect(defaults).toEqual({ cacheEntries: 10_000, httpAgents: 500, heapMb: 512 });
    expect(loadConfig({ HOOKHUB_CACHE_ENTRIES: '250', HOOKHUB_HTTP_AGENTS: '8', HOOKHUB_HEAP_MB: '256' }).memory).toEqual({ cacheEntries: 250, httpAgents: 8, heapMb: 256 });
    expect(() => loadConfig({ HOOKHUB_CACHE_ENTRIES: '10' })).toThrow(/HOOKHUB_CACHE_ENTRIES/);
    expect(() => loadConfig({ HOOKHUB_HTTP_AGENTS: '0' })).toThrow(/HOOKHUB_HTTP_AGENTS/);
    expect(() => loadConfig({ HOOKHUB_HEAP_MB: 'lots' })).toThrow(/HOOKHUB_HEAP_MB/);
  });

  it('keeps no more cache entries than its bound: past it the cache starts over and loads again', async () => {
    const cache = new SingleFlightCache<number>(60_000, undefined, 3);
    let loads = 0;
    const load = (value: number) => async (): Promise<number> => {
      loads += 1;
      return value;
    };
    for (let i = 0; i < 4; i++) await cache.get(`k${i}`, load(i));
    expect(loads).toBe(4);
    // Four entries passed the bound of three: the cache started over, so k0 is loaded again.
    expect(await cache.get('k0', load(0))).toBe(0);
    expect(loads).toBe(5);
    expect(await cache.get('k0', load(99))).toBe(0);
    expect(loads).toBe(5);
  });

  it('forgets idle endpoints once it knows more than its bound', async () => {
    const limiter = new EndpointLimiter(4, { maxEndpoints: 2 });
    for (const key of ['a', 'b', 'c']) await limiter.withSlot(key, async () => 'done');
    limiter.observe('c', 10, true);
    // 'a' and 'b' were idle when 'c' arrived past the bound: they were forgotten, 'c' is known.
    expect((limiter as unknown as { endpoints: Map<string, unknown> }).endpoints.size).toBeLessThanOrEqual(2);
  });
});
